import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Bus } from '../../daemon/bus/bus.js';
import { silentLogger } from '../../daemon/log.js';
import { FILES } from '../../daemon/recording/format.js';
import { FixtureWriter } from '../../daemon/recording/writer.js';
import { ReplaySource, type ReplaySourceOptions } from '../../daemon/replay/replay-source.js';
import type { TimerHandle } from '../../daemon/util/clock.js';
import { VirtualClock } from '../../daemon/util/virtual-clock.js';

/**
 * What a replay costs per pass (issue #16): a looping replay plays its passes after the first
 * from memory, publishing exactly what the first pass did, and a paced replay wakes only for the
 * records it publishes (an IMU sample that only fills the aggregator's window needs no wake-up).
 *
 * The fixture: 1 s of IMU at 100 Hz (10 windows at 10 Hz) and two camera frames, at 0 and 1 s.
 */

let root: string;
const IMU_SAMPLES = 100;

/** A fresh copy of the fixture (the tests delete its files). */
async function makeFixture(name: string): Promise<string> {
  const dir = join(root, name);
  const jpeg = await sharp({
    create: { width: 16, height: 12, channels: 3, background: { r: 9, g: 9, b: 9 } },
  })
    .jpeg()
    .toBuffer();
  const w = await FixtureWriter.create(dir, {
    sensors: ['camera', 'imu'],
    description: 'two frames and 1 s of IMU',
    startTime: new Date('2024-01-01T00:00:00Z'),
  });
  for (let i = 0; i < IMU_SAMPLES; i++)
    await w.writeImu({ tMs: i * 10, ax: i / 100, ay: 0, az: 9.81, gx: 0, gy: 0, gz: i });
  await w.writeFrame(0, jpeg);
  await w.writeFrame(1000, jpeg);
  await w.close();
  return dir;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'edgeloom-kept-pass-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** A replay of the test fixture's sensors (IMU windows at 10 Hz) with the given options. */
function replaySource(
  options: Pick<ReplaySourceOptions, 'fixtureDir' | 'speed' | 'loop' | 'clock' | 'bus'> &
    Partial<ReplaySourceOptions>,
): ReplaySource {
  return new ReplaySource({
    logger: silentLogger(),
    ids: { camera: 'cam0', mic: 'mic0', imu: 'imu0' },
    imuEventRateHz: 10,
    micFrameSamples: 512,
    ...options,
  });
}

interface Seen {
  readonly topic: string;
  /** Fixture time: the clock time less the pass's origin. */
  readonly tMs: number;
  readonly body: string;
}

/**
 * A looping replay at speed 0 over `passes` passes, deleting the fixture's data files while the
 * last record of pass 1 is handled (before pass 2 could open them). What each pass published.
 */
async function playDeletingAfterPass1(
  fixtureDir: string,
  extra: Partial<ReplaySourceOptions>,
  passes: number,
): Promise<{ perPass: Seen[][]; error: unknown }> {
  const clock = new VirtualClock(0);
  const bus = new Bus({ clock, logger: silentLogger() });
  const perPass: Seen[][] = [];
  let source!: ReplaySource;
  const passLengthMs = 1000 + 1000; // last record at 1 s, then the 1 s loop gap
  const origin = Date.parse('2024-01-01T00:00:00Z');
  let framesSeen = 0;
  let reached!: () => void;
  const enough = new Promise<void>((r) => {
    reached = r;
  });
  bus.subscribe(
    'sensor/#',
    (env) => {
      const pass = Math.floor((clock.now() - origin) / passLengthMs);
      if (pass >= passes) {
        reached();
        return;
      }
      (perPass[pass] ??= []).push({
        topic: env.topic,
        tMs: clock.now() - origin - pass * passLengthMs,
        // Sequence numbers and clock times go on across passes; the rest must not change.
        body: JSON.stringify(env.payload, (k, v) => (k === 'seq' || k === 'tsMs' ? undefined : v)),
      });
      if (env.topic.startsWith('sensor/camera/') && ++framesSeen === 2) {
        for (const f of [FILES.cameraData, FILES.cameraIndex, FILES.imu]) rmSync(join(fixtureDir, f));
      }
    },
    { component: 'test', qos: 'batched' },
  );
  source = replaySource({ fixtureDir, speed: 0, loop: true, clock, bus, ...extra });
  let error: unknown;
  try {
    await source.start();
    await Promise.race([enough, source.done.catch((err: unknown) => (error = err))]);
  } finally {
    await source.stop();
  }
  return { perPass, error };
}

describe('a looping replay keeps its first pass', () => {
  it('plays passes 2 and 3 from memory, the same records at the same fixture times, files gone', async () => {
    const dir = await makeFixture('kept');
    const { perPass, error } = await playDeletingAfterPass1(dir, {}, 3);
    expect(error).toBeUndefined();
    expect(perPass).toHaveLength(3);
    // 2 frames and 10 IMU windows a pass.
    expect(perPass[0]!.filter((s) => s.topic.endsWith('/window'))).toHaveLength(10);
    expect(perPass[0]!.filter((s) => s.topic.endsWith('/frame'))).toHaveLength(2);
    expect(perPass[1]).toEqual(perPass[0]);
    expect(perPass[2]).toEqual(perPass[0]);
  });

  it('past keptPassMaxBytes it reads every pass from disk again', async () => {
    const dir = await makeFixture('streamed');
    const { perPass, error } = await playDeletingAfterPass1(dir, { keptPassMaxBytes: 1000 }, 3);
    expect(perPass).toHaveLength(1);
    expect(String(error)).toMatch(/camera|ENOENT/);
  });
});

describe('a paced replay wakes for what it publishes', () => {
  it('waits on the wall once per published record, not per IMU sample', async () => {
    const dir = await makeFixture('paced');
    const wallClock = new VirtualClock(0);
    let wallTimers = 0;
    const wall = {
      monotonicMs: () => wallClock.monotonicMs(),
      setTimeout: (fn: () => void, delayMs: number): TimerHandle => {
        wallTimers++;
        return wallClock.setTimeout(fn, delayMs);
      },
    };
    const clock = new VirtualClock(0);
    const bus = new Bus({ clock, logger: silentLogger() });
    let published = 0;
    bus.subscribe(
      'sensor/#',
      () => {
        published++;
      },
      { component: 'test', qos: 'batched' },
    );
    const source = replaySource({ fixtureDir: dir, speed: 1, loop: false, clock, bus, tailMs: 0, wall });
    let done = false;
    try {
      await source.start();
      source.done.then(() => {
        done = true;
      });
      // Move the wall to each time the replay asked to be woken at, until it has played it all.
      while (!done) {
        const due = wallClock.nextDueMs();
        if (due === undefined) await new Promise((r) => setImmediate(r));
        else await wallClock.advanceTo(due);
      }
      await source.done;
    } finally {
      await source.stop();
    }
    // 2 frames + 10 windows (the last one flushed at the end of the pass).
    expect(published).toBe(12);
    // One wake-up per published record at most; waiting for every sample would be ~100.
    expect(wallTimers).toBeGreaterThan(0);
    expect(wallTimers).toBeLessThanOrEqual(published);
  });
});
