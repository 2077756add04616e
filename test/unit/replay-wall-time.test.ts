import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Bus } from '../../daemon/bus/bus.js';
import { silentLogger } from '../../daemon/log.js';
import { FixtureWriter } from '../../daemon/recording/writer.js';
import { ReplaySource } from '../../daemon/replay/replay-source.js';
import { VirtualClock } from '../../daemon/util/virtual-clock.js';

/**
 * A replay at speed > 0 runs the daemon's clock on wall time (issue #16): between two records the
 * clock moves, and a timer due between them fires at its own time, before the later record is
 * published. The fixture's two frames are 10 s apart and the wall is a VirtualClock the test
 * moves, so nothing waits on real time (with the clock jumping from record to record, the timer
 * would only fire after 10 s of real time, at the second frame).
 */

let root: string;
let fixtureDir: string;
const GAP_MS = 10_000;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'edgeloom-replay-wall-'));
  fixtureDir = join(root, 'fx');
  const jpeg = await sharp({
    create: { width: 16, height: 12, channels: 3, background: { r: 9, g: 9, b: 9 } },
  })
    .jpeg()
    .toBuffer();
  const w = await FixtureWriter.create(fixtureDir, {
    sensors: ['camera'],
    description: 'two frames 10 s apart',
    startTime: new Date('2024-01-01T00:00:00Z'),
  });
  await w.writeFrame(0, jpeg);
  await w.writeFrame(GAP_MS, jpeg);
  await w.close();
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('ReplaySource at speed > 0 on wall time', () => {
  it('the clock moves between records and a timer between them fires before the next record', async () => {
    const wall = new VirtualClock(0);
    const clock = new VirtualClock(0);
    const bus = new Bus({ clock, logger: silentLogger() });
    const frames: number[] = [];
    const frameSeen: (() => void)[] = [];
    const fired: { atMs: number; framesBefore: number }[] = [];
    let timerFired!: () => void;
    const timerDone = new Promise<void>((r) => {
      timerFired = r;
    });
    bus.subscribe(
      'sensor/camera/+/frame',
      (env) => {
        frames.push(env.payload.tsMs);
        frameSeen.shift()?.();
        // What a "no face for 300 ms" timeout does: armed on a frame, due long before the next.
        if (frames.length === 1) {
          clock.setTimeout(() => {
            fired.push({ atMs: clock.now(), framesBefore: frames.length });
            timerFired();
          }, 300);
        }
      },
      { component: 'test', qos: 'batched' },
    );
    const nextFrame = (): Promise<void> => new Promise((r) => frameSeen.push(r));
    const first = nextFrame();
    const source = new ReplaySource({
      fixtureDir,
      speed: 2,
      loop: false,
      clock,
      bus,
      logger: silentLogger(),
      ids: { camera: 'cam0', mic: 'mic0', imu: 'imu0' },
      imuEventRateHz: 50,
      micFrameSamples: 512,
      tailMs: 0,
      wall,
    });
    try {
      await source.start();
      await first;
      const t0 = frames[0]!;
      expect(t0).toBe(Date.parse('2024-01-01T00:00:00Z'));
      // The replay has read the next record and follows the wall towards it (at first the clock
      // stays at the frame just published, the limit, until the replay asks for the next one).
      while (wall.nextDueMs() === undefined) await new Promise((r) => setImmediate(r));
      // 40 ms of wall time at speed 2: 80 ms of fixture time, read between the two records.
      await wall.advanceTo(40);
      expect(clock.now()).toBe(t0 + 80);
      // Wall time reaches the timer (150 ms × 2 = 300 ms): it fires at its time, the next frame unseen.
      await wall.advanceTo(150);
      await timerDone;
      expect(fired).toEqual([{ atMs: t0 + 300, framesBefore: 1 }]);
      // Up to the next record's time, and no further until it is published.
      const second = nextFrame();
      await wall.advanceTo(GAP_MS / 2 + 1_000);
      await second;
      expect(frames).toEqual([t0, t0 + GAP_MS]);
      await source.done;
      expect(clock.now()).toBe(t0 + GAP_MS);
    } finally {
      await source.stop();
    }
  });
});
