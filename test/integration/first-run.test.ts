/**
 * The first run after `edgeloom install-service`: into a temporary root (`--root`), it writes the
 * unit, the config (0640) and seeds the models directory the config names with the manifest and
 * the bundled models, readable by any account whatever the umask. Then the daemon is started from
 * what it wrote, the way systemd would: ExecStart= as written, in /, with the unit's Environment=,
 * the config handed over as a LoadCredential= copy (%d) and StateDirectory= (%S) made, under a real
 * notify socket; it must reach READY=1 with the seeded models loaded.
 *
 * Rewritten into the temporary root, because they name the running system: models.dir and
 * models.manifest, the sensors' device paths (nothing is captured from this machine's camera,
 * microphone or serial ports) and the broker, a real Mosquitto on loopback (the example's LAN
 * address is never contacted). systemd itself (PID 1) does not run on this machine: its part, the
 * credential copy and the specifiers, is done here.
 */
import { spawn } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { installServiceCommand } from '../../daemon/cli/cmd-install-service.js';
import { loadConfig } from '../../daemon/config/index.js';
import { CliChild, parseLogLines } from '../helpers/cli-process.js';
import { Mosquitto, mosquittoAvailable } from '../helpers/mosquitto.js';
import { NotifyReceiver } from '../helpers/notify-socket.js';
import { needs, REPO_ROOT } from '../helpers/tools.js';
import { until } from '../helpers/wait.js';

const root = mkdtempSync(join(tmpdir(), 'edgeloom-first-run-'));
const UNIT = join(root, 'etc/systemd/system/edgeloom.service');
const CONFIG = join(root, 'etc/edgeloom/config.yaml');
const MODELS = join(root, 'var/cache/edgeloom/models');
const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'models/manifest.json'), 'utf8')) as {
  models: { id: string; bundled: boolean; files: { path: string }[] }[];
};
const bundledFiles = manifest.models.filter((m) => m.bundled).flatMap((m) => m.files.map((f) => f.path));

let receiver: NotifyReceiver | undefined;
let broker: Mosquitto | undefined;
let daemon: CliChild | undefined;
afterAll(async () => {
  daemon?.process.kill('SIGKILL');
  receiver?.close();
  await broker?.stop();
  rmSync(root, { recursive: true, force: true });
});

/** install-service with `args`, under root's umask of a hardened system (077). */
async function install(...args: string[]): Promise<{ code: number; out: string }> {
  let out = '';
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
    out += String(chunk);
    return true;
  });
  const umask = process.umask(0o077);
  try {
    return { code: await installServiceCommand.run(['--root', root, ...args]), out };
  } finally {
    process.umask(umask);
    spy.mockRestore();
  }
}

const mode = (path: string): number => statSync(path).mode & 0o777;

/** Every directory from `dir` down. */
function dirsUnder(dir: string): string[] {
  return [
    dir,
    ...readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .flatMap((e) => dirsUnder(join(dir, e.name))),
  ];
}

describe('edgeloom install-service, then the first start', () => {
  it('writes the unit and the config, and seeds the models the config names, readable by the service', async () => {
    const r = await install();
    expect(r.code).toBe(0);
    expect(r.out).toContain(
      `seeded ${MODELS}: the model manifest and ${bundledFiles.length} bundled model file(s)`,
    );

    expect(mode(UNIT)).toBe(0o644);
    // The unit names the paths of the running system, not the install root.
    expect(readFileSync(UNIT, 'utf8')).toMatch(
      /^LoadCredential=config\.yaml:\/etc\/edgeloom\/config\.yaml$/m,
    );
    // The config decides where the models are: the unit does not override models.dir.
    expect(readFileSync(UNIT, 'utf8')).not.toMatch(/EDGELOOM_MODELS/);

    // Root only: systemd reads it for the service (LoadCredential=).
    expect(mode(CONFIG)).toBe(0o640);
    if (process.getuid?.() === 0) expect(statSync(CONFIG)).toMatchObject({ uid: 0, gid: 0 });
    const config = loadConfig({ file: CONFIG, env: {} });
    expect(config.models.dir).toBe('/var/cache/edgeloom/models');
    expect(config.models.manifest).toBe('/var/cache/edgeloom/models/manifest.json');

    expect(readFileSync(join(MODELS, 'manifest.json'))).toEqual(
      readFileSync(join(REPO_ROOT, 'models/manifest.json')),
    );
    for (const f of bundledFiles) {
      expect(readFileSync(join(MODELS, f)), f).toEqual(readFileSync(join(REPO_ROOT, 'models', f)));
      expect(mode(join(MODELS, f)), f).toBe(0o644); // despite the 077 umask
    }
    expect(mode(join(MODELS, 'manifest.json'))).toBe(0o644);
    expect(existsSync(join(MODELS, 'vad/LICENSE'))).toBe(true);
    for (const d of dirsUnder(join(root, 'var/cache/edgeloom'))) expect(mode(d), d).toBe(0o755);
    // Models that are downloaded on demand are left to `models fetch`.
    expect(existsSync(join(MODELS, 'whisper-tiny'))).toBe(false);
  });

  it('restores a damaged bundled file on a second run, and keeps a manifest that is not this version’s', async () => {
    const vad = join(MODELS, 'vad/silero_vad_v5.onnx');
    const bytes = readFileSync(vad);
    bytes[bytes.length - 1] = (bytes.at(-1) ?? 0) ^ 0xff;
    writeFileSync(vad, bytes);
    const again = await install();
    expect(again.out).toContain(`kept ${CONFIG}`);
    expect(again.out).toContain(`checked ${MODELS}: 1 bundled model file(s) restored`);
    expect(readFileSync(vad)).toEqual(readFileSync(join(REPO_ROOT, 'models/vad/silero_vad_v5.onnx')));

    const theirs = join(root, 'theirs');
    mkdirSync(theirs);
    const own = `${JSON.stringify({ ...manifest, models: manifest.models.slice(0, 1) }, null, 2)}\n`;
    writeFileSync(join(theirs, 'manifest.json'), own);
    writeFileSync(
      join(theirs, 'config.yaml'),
      `models:\n  dir: /theirs\n  manifest: /theirs/manifest.json\n`,
    );
    const kept = await install('--config-dir', '/theirs', '--unit-dir', '/theirs-units');
    expect(kept.out).toContain(`kept ${join(theirs, 'manifest.json')}`);
    expect(readFileSync(join(theirs, 'manifest.json'), 'utf8')).toBe(own);
    expect(existsSync(join(theirs, 'vad'))).toBe(false);
  });

  it.runIf(mosquittoAvailable() && needs({ tools: ['systemd-notify', 'python3'] }))(
    'the daemon started from the written unit reaches READY=1 with the seeded models',
    async () => {
      const unit = readFileSync(UNIT, 'utf8');
      const value = (key: string): string[] =>
        unit
          .split('\n')
          .filter((l) => l.startsWith(`${key}=`))
          .map((l) => l.slice(key.length + 1));

      // systemd's part: the credential (a copy only the service reads), StateDirectory=, specifiers.
      const [credential] = value('LoadCredential');
      const [credName, credSource] = (credential ?? '').split(/:(.*)/s);
      const credDir = join(root, 'run/credentials/edgeloom.service');
      mkdirSync(credDir, { recursive: true, mode: 0o700 });
      copyFileSync(join(root, credSource ?? ''), join(credDir, credName ?? ''));
      const stateDir = join(root, 'var/lib');
      mkdirSync(join(stateDir, 'edgeloom'), { recursive: true, mode: 0o700 });
      const specifiers = (s: string): string =>
        s.replaceAll('%d', credDir).replaceAll('%S', stateDir).replaceAll('%C', join(root, 'var/cache'));

      const env: Record<string, string> = {};
      for (const line of value('Environment')) {
        const [k, v] = line.split(/=(.*)/s);
        env[k ?? ''] = specifiers(v ?? '');
      }
      receiver = await NotifyReceiver.start(join(root, 'notify.sock'));
      broker = await Mosquitto.start();
      const config = loadConfig({ file: CONFIG, env: {} });
      Object.assign(env, {
        NOTIFY_SOCKET: join(root, 'notify.sock'),
        // Rewritten into the temporary root (see the top of this file).
        EDGELOOM_MODELS_DIR: join(root, config.models.dir),
        EDGELOOM_MODELS_MANIFEST: join(root, config.models.manifest),
        EDGELOOM_SENSORS_CAMERA_DEVICE: join(root, config.sensors.camera.device),
        EDGELOOM_SENSORS_IMU_PATH: join(root, config.sensors.imu.path),
        EDGELOOM_SENSORS_MIC_ENABLED: 'false', // an ALSA card name cannot be moved into a directory
        EDGELOOM_MQTT_URL: broker.url,
        EDGELOOM_HTTP_PORT: '0',
      });
      const [exec] = value('ExecStart');
      const argv = specifiers(exec ?? '').split(' ');
      expect(argv.slice(-3)).toEqual(['run', '--config', join(credDir, 'config.yaml')]);
      const inherited = Object.fromEntries(
        Object.entries(process.env).filter(([k]) => !k.startsWith('EDGELOOM_') && k !== 'NODE_OPTIONS'),
      );
      daemon = new CliChild(
        spawn(argv[0] ?? '', argv.slice(1), {
          cwd: '/', // no WorkingDirectory=
          env: { ...inherited, ...env },
          stdio: ['ignore', 'pipe', 'pipe'],
        }),
        110_000,
      );
      const d = daemon;
      const r = receiver;
      await until('READY=1', () => {
        if (d.process.exitCode !== null) {
          throw new Error(`the daemon exited ${d.process.exitCode}\n${d.stdout.slice(-3000)}\n${d.stderr}`);
        }
        return r.messages().some((m) => m.msg.startsWith('READY=1'));
      });
      const loaded = parseLogLines(d.stdout)
        .filter((l) => l.msg === 'model loaded')
        .map((l) => l.model);
      expect(loaded).toEqual(
        expect.arrayContaining(['silero-vad-v5', 'faceapi-tiny-face-detector+faceapi-expression']),
      );
      d.process.kill('SIGTERM');
      const exit = await d.exited;
      expect(exit.code).toBe(0);
      expect(r.fields()).toContain('STOPPING=1');
    },
  );
});
