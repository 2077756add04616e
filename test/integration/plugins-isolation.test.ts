/**
 * Plugin capabilities and isolation through real processes: bubblewrap's empty network namespace
 * against a loopback listener, its read-only file system, no frame or audio bytes for a plugin
 * without raw_media, a crashing plugin restarted with a growing backoff while the bus serves on, and
 * a flooding plugin (both directions) bounded by its budget and its subscription's queue.
 */
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../daemon/config/index.js';
import { BWRAP_OK, type Harness, harness } from '../helpers/plugin-host.js';
import { until } from '../helpers/wait.js';

let h: Harness | undefined;
let server: Server | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
  server?.close();
  server = undefined;
});

const PROBE = ['python3', 'test/helpers/plugins/probe.py'];

async function listener(): Promise<{ port: number; connections: () => number }> {
  let n = 0;
  const s = createServer((sock) => {
    n++;
    sock.resume();
  });
  server = s;
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const addr = s.address();
  if (addr === null || typeof addr === 'string') throw new Error('no port');
  return { port: addr.port, connections: () => n };
}

describe.skipIf(!BWRAP_OK)('plugin sandbox', () => {
  it('a sandboxed plugin cannot reach a loopback listener; an unsandboxed one can', async () => {
    const l = await listener();
    h = harness();
    await h.add({ id: 'caged', command: PROBE, config: { subscribe: [] }, sandbox: { network: false } });
    await h.add({
      id: 'free',
      command: PROBE,
      config: { subscribe: [] },
      sandbox: { network: true, fs: 'host' },
    });
    const free = await h.tools.execute('free.connect', { port: l.port });
    expect(free).toMatchObject({ ok: true, result: { connected: true } });
    await until('the unsandboxed connection', () => l.connections() === 1);
    const caged = await h.tools.execute('caged.connect', { port: l.port });
    expect(caged).toMatchObject({ ok: false, error: { code: 'E_PLUGIN_TOOL_FAILED' } });
    expect(caged.error?.message).toMatch(/refused|unreachable|Errno/i);
    expect(l.connections()).toBe(1);
  });

  it('a sandboxed plugin writes only its own state dir', async () => {
    h = harness();
    await h.add({ id: 'caged', command: PROBE, config: { subscribe: [] } });
    const own = await h.tools.execute('caged.write', { path: '$STATE/ok.txt' });
    expect(own).toMatchObject({ ok: true });
    const outside = join(tmpdir(), `edgeloom-escape-${process.pid}.txt`);
    const escaped = await h.tools.execute('caged.write', { path: outside });
    expect(escaped).toMatchObject({ ok: false, error: { code: 'E_PLUGIN_TOOL_FAILED' } });
    expect(escaped.error?.message).toMatch(/Read-only file system/);
    expect(existsSync(outside)).toBe(false);
  });

  it('prlimit bounds its memory: an allocation past sandbox.memory_mb fails, the plugin lives on', async () => {
    h = harness();
    await h.add({ id: 'small', command: PROBE, config: { subscribe: [] }, sandbox: { memory_mb: 128 } });
    await h.add({ id: 'big', command: PROBE, config: { subscribe: [] } });
    // The same allocation without a limit succeeds: the limit, not the machine, refuses it.
    expect(await h.tools.execute('big.alloc', { mb: 256 })).toMatchObject({ ok: true });
    const r = await h.tools.execute('small.alloc', { mb: 256 });
    expect(r).toMatchObject({ ok: false, error: { code: 'E_PLUGIN_TOOL_FAILED' } });
    expect(await h.tools.execute('small.alloc', { mb: 8 })).toMatchObject({ ok: true });
  });

  it('the config refuses raw media for a plugin with network unless the media tier is public', () => {
    const plugins = [{ id: 'leaky', command: ['x'], raw_media: true, sandbox: { network: true } }];
    expect(() => loadConfig({ env: {}, hostname: 't', overrides: { plugins } as never })).toThrow(
      /plugins\[0\]\.sandbox\.network: must be false when raw_media/,
    );
    const sensors = { camera: { privacy: 'public' }, mic: { privacy: 'public' } };
    expect(
      loadConfig({ env: {}, hostname: 't', overrides: { plugins, sensors } as never }).plugins,
    ).toHaveLength(1);
  });
});

describe.skipIf(!BWRAP_OK)('plugin capabilities', () => {
  const frame = {
    seq: 0,
    tsMs: 1,
    width: 2,
    height: 2,
    jpeg: Buffer.from([0xff, 0xd8, 1, 2, 3, 0xff, 0xd9]),
  };
  const audio = { seq: 0, tsMs: 1, sampleRateHz: 16_000, samples: new Int16Array([1, -2, 3, -4]) };
  const vadEnd = {
    kind: 'end' as const,
    segmentId: 'mic0:1',
    startMs: 0,
    endMs: 10,
    sampleRateHz: 16_000,
    audio: new Int16Array([5, 6]),
    modelId: 'vad',
    confidence: 1,
    latencyMs: 1,
    inputTsMs: 0,
  };
  const imu = {
    tsMs: 1,
    windowMs: 10,
    sampleCount: 1,
    mean: { ax: 0, ay: 0, az: 1, gx: 0, gy: 0, gz: 0 },
    peak: { ax: 0, ay: 0, az: 1, gx: 0, gy: 0, gz: 0 },
    accelMagnitudeG: { min: 1, max: 1, mean: 1 },
  };

  async function seenBy(p: Record<string, unknown>): Promise<Record<string, unknown>[]> {
    h = harness();
    const seen: Record<string, unknown>[] = [];
    h.bus.subscribe(
      `plugin/${p.id as string}/seen`,
      (e) => void seen.push(e.payload as Record<string, unknown>),
      { component: 'test' },
    );
    await h.add(p);
    h.bus.publish('sensor/camera/front/frame', frame);
    h.bus.publish('sensor/mic/mic0/frame', audio);
    h.bus.publish('inference/vad/mic0', vadEnd);
    // Last: the probe handles events in order, so once it reports this one it saw the others.
    h.bus.publish('sensor/imu/imu0/window', imu);
    await until('the probe saw the IMU window', () => seen.some((s) => s.topic === 'sensor/imu/imu0/window'));
    return seen;
  }

  it('a plugin without raw_media receives no frame or audio bytes, whatever it subscribes', async () => {
    const seen = await seenBy({ id: 'nomedia', command: PROBE, config: { subscribe: ['#'] } });
    expect(seen.map((s) => s.topic)).not.toContain('sensor/camera/front/frame');
    expect(seen.map((s) => s.topic)).not.toContain('sensor/mic/mic0/frame');
    // The speech segment arrives without its audio.
    const vad = seen.find((s) => s.topic === 'inference/vad/mic0');
    expect(vad).toMatchObject({ b64: false, bytes: 0 });
    expect(vad?.keys).not.toContain('audio');
    expect(seen.every((s) => s.b64 === false)).toBe(true);
  });

  it('with raw_media and no network the frame bytes arrive intact (base64)', async () => {
    const seen = await seenBy({
      id: 'media',
      command: PROBE,
      raw_media: true,
      sandbox: { network: false },
      config: { subscribe: ['#'] },
    });
    expect(seen.find((s) => s.topic === 'sensor/camera/front/frame')).toMatchObject({ b64: true, bytes: 7 });
    expect(seen.find((s) => s.topic === 'sensor/mic/mic0/frame')).toMatchObject({ b64: true, bytes: 8 });
  });

  it('the config narrows what a hello declares', async () => {
    const seen = await seenBy({
      id: 'narrow',
      command: PROBE,
      subscribe: ['sensor/imu/#'],
      config: { subscribe: ['#'] },
    });
    expect(new Set(seen.map((s) => s.topic))).toEqual(new Set(['sensor/imu/imu0/window']));
  });

  it('a plugin publishes only into its own declared namespace', async () => {
    h = harness();
    const host = await h.add({ id: 'probe', command: PROBE, config: { subscribe: [] } });
    // Reach into the protocol as a hostile plugin would: a publish to another namespace.
    const c = host as unknown as { onLine(l: string): void };
    const stolen: unknown[] = [];
    h.bus.subscribe('action/mqtt', (e) => void stolen.push(e.payload), { component: 'test' });
    h.bus.subscribe('plugin/bme280/reading', (e) => void stolen.push(e.payload), { component: 'test' });
    c.onLine(
      '{"type":"publish","topic":"action/mqtt","payload":{"topic":"x","payload":1,"qos":0,"retain":false}}',
    );
    c.onLine('{"type":"publish","topic":"plugin/bme280/reading","payload":{"temperature_c":99}}');
    c.onLine('{"type":"publish","topic":"plugin/probe/seen","payload":{"ok":1}}');
    c.onLine('not json');
    await h.bus.drain(5_000);
    expect(stolen).toEqual([]);
    expect(host.stats()).toMatchObject({ publishRefused: 2, published: 1, linesBad: 1 });
  });

  it('a plugin publishes the readings of a sensor id its config declares, and of no other', async () => {
    h = harness();
    const readings: unknown[] = [];
    h.bus.subscribe('sensor/plugin/+', (e) => void readings.push([e.topic, e.payload]), {
      component: 'test',
    });
    await h.add({
      id: 'hall',
      command: PROBE,
      sensors: ['hall0'],
      config: { subscribe: [], sensor: 'hall0' },
    });
    // Its hello declares sensor/plugin/cellar0, which its config does not give it.
    const rogue = await h.add({ id: 'rogue', command: PROBE, config: { subscribe: [], sensor: 'cellar0' } });
    // Each tool answers after its publish, on the same pipe: by then the publish has been read.
    expect(await h.tools.execute('rogue.reading', {})).toMatchObject({ ok: true });
    expect(await h.tools.execute('hall.reading', {})).toMatchObject({ ok: true });
    await h.bus.drain(5_000);
    expect(readings).toEqual([['sensor/plugin/hall0', { temperature_c: 21.5 }]]);
    expect(rogue.stats()).toMatchObject({ publishRefused: 1, published: 0 });
  });

  it('the config refuses a plugin sensor id the device already has', () => {
    const plugins = [{ id: 'dup', command: ['x'], sensors: ['mic0'] }];
    expect(() => loadConfig({ env: {}, hostname: 't', overrides: { plugins } as never })).toThrow(
      /plugins\[0\]\.sensors\[0\]: is already a sensor id \("mic0"\)/,
    );
  });
});

describe.skipIf(!BWRAP_OK)('plugin supervision and bounds', () => {
  it('a crashing plugin is restarted with exponential backoff while the bus serves on', async () => {
    h = harness();
    const host = await h.add({
      id: 'crash',
      command: ['python3', 'test/helpers/plugins/crash.py'],
      sandbox: { network: true, fs: 'host' },
      restart: { initial_ms: 20, max_ms: 160 },
    });
    await until('five restarts', () => host.stats().restarts >= 5);
    expect(host.stats().restartDelaysMs.slice(0, 5)).toEqual([20, 40, 80, 160, 160]);
    // The bus still delivers to everyone else.
    const got: unknown[] = [];
    h.bus.subscribe('plugin/other/x', (e) => void got.push(e.payload), { component: 'test' });
    h.bus.publish('plugin/other/x', { alive: true });
    await until('delivery', () => got.length === 1);
    await h.close();
    h = undefined;
    const after = host.stats().restarts;
    await new Promise((r) => setImmediate(r));
    expect(host.stats()).toMatchObject({ running: false, restarts: after });
  });

  it('a plugin that never says hello holds start-up only for hello_timeout_ms, and shows degraded', async () => {
    h = harness();
    const host = await h.add({
      id: 'silent',
      command: ['python3', 'test/helpers/plugins/silent.py'],
      sandbox: { network: true, fs: 'host' },
      hello_timeout_ms: 300,
    });
    expect(host.health()).toEqual({ status: 'degraded', reasons: ['plugin silent: no hello yet'] });
    expect(host.stats().running).toBe(true);
    // stop() ends it although it ignores `shutdown` and stdin's end (SIGTERM).
    await h.close();
    h = undefined;
    expect(host.stats().running).toBe(false);
  });

  it('a flooding plugin is cut by its budget and its overlong line is dropped, not buffered', async () => {
    h = harness();
    const got: unknown[] = [];
    h.bus.subscribe('plugin/flood/x', (e) => void got.push(e.payload), { component: 'test', qos: 'batched' });
    const started = performance.now();
    const host = await h.add({
      id: 'flood',
      command: ['python3', 'test/helpers/plugins/flood.py'],
      sandbox: { network: true, fs: 'host' },
      max_publish_per_s: 50,
    });
    // The tool answer comes after the whole flood on the same pipe: every line has been read.
    expect(await h.tools.execute('flood.done', {})).toMatchObject({ ok: true, result: { sent: 20_000 } });
    const elapsedS = (performance.now() - started) / 1000;
    await h.bus.drain(5_000);
    const s = host.stats();
    expect(s.published + s.publishDropped).toBe(20_000);
    // The budget: a burst of 50 plus 50 per second over the time the flood lasted.
    expect(s.published).toBeLessThanOrEqual(50 + Math.ceil(50 * elapsedS));
    expect(got.length).toBe(s.published);
    expect(s.linesOverlong).toBe(1);
  });

  it('a plugin that never reads its events loses the oldest, bounded by its queue', async () => {
    h = harness();
    const host = await h.add(
      {
        id: 'deaf',
        command: ['python3', 'test/helpers/plugins/deaf.py'],
        sandbox: { network: true, fs: 'host' },
        queue_capacity: 8,
      },
      'public',
    );
    const bus = h.bus as unknown as { publish(t: string, p: unknown): unknown };
    const blob = 'z'.repeat(4096);
    // Far more than the pipe (64 KiB) and the queue (8) hold together.
    for (let i = 0; i < 2_000; i++) bus.publish(`load/x`, { i, blob });
    const sub = () => h!.bus.stats().find((x) => x.component === 'plugin.deaf')!;
    await until('drops at the plugin queue', () => sub().dropped.queue_full > 0);
    expect(sub().maxQueueDepth).toBeLessThanOrEqual(8);
    expect(host.stats().eventsSent).toBeLessThan(2_000);
    // Its counters tell the QoS policy's drops apart from what its capabilities withheld.
    expect(host.stats().eventsDropped).toBe(sub().dropped.queue_full);
    expect(host.stats().eventsWithheld).toBe(0);
  });
});
