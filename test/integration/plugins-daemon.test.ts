/**
 * Plugins in the real daemon, replaying the demo fixture at speed 0: a plugin has said hello
 * before the sources start, so it sees the recording from its first IMU window, the same in every
 * run; a plugin that crashes is restarted with backoff while the replay runs to its end; stop ends
 * every plugin process. Real processes under bubblewrap. And through the compiled CLI: two
 * `replay --emit-bus` runs with a plugin print the same bytes, each plugin publish stamped with the
 * fixture time of the event that caused it (the replay waits for the plugin's `synced`).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { loadConfig } from '../../daemon/config/index.js';
import { buildDaemon } from '../../daemon/daemon.js';
import { silentLogger } from '../../daemon/log.js';
import { runCli } from '../helpers/cli-process.js';
import { BWRAP_OK } from '../helpers/plugin-host.js';
import { REPO_ROOT } from '../helpers/tools.js';
import { until } from '../helpers/wait.js';

async function run(): Promise<{ published: number[]; seen: number[]; crashRestarts: number }> {
  const config = loadConfig({
    env: {},
    hostname: 'plugins-test',
    overrides: {
      storage: { dir: mkdtempSync(join(tmpdir(), 'edgeloom-pd-')) },
      // The plugins are the subject: no models needed.
      pipeline: { vad: { enabled: false }, face: { enabled: false }, stt: { enabled: false } },
      plugins: [
        {
          id: 'probe',
          command: ['python3', 'test/helpers/plugins/probe.py'],
          config: { subscribe: ['sensor/imu/+/window'] },
          // A speed-0 replay publishes as fast as it reads: room for the whole recording.
          queue_capacity: 4096,
          max_publish_per_s: 100_000,
        },
        {
          id: 'crash',
          command: ['python3', 'test/helpers/plugins/crash.py'],
          restart: { initial_ms: 20, max_ms: 200 },
        },
      ],
    } as never,
  });
  const daemon = await buildDaemon({
    config,
    logger: silentLogger(),
    baseDir: REPO_ROOT,
    replay: { fixtureDir: join(REPO_ROOT, 'fixtures', 'demo'), speed: 0, loop: false },
    ephemeralStorage: true,
  });
  const published: number[] = [];
  const seen: number[] = [];
  daemon.bus.subscribe('sensor/imu/+/window', (e) => void published.push(e.tsMs), {
    component: 'test',
    queueCapacity: 8192,
  });
  daemon.bus.subscribe('plugin/probe/seen', (e) => void seen.push((e.payload as { ts?: number }).ts ?? -1), {
    component: 'test',
    queueCapacity: 8192,
  });
  await daemon.start();
  const crash = daemon.plugins[1];
  try {
    await daemon.replay!.done;
    expect(published.length).toBeGreaterThan(10);
    await until('the probe reported every IMU window', () => seen.length >= published.length);
    await until('the crashing plugin restarted', () => crash!.stats().restarts >= 2);
    expect(daemon.controller.health()['plugin.probe']?.status).toBe('ok');
    return { published, seen, crashRestarts: crash!.stats().restarts };
  } finally {
    await daemon.stop();
    expect(daemon.plugins.map((p) => p.stats().running)).toEqual([false, false]);
  }
}

describe.skipIf(!BWRAP_OK)('plugins in the daemon', () => {
  it('see a replay from its first event, the same in every run, while a crashing one restarts', async () => {
    const a = await run();
    expect(a.seen).toEqual(a.published);
    expect(a.crashRestarts).toBeGreaterThanOrEqual(2);
    const b = await run();
    expect(b.seen).toEqual(a.seen);
  });
});

describe.skipIf(!BWRAP_OK)('a replay with a plugin (edgeloom replay)', () => {
  it('prints the same bytes twice, each plugin publish at the time of the event that caused it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgeloom-pr-'));
    const config = join(dir, 'config.yaml');
    writeFileSync(
      config,
      stringify({
        device: { id: 'plugin-replay' },
        storage: { dir: join(dir, 'state') },
        // Speech segments come from the VAD model: the plugin's input is itself computed.
        pipeline: { face: { enabled: false }, stt: { enabled: false } },
        http: { enabled: false },
        plugins: [
          {
            id: 'probe',
            command: ['python3', join(REPO_ROOT, 'test/helpers/plugins/probe.py')],
            config: { subscribe: ['sensor/imu/+/window', 'inference/vad/+'] },
            queue_capacity: 4096,
            max_publish_per_s: 100_000,
          },
        ],
      }),
    );
    const once = async (): Promise<string> => {
      const r = await runCli([
        'replay',
        join(REPO_ROOT, 'fixtures', 'demo'),
        '--config',
        config,
        '--emit-bus',
        'plugin/#',
      ]);
      expect(r.code, r.stderr.slice(-2000)).toBe(0);
      return r.stdout;
    };
    const a = await once();
    const lines = a
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { t_ms: number; payload: { topic: string; ts: number } });
    expect(lines.filter((l) => l.payload.topic.startsWith('inference/vad/')).length).toBeGreaterThan(0);
    expect(lines.filter((l) => l.payload.topic.startsWith('sensor/imu/')).length).toBeGreaterThan(10);
    // Each publish carries the time of the IMU window that caused it: one offset (the fixture's
    // origin) between the window's time and the publish's, for all 200 windows.
    const imu = lines.filter((l) => l.payload.topic.startsWith('sensor/imu/'));
    expect(new Set(imu.map((l) => l.payload.ts - l.t_ms)).size).toBe(1);
    expect(await once()).toBe(a);
  }, 120_000);
});
