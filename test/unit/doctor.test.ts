import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Aedes } from 'aedes';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { doctorCommand } from '../../daemon/cli/cmd-doctor.js';
import { PRODUCERS } from '../../daemon/cli/doctor/devices.js';
import {
  type CheckResult,
  checkNode,
  exitCodeOf,
  formatResults,
  runDoctor,
} from '../../daemon/cli/doctor/doctor.js';
import { systemProbe } from '../../daemon/cli/doctor/probe.js';
import { type ConfigOverrides, loadConfig } from '../../daemon/config/index.js';
import { hasTool, REPO_ROOT } from '../helpers/tools.js';

let dir: string;
let devDir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'edgeloom-doctor-'));
  devDir = join(dir, 'dev');
  mkdirSync(devDir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Live mode with every sensor off and every model stage off, then `overrides` on top. */
function config(overrides: ConfigOverrides = {}): ReturnType<typeof loadConfig> {
  const base: ConfigOverrides = {
    source: { mode: 'live' },
    sensors: { camera: { enabled: false }, mic: { enabled: false }, imu: { enabled: false } },
    pipeline: { vad: { enabled: false }, face: { enabled: false }, stt: { enabled: false } },
    storage: { dir },
    models: { dir: join(REPO_ROOT, 'models'), manifest: join(REPO_ROOT, 'models/manifest.json') },
  };
  const merge = (a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> => {
    const out = { ...a };
    for (const [k, v] of Object.entries(b)) {
      const prev = out[k];
      out[k] =
        typeof v === 'object' && v !== null && !Array.isArray(v) && typeof prev === 'object' && prev !== null
          ? merge(prev as Record<string, unknown>, v as Record<string, unknown>)
          : v;
    }
    return out;
  };
  return loadConfig({ env: {}, overrides: merge(base, overrides) as ConfigOverrides });
}

/** `path`: the PATH the probe searches for programs (default this process's). */
const run = (overrides: ConfigOverrides = {}, path?: string): Promise<CheckResult[]> =>
  runDoctor(config(overrides), {
    probe: systemProbe({ devDir, ...(path === undefined ? {} : { path }) }),
    listSerialPorts: async () => [],
    brokerTimeoutMs: 500,
  });

const line = (results: CheckResult[], check: string): CheckResult => {
  const r = results.find((x) => x.check === check);
  if (r === undefined) throw new Error(`no ${check} line in\n${formatResults(results)}`);
  return r;
};

describe('edgeloom doctor checks', () => {
  it('fails on a configured serial port that does not exist, naming it, and exits 1', async () => {
    const results = await run({ sensors: { imu: { enabled: true, path: '/dev/ttyEDGELOOM-missing' } } });
    const serial = line(results, 'serial');
    expect(serial.level).toBe('fail');
    expect(serial.detail).toContain('/dev/ttyEDGELOOM-missing (sensors.imu.path) does not exist');
    expect(formatResults(results)).toMatch(/^fail {2}serial +\/dev\/ttyEDGELOOM-missing .* → /m);
    expect(exitCodeOf(results)).toBe(1);
  });

  it('is ok with the serial port present, and only warns when no sensor needs one', async () => {
    writeFileSync(join(devDir, 'ttyUSB7'), '');
    const present = await run({ sensors: { imu: { enabled: true, path: join(devDir, 'ttyUSB7') } } });
    expect(line(present, 'serial')).toMatchObject({ level: 'ok', detail: join(devDir, 'ttyUSB7') });
    rmSync(join(devDir, 'ttyUSB7'));
    const unused = await run();
    expect(line(unused, 'serial').level).toBe('warn');
    expect(line(unused, 'camera').level).toBe('warn');
  });

  it('reports each producer program exactly as `command -v` finds it', async () => {
    const results = await run({ sensors: { mic: { enabled: true, recorder: 'sox' } } });
    for (const name of PRODUCERS) {
      const r = line(results, `program ${name}`);
      const needed = name === 'sox';
      expect(r.level).toBe(hasTool(name) ? 'ok' : needed ? 'fail' : 'warn');
    }
  });

  it('fails a custom camera command that is not installed', async () => {
    const results = await run({
      sensors: {
        camera: { enabled: true, preset: 'custom', command: ['edgeloom-no-such-grabber', '-o', '-'] },
      },
    });
    expect(line(results, 'program edgeloom-no-such-grabber')).toMatchObject({ level: 'fail' });
  });

  it("fails the speech output's programs when they are missing, in replay mode too, and only when it is on", async () => {
    const tts = { command: ['edgeloom-no-such-tts', '--stdout'], player: ['edgeloom-no-such-player', '-q'] };
    const on = await run({ source: { mode: 'replay' }, agents: { voice: { tts } } });
    for (const program of ['edgeloom-no-such-tts', 'edgeloom-no-such-player'])
      expect(line(on, `program ${program}`)).toMatchObject({
        level: 'fail',
        detail: expect.stringContaining('the configuration runs it'),
      });
    const off = await run({ agents: { voice: { tts: { ...tts, enabled: false } } } });
    expect(off.some((r) => r.check.includes('edgeloom-no-such'))).toBe(false);
    // A program edgeloom knows is named with the package that installs it (on an empty PATH).
    const bare = await run(
      { agents: { voice: { tts: { command: ['espeak-ng'], player: ['aplay'] } } } },
      devDir,
    );
    expect(line(bare, 'program espeak-ng')).toMatchObject({
      level: 'fail',
      fix: 'sudo apt install espeak-ng',
    });
    expect(line(bare, 'program aplay')).toMatchObject({ level: 'fail', fix: 'sudo apt install alsa-utils' });
  });

  it('fails a model whose file does not match its sha256, naming the file', async () => {
    const models = join(dir, 'models');
    cpSync(join(REPO_ROOT, 'models'), models, { recursive: true });
    const manifest = JSON.parse(readFileSync(join(models, 'manifest.json'), 'utf8')) as {
      models: { id: string; files: { path: string }[] }[];
    };
    const vad = manifest.models.find((m) => m.id === 'silero-vad-v5');
    const file = join(models, vad?.files[0]?.path ?? 'missing');
    const bytes = readFileSync(file);
    bytes.writeUInt8(bytes.readUInt8(bytes.length - 1) ^ 0xff, bytes.length - 1); // same size: only the hash can tell
    writeFileSync(file, bytes);
    const cfg = {
      models: { dir: models, manifest: join(models, 'manifest.json') },
      pipeline: { vad: { enabled: true } },
    };
    const r = line(await run(cfg), 'model silero-vad-v5');
    expect(r.level).toBe('fail');
    expect(r.detail).toContain(file);
    const good = line(await run({ pipeline: { vad: { enabled: true } } }), 'model silero-vad-v5');
    expect(good.level).toBe('ok');
  });

  it('names a missing model manifest and the command that puts it there', async () => {
    const missing = join(dir, 'nowhere', 'models', 'manifest.json');
    const results = await run({
      models: { dir: join(dir, 'nowhere', 'models'), manifest: missing },
      pipeline: { vad: { enabled: true } },
    });
    const r = line(results, 'models');
    expect(r.level).toBe('fail');
    expect(r.detail).toBe(`no model manifest at ${missing} (models.manifest)`);
    expect(r.fix).toContain(`sudo edgeloom install-service (seeds ${join(dir, 'nowhere', 'models')}`);
    expect(r.fix).toContain(join(REPO_ROOT, 'models'));
    expect(exitCodeOf(results)).toBe(1);
  });

  it('accepts Node 22.12 and later, and names the way out on an older Node', () => {
    for (const v of ['22.12.0', '22.23.5', '24.22.3', '26.1.0']) expect(checkNode(v).level).toBe('ok');
    for (const v of ['20.20.2', '22.11.0', '18.19.0']) {
      const r = checkNode(v);
      expect(r.level).toBe('fail');
      expect(r.fix).toContain('.deb');
    }
  });

  describe('broker', () => {
    let silent: Server;
    let mqtt: Server;
    let broker: Aedes;
    const sockets = new Set<Socket>();
    const port = (s: Server): number => (s.address() as { port: number }).port;
    beforeAll(async () => {
      silent = createServer((socket) => {
        sockets.add(socket);
        socket.on('error', () => {});
      });
      broker = await Aedes.createBroker();
      mqtt = createServer((socket) => {
        sockets.add(socket);
        broker.handle(socket);
      });
      await Promise.all([silent, mqtt].map((s) => new Promise<void>((r) => s.listen(0, '127.0.0.1', r))));
    });
    afterAll(async () => {
      for (const s of sockets) s.destroy();
      await Promise.all([silent, mqtt].map((s) => new Promise<void>((r) => s.close(() => r()))));
      await new Promise<void>((r) => broker.close(() => r()));
    });

    it('is ok when a real broker answers CONNECT with CONNACK', async () => {
      const r = line(await run({ mqtt: { url: `mqtt://127.0.0.1:${port(mqtt)}` } }), 'broker');
      expect(r).toMatchObject({ level: 'ok', detail: `127.0.0.1:${port(mqtt)} answers MQTT (CONNACK)` });
    });

    it('fails a port that accepts TCP but is no broker, and a closed port', async () => {
      const open = line(await run({ mqtt: { url: `mqtt://127.0.0.1:${port(silent)}` } }), 'broker');
      expect(open.level).toBe('fail');
      expect(open.detail).toContain('did not answer an MQTT CONNECT');
      const closedPort = await new Promise<number>((resolve) => {
        const s = createServer().listen(0, '127.0.0.1', () => {
          const p = port(s);
          s.close(() => resolve(p));
        });
      });
      const closed = line(await run({ mqtt: { url: `mqtt://127.0.0.1:${closedPort}` } }), 'broker');
      expect(closed.level).toBe('fail');
      expect(closed.detail).toContain('did not accept a TCP connection');
    });

    it('is ok for the embedded broker', async () => {
      expect(line(await run({ mqtt: { url: '' } }), 'broker').level).toBe('ok');
    });
  });
});

describe('edgeloom doctor command', () => {
  it('--json lists every check and the exit code follows the fails', async () => {
    const file = join(dir, 'config.yaml');
    writeFileSync(
      file,
      [
        'source: { mode: live }',
        'sensors:',
        '  camera: { enabled: false }',
        '  mic: { enabled: false }',
        '  imu: { enabled: true, path: /dev/ttyEDGELOOM-absent }',
        'pipeline: { vad: { enabled: false }, face: { enabled: false }, stt: { enabled: false } }',
        `storage: { dir: ${dir} }`,
        "mqtt: { url: '' }",
      ].join('\n'),
    );
    let out = '';
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      out += String(chunk);
      return true;
    });
    let code: number;
    try {
      code = await doctorCommand.run(['--config', file, '--json']);
    } finally {
      spy.mockRestore();
    }
    const parsed = JSON.parse(out) as { results: CheckResult[]; counts: Record<string, number> };
    expect(code).toBe(1);
    expect(parsed.results.map((r) => r.check)).toEqual(
      expect.arrayContaining([
        'node',
        'board',
        'camera',
        'microphone',
        'serial',
        'broker',
        'memory',
        'disk',
        'systemd',
      ]),
    );
    expect(parsed.results.find((r) => r.check === 'serial')?.level).toBe('fail');
    expect(parsed.counts.fail).toBe(parsed.results.filter((r) => r.level === 'fail').length);
  });
});
