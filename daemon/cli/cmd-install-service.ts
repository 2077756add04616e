/**
 * `edgeloom install-service`: put systemd/edgeloom.service in place with ExecStart pointing at
 * this installation (npm's global prefix differs between Debian's node, NodeSource and nvm), and
 * create /etc/edgeloom/config.yaml (mode 0640) from the Raspberry Pi example when there is none.
 * An existing config is never overwritten.
 */
import { spawnSync } from 'node:child_process';
import {
  accessSync,
  chmodSync,
  constants,
  existsSync,
  mkdirSync,
  readFileSync,
  realpathSync,
  writeFileSync,
} from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { EdgeloomError, ErrorCode } from '../errors.js';
import { packageRoot } from '../util/package-root.js';
import { bool, parse, str } from './args.js';
import type { Command } from './command.js';

const USAGE = `Usage: edgeloom install-service [options]

Writes <unit-dir>/edgeloom.service (ExecStart = this installation) and, when absent,
<config-dir>/config.yaml from config/raspberry-pi.example.yaml. Run as root.

Options:
  --unit-dir DIR     where the unit goes (default /etc/systemd/system)
  --config-dir DIR   where config.yaml goes (default /etc/edgeloom)
  --exec CMD         the command ExecStart runs instead of the detected one, e.g. /usr/local/bin/edgeloom
  --enable           also run: systemctl daemon-reload && systemctl enable --now edgeloom
  --dry-run          print the unit instead of writing anything`;

const OPTIONS = {
  'unit-dir': { type: 'string' },
  'config-dir': { type: 'string' },
  exec: { type: 'string' },
  enable: { type: 'boolean' },
  'dry-run': { type: 'boolean' },
} as const;

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * `edgeloom` on PATH when it is this installation (the npm bin link); otherwise this Node and
 * this main.js, which works for a checkout or an unlinked install too.
 */
export function detectExec(env: NodeJS.ProcessEnv = process.env): string {
  const main = realpathSync(join(packageRoot(), 'dist/daemon/cli/main.js'));
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, 'edgeloom');
    if (dir !== '' && isExecutable(candidate) && realpathSync(candidate) === main) return candidate;
  }
  return `${process.execPath} ${main}`;
}

/**
 * The packaged unit with ExecStart (this installation) and the config file handed over by
 * LoadCredential= rewritten for this machine. The service reads the credential's copy (`%d`), so
 * the file itself can stay readable by root only.
 */
export function renderUnit(unitText: string, exec: string, configFile: string): string {
  for (const key of ['ExecStart', 'LoadCredential']) {
    if (!new RegExp(`^${key}=`, 'm').test(unitText)) {
      throw new EdgeloomError(ErrorCode.E_SERVICE_UNIT, `systemd/edgeloom.service has no ${key}= line`, {
        where: 'systemd/edgeloom.service',
      });
    }
  }
  return unitText
    .replace(/^LoadCredential=config\.yaml:.*$/m, `LoadCredential=config.yaml:${configFile}`)
    .replace(/^ExecStart=.*$/m, `ExecStart=${exec} run --config %d/config.yaml`);
}

export const installServiceCommand: Command = {
  name: 'install-service',
  summary: 'install the systemd unit and /etc/edgeloom/config.yaml',
  usage: USAGE,
  async run(argv) {
    const p = parse('install-service', argv, OPTIONS, false);
    const unitDir = resolve(str(p, 'unit-dir') ?? '/etc/systemd/system');
    const configDir = resolve(str(p, 'config-dir') ?? '/etc/edgeloom');
    const configFile = join(configDir, 'config.yaml');
    const root = packageRoot();
    const unit = renderUnit(
      readFileSync(join(root, 'systemd/edgeloom.service'), 'utf8'),
      str(p, 'exec') ?? detectExec(),
      configFile,
    );
    if (bool(p, 'dry-run')) {
      process.stdout.write(unit);
      return 0;
    }
    mkdirSync(unitDir, { recursive: true });
    writeFileSync(join(unitDir, 'edgeloom.service'), unit, { mode: 0o644 });
    process.stdout.write(`wrote ${join(unitDir, 'edgeloom.service')}\n`);
    if (existsSync(configFile)) {
      process.stdout.write(`kept ${configFile} (already there)\n`);
    } else {
      mkdirSync(configDir, { recursive: true, mode: 0o755 });
      // 0640: it may come to hold a broker password or a cloud key, so no other account reads it.
      // The DynamicUser= account does not need to: systemd passes it in (LoadCredential=).
      writeFileSync(configFile, readFileSync(join(root, 'config/raspberry-pi.example.yaml')), {
        mode: 0o640,
      });
      chmodSync(configFile, 0o640); // writeFileSync's mode is filtered by the umask
      process.stdout.write(
        `wrote ${configFile} from config/raspberry-pi.example.yaml: edit it (device, mqtt.url)\n`,
      );
    }
    if (!bool(p, 'enable')) {
      process.stdout.write(
        'next: edgeloom doctor --config ' +
          `${configFile} && systemctl daemon-reload && systemctl enable --now edgeloom\n`,
      );
      return 0;
    }
    for (const args of [['daemon-reload'], ['enable', '--now', 'edgeloom']]) {
      const r = spawnSync('systemctl', args, { stdio: 'inherit' });
      if (r.status !== 0) {
        throw new EdgeloomError(
          ErrorCode.E_SERVICE_ENABLE,
          `systemctl ${args.join(' ')} failed (exit ${r.status})`,
          {
            where: 'systemctl',
          },
        );
      }
    }
    process.stdout.write('edgeloom is running: journalctl -u edgeloom -f\n');
    return 0;
  },
};
