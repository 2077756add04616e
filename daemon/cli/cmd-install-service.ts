/**
 * `edgeloom install-service`: put systemd/edgeloom.service in place with ExecStart pointing at
 * this installation (npm's global prefix differs between Debian's node, NodeSource and nvm),
 * create /etc/edgeloom/config.yaml (mode 0640, root's) from the Raspberry Pi example when there is
 * none, and seed the models directory that config names with the manifest and the bundled models
 * (daemon/models/seed.ts), so the first start finds them. An existing config is never overwritten.
 */
import { spawnSync } from 'node:child_process';
import {
  accessSync,
  chmodSync,
  chownSync,
  constants,
  existsSync,
  mkdirSync,
  readFileSync,
  realpathSync,
  writeFileSync,
} from 'node:fs';
import { delimiter, isAbsolute, join, resolve } from 'node:path';
import { loadConfig } from '../config/index.js';
import { EdgeloomError, ErrorCode } from '../errors.js';
import { seedModels } from '../models/seed.js';
import { packageRoot } from '../util/package-root.js';
import { bool, parse, str } from './args.js';
import type { Command } from './command.js';

const USAGE = `Usage: edgeloom install-service [options]

Writes <unit-dir>/edgeloom.service (ExecStart = this installation), when absent
<config-dir>/config.yaml from config/raspberry-pi.example.yaml (0640, root's), and the model
manifest and bundled models where that config's models.dir/models.manifest point (unless a
different manifest is already there). Run as root.

Options:
  --unit-dir DIR     where the unit goes (default /etc/systemd/system)
  --config-dir DIR   where config.yaml goes (default /etc/edgeloom)
  --root DIR         write everything under DIR (an image being built, a test); the unit and the
                     config still name the paths as they will be on the running system
  --exec CMD         the command ExecStart runs instead of the detected one, e.g. /usr/local/bin/edgeloom
  --enable           also run: systemctl daemon-reload && systemctl enable --now edgeloom
  --dry-run          print the unit instead of writing anything`;

const OPTIONS = {
  'unit-dir': { type: 'string' },
  'config-dir': { type: 'string' },
  root: { type: 'string' },
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

/**
 * Seed the models directory the config names. The config file alone decides (the unit sets no
 * EDGELOOM_MODELS_* variables). Relative paths are refused rather than guessed: the service runs
 * in / (no WorkingDirectory=), so they would mean /models, which nobody wants seeded.
 */
async function seedFor(configFile: string, at: (path: string) => string, root: string): Promise<void> {
  const { models } = loadConfig({ file: configFile, env: {} });
  if (!isAbsolute(models.dir) || !isAbsolute(models.manifest)) {
    process.stdout.write(
      `models not seeded: models.dir (${models.dir}) and models.manifest (${models.manifest}) must be absolute paths for the service, which runs in /; e.g. /var/cache/edgeloom/models and /var/cache/edgeloom/models/manifest.json in ${configFile}, then run install-service again\n`,
    );
    return;
  }
  const modelsDir = at(models.dir);
  const report = await seedModels({
    sourceDir: join(root, 'models'),
    modelsDir,
    manifestFile: at(models.manifest),
  });
  const say: Record<typeof report.action, string> = {
    seeded: `seeded ${modelsDir}: the model manifest and ${report.written} bundled model file(s)`,
    checked: `checked ${modelsDir}: ${report.written} bundled model file(s) restored`,
    kept: `kept ${at(models.manifest)} (it differs from this version's models/manifest.json; to take this version's, move it away and run install-service again)`,
    'in-place': `models: ${modelsDir} is this installation's own models/`,
  };
  process.stdout.write(`${say[report.action]}\n`);
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
    // Under --root, files are written below it; what they say stays as on the running system.
    const installRoot = str(p, 'root');
    const at = (path: string): string =>
      installRoot === undefined ? path : join(resolve(installRoot), path);
    const root = packageRoot();
    const unit = renderUnit(
      readFileSync(join(root, 'systemd/edgeloom.service'), 'utf8'),
      str(p, 'exec') ?? detectExec(),
      configFile,
    );
    if (installRoot !== undefined && bool(p, 'enable')) {
      throw new EdgeloomError(ErrorCode.E_SERVICE_ENABLE, '--enable acts on this system, not under --root', {
        where: '--root',
      });
    }
    if (bool(p, 'dry-run')) {
      process.stdout.write(unit);
      return 0;
    }
    mkdirSync(at(unitDir), { recursive: true });
    writeFileSync(at(join(unitDir, 'edgeloom.service')), unit);
    chmodSync(at(join(unitDir, 'edgeloom.service')), 0o644); // whatever the umask (root's may be 077)
    process.stdout.write(`wrote ${at(join(unitDir, 'edgeloom.service'))}\n`);
    if (existsSync(at(configFile))) {
      process.stdout.write(`kept ${at(configFile)} (already there)\n`);
    } else {
      if (!existsSync(at(configDir))) {
        mkdirSync(at(configDir), { recursive: true });
        chmodSync(at(configDir), 0o755);
      }
      // 0640 root:root: it may come to hold a broker password or a cloud key, so no other account
      // reads it. The DynamicUser= account does not need to: systemd passes it in (LoadCredential=).
      writeFileSync(at(configFile), readFileSync(join(root, 'config/raspberry-pi.example.yaml')), {
        mode: 0o640,
      });
      chmodSync(at(configFile), 0o640); // writeFileSync's mode is filtered by the umask
      if (process.getuid?.() === 0) chownSync(at(configFile), 0, 0);
      process.stdout.write(
        `wrote ${at(configFile)} from config/raspberry-pi.example.yaml: edit it (device, mqtt.url)\n`,
      );
    }
    await seedFor(at(configFile), at, root);
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
