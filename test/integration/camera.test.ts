import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import { Bus } from '../../daemon/bus/bus.js';
import type { CameraFrame, SensorStatus } from '../../daemon/bus/topics.js';
import { silentLogger } from '../../daemon/log.js';
import { CameraSource, type CameraSourceOptions } from '../../daemon/sensors/camera.js';
import { cameraCommand } from '../../daemon/sensors/camera-presets.js';
import { SystemClock } from '../../daemon/util/clock.js';
import { needs } from '../helpers/tools.js';

interface Rig {
  readonly camera: CameraSource;
  readonly frames: CameraFrame[];
  readonly statuses: SensorStatus[];
}

const live: CameraSource[] = [];

afterEach(async () => {
  await Promise.all(live.splice(0).map((c) => c.stop()));
});

function rig(options: Partial<CameraSourceOptions> & Pick<CameraSourceOptions, 'command'>): Rig {
  const clock = new SystemClock();
  const logger = silentLogger();
  const bus = new Bus({ clock, logger });
  const frames: CameraFrame[] = [];
  const statuses: SensorStatus[] = [];
  const sub = { component: 'test', qos: 'realtime', queueCapacity: 256 } as const;
  bus.subscribe('sensor/camera/+/frame', (env) => void frames.push(env.payload as CameraFrame), sub);
  bus.subscribe('sensor/camera/+/status', (env) => void statuses.push(env.payload as SensorStatus), sub);
  const camera = new CameraSource({
    id: 'cam0',
    clock,
    logger,
    bus,
    backoff: { initialMs: 100, maxMs: 400 },
    stallTimeoutMs: 3000,
    ...options,
  });
  live.push(camera);
  return { camera, frames, statuses };
}

async function waitFor(what: string, cond: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const testsrc = (fps: number) => cameraCommand({ kind: 'testsrc', width: 320, height: 240, fps });

describe.runIf(needs({ tools: ['ffmpeg'] }))('camera source (real ffmpeg)', () => {
  it('publishes whole JPEG frames from the testsrc preset with the right size', async () => {
    const { camera, frames, statuses } = rig({ command: testsrc(15) });
    await camera.start(new AbortController().signal);
    await waitFor('5 frames', () => frames.length >= 5);
    expect(statuses.map((s) => s.state).slice(0, 2)).toEqual(['starting', 'running']);
    for (const f of frames) {
      expect([f.width, f.height]).toEqual([320, 240]);
      expect(f.jpeg.subarray(-2).equals(Buffer.from([0xff, 0xd9]))).toBe(true);
    }
    const meta = await sharp(frames[2]!.jpeg).metadata();
    expect([meta.width, meta.height, meta.format]).toEqual([320, 240, 'jpeg']);
    expect(frames.map((f) => f.seq)).toEqual(frames.map((_, i) => i));
    expect(camera.health()).toEqual({ status: 'ok' });
  });

  it('restarts the producer after it is killed and frames resume', async () => {
    const { camera, frames, statuses } = rig({ command: testsrc(15) });
    await camera.start(new AbortController().signal);
    await waitFor('first frames', () => frames.length >= 3);
    const firstPid = camera.pid;
    expect(firstPid).toBeTypeOf('number');
    process.kill(firstPid!, 'SIGKILL');
    await waitFor('restarting status', () => statuses.some((s) => s.state === 'restarting'));
    const restarting = statuses.find((s) => s.state === 'restarting')!;
    expect(restarting.reason).toMatch(/ffmpeg killed by SIGKILL/);
    const before = frames.length;
    await waitFor('frames after restart', () => frames.length >= before + 3);
    expect(camera.pid).not.toBe(firstPid);
    expect(statuses.at(-1)).toMatchObject({ state: 'running', restarts: 1 });
    expect(camera.stats().restarts).toBe(1);
  });

  it('caps the rate keep-latest and counts the drops', async () => {
    const { camera, frames } = rig({ command: testsrc(30), maxFps: 5 });
    await camera.start(new AbortController().signal);
    await waitFor('first frame', () => frames.length >= 1);
    const t0 = Date.now();
    const n0 = frames.length;
    const d0 = camera.stats().dropped;
    await new Promise((r) => setTimeout(r, 2000));
    const seconds = (Date.now() - t0) / 1000;
    const rate = (frames.length - n0) / seconds;
    const dropRate = (camera.stats().dropped - d0) / seconds;
    // 5/s wanted; generous bounds because two cores are shared with every other test.
    expect(rate).toBeGreaterThan(2.5);
    expect(rate).toBeLessThanOrEqual(5.6);
    expect(dropRate).toBeGreaterThan(8); // ~25/s when ffmpeg keeps up
    for (let i = 1; i < frames.length; i++)
      expect(frames[i]!.tsMs - frames[i - 1]!.tsMs).toBeGreaterThan(100);
  });

  it('reports a missing binary as failed, naming it, without throwing or retrying', async () => {
    const { camera, statuses } = rig({ command: ['edgeloom-no-such-capture-tool', '-o', '-'] });
    await camera.start(new AbortController().signal);
    await waitFor('failed status', () => statuses.some((s) => s.state === 'failed'));
    expect(statuses.find((s) => s.state === 'failed')!.reason).toMatch(
      /edgeloom-no-such-capture-tool not found.*ENOENT/,
    );
    await new Promise((r) => setTimeout(r, 600)); // longer than the max backoff: no retry happens
    expect(camera.stats().restarts).toBe(0);
    expect(camera.health().status).toBe('failed');
  });

  it('reports a missing V4L2 device as failed and keeps retrying at the max backoff', async () => {
    const device = '/dev/video-edgeloom-missing';
    const command = cameraCommand({ kind: 'v4l2', device, width: 320, height: 240, fps: 15 });
    const { camera, statuses } = rig({ command, backoff: { initialMs: 50, maxMs: 150 } });
    await camera.start(new AbortController().signal);
    await waitFor('failed status', () => statuses.some((s) => s.state === 'failed'));
    expect(statuses.find((s) => s.state === 'failed')!.reason).toContain(`camera device ${device} not found`);
    await waitFor('retries', () => camera.stats().restarts >= 2);
    // Retries of a known-missing device are not announced as `starting` every time.
    expect(statuses.filter((s) => s.state === 'starting')).toHaveLength(1);
    expect(camera.stats().state).toBe('failed');
  });

  it('restarts a producer that writes nothing (stall)', async () => {
    const { camera, statuses } = rig({ command: ['sleep', '30'], stallTimeoutMs: 300 });
    await camera.start(new AbortController().signal);
    await waitFor('restart after stall', () => statuses.some((s) => s.state === 'restarting'));
    const states = statuses.map((s) => s.state);
    expect(states.indexOf('stalled')).toBeGreaterThan(0);
    expect(states.indexOf('restarting')).toBeGreaterThan(states.indexOf('stalled'));
    expect(statuses.find((s) => s.state === 'restarting')!.reason).toMatch(/stalled: no data for \d+ ms/);
  });

  it('pause releases the producer and resume brings frames back', async () => {
    const { camera, frames, statuses } = rig({ command: testsrc(15) });
    await camera.start(new AbortController().signal);
    await waitFor('frames', () => frames.length >= 2);
    const pid = camera.pid!;
    await camera.pause();
    expect(camera.pid).toBeUndefined();
    expect(() => process.kill(pid, 0)).toThrow(); // the child is gone
    expect(statuses.at(-1)!.state).toBe('paused');
    const n = frames.length;
    await new Promise((r) => setTimeout(r, 300));
    expect(frames.length).toBe(n);
    camera.resume();
    await waitFor('frames after resume', () => frames.length >= n + 2);
    await camera.stop();
    expect(statuses.at(-1)!.state).toBe('stopped');
  });
});
