import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';
import { Bus } from '../../daemon/bus/bus.js';
import type { CameraFrame, SensorStatus } from '../../daemon/bus/topics.js';
import { silentLogger } from '../../daemon/log.js';
import { CameraSource, type CameraSourceOptions } from '../../daemon/sensors/camera/camera.js';
import { cameraCommand } from '../../daemon/sensors/camera/presets.js';
import { type Clock, SystemClock } from '../../daemon/util/clock.js';
import { VirtualClock } from '../../daemon/util/virtual-clock.js';
import { needs } from '../helpers/tools.js';
import { until } from '../helpers/wait.js';

interface Rig {
  readonly camera: CameraSource;
  readonly bus: Bus;
  readonly frames: CameraFrame[];
  readonly statuses: SensorStatus[];
}

const live: CameraSource[] = [];

afterEach(async () => {
  await Promise.all(live.splice(0).map((c) => c.stop()));
});

function rig(
  options: Partial<CameraSourceOptions> & Pick<CameraSourceOptions, 'command'>,
  clock: Clock = new SystemClock(),
): Rig {
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
  return { camera, bus, frames, statuses };
}

const testsrc = (fps: number) => cameraCommand({ kind: 'testsrc', width: 320, height: 240, fps });

describe.runIf(needs({ tools: ['ffmpeg'] }))('camera source (real ffmpeg)', () => {
  it('publishes whole JPEG frames from the testsrc preset with the right size', async () => {
    const { camera, frames, statuses } = rig({ command: testsrc(15) });
    await camera.start(new AbortController().signal);
    await until('5 frames', () => frames.length >= 5);
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
    await until('first frames', () => frames.length >= 3);
    const firstPid = camera.pid;
    expect(firstPid).toBeTypeOf('number');
    process.kill(firstPid!, 'SIGKILL');
    await until('restarting status', () => statuses.some((s) => s.state === 'restarting'));
    const restarting = statuses.find((s) => s.state === 'restarting')!;
    expect(restarting.reason).toMatch(/ffmpeg killed by SIGKILL/);
    const before = frames.length;
    await until('frames after restart', () => frames.length >= before + 3);
    expect(camera.pid).not.toBe(firstPid);
    expect(statuses.at(-1)).toMatchObject({ state: 'running', restarts: 1 });
    expect(camera.stats().restarts).toBe(1);
  });

  it('caps the rate keep-latest and counts the drops', async () => {
    // The sampler's interval runs on a virtual clock: ffmpeg delivers 30 fps in real time while
    // the camera's time stands still, so the cap alone decides what is published.
    const clock = new VirtualClock(0);
    const { camera } = rig({ command: testsrc(30), maxFps: 5 }, clock);
    const delivered = () => camera.stats().splitter.frames;
    await camera.start(new AbortController().signal);
    await until('ffmpeg to deliver 6 frames', () => delivered() >= 6);
    // The first frame went out at once; the rest arrived within the same 200 ms slot: only the
    // newest is held, each one it replaced is a counted drop.
    let s = camera.stats();
    expect(s.published).toBe(1);
    expect(s.dropped).toBe(s.splitter.frames - 2); // minus the published one and the held one
    await clock.advanceTo(199);
    expect(camera.stats().published).toBe(1);
    await clock.advanceTo(200); // the slot ends: the held (newest) frame goes out
    s = camera.stats();
    expect(s.published).toBe(2);
    // Every delivered frame is published, dropped, or the one held for the next slot.
    expect(s.splitter.frames - s.published - s.dropped).toBeGreaterThanOrEqual(0);
    expect(s.splitter.frames - s.published - s.dropped).toBeLessThanOrEqual(1);
    await until('ffmpeg to deliver more frames', () => delivered() >= s.splitter.frames + 3);
    await clock.advanceTo(400);
    expect(camera.stats().published).toBe(3);
  });

  it('reports a missing binary as failed, naming it, without throwing or retrying', async () => {
    const clock = new VirtualClock(0);
    const { camera, statuses } = rig({ command: ['edgeloom-no-such-capture-tool', '-o', '-'] }, clock);
    await camera.start(new AbortController().signal);
    await until('failed status', () => statuses.some((s) => s.state === 'failed'));
    expect(statuses.find((s) => s.state === 'failed')!.reason).toMatch(
      /edgeloom-no-such-capture-tool not found.*ENOENT/,
    );
    // Ten times the longest backoff later (virtual time), nothing was retried.
    await clock.advanceTo(10 * 400);
    expect(camera.stats().restarts).toBe(0);
    expect(statuses.map((s) => s.state)).toEqual(['starting', 'failed']);
    expect(camera.health().status).toBe('failed');
  });

  it('reports a missing V4L2 device as failed and keeps retrying at the max backoff', async () => {
    const device = '/dev/video-edgeloom-missing';
    const command = cameraCommand({ kind: 'v4l2', device, width: 320, height: 240, fps: 15 });
    const { camera, statuses } = rig({ command, backoff: { initialMs: 50, maxMs: 150 } });
    await camera.start(new AbortController().signal);
    await until('failed status', () => statuses.some((s) => s.state === 'failed'));
    expect(statuses.find((s) => s.state === 'failed')!.reason).toContain(`camera device ${device} not found`);
    await until('retries', () => camera.stats().restarts >= 2);
    // Retries of a known-missing device are not announced as `starting` every time.
    expect(statuses.filter((s) => s.state === 'starting')).toHaveLength(1);
    expect(camera.stats().state).toBe('failed');
  });

  it('restarts a producer that writes nothing (stall)', async () => {
    const { camera, statuses } = rig({ command: ['sleep', '30'], stallTimeoutMs: 300 });
    await camera.start(new AbortController().signal);
    await until('restart after stall', () => statuses.some((s) => s.state === 'restarting'));
    const states = statuses.map((s) => s.state);
    expect(states.indexOf('stalled')).toBeGreaterThan(0);
    expect(states.indexOf('restarting')).toBeGreaterThan(states.indexOf('stalled'));
    expect(statuses.find((s) => s.state === 'restarting')!.reason).toMatch(/stalled: no data for \d+ ms/);
  });

  it('pause releases the producer and resume brings frames back', async () => {
    const clock = new VirtualClock(0);
    const { camera, bus, frames, statuses } = rig({ command: testsrc(15) }, clock);
    await camera.start(new AbortController().signal);
    await until('frames', () => frames.length >= 2);
    const pid = camera.pid!;
    await camera.pause();
    expect(camera.pid).toBeUndefined();
    expect(() => process.kill(pid, 0)).toThrow(); // the child is gone
    expect(statuses.at(-1)!.state).toBe('paused');
    await bus.drain(10_000);
    const n = frames.length;
    // Past every backoff and the stall timeout (virtual time): a paused camera starts nothing.
    await clock.advanceTo(clock.now() + 60_000);
    await bus.drain(10_000);
    expect(camera.pid).toBeUndefined();
    expect(frames.length).toBe(n);
    expect(statuses.at(-1)!.state).toBe('paused');
    camera.resume();
    await until('frames after resume', () => frames.length >= n + 2);
    await camera.stop();
    expect(statuses.at(-1)!.state).toBe('stopped');
  });
});
