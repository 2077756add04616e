/**
 * The bundled fixtures open cleanly and their truth agrees with their content: speech truth lies
 * where the audio energy is, face ranges cover the frames, IMU events show the physics they claim.
 */
import { describe, expect, it } from 'vitest';
import type { ImuSample } from '../../daemon/bus/topics.js';
import { type Fixture, openFixture } from '../../daemon/recording/reader.js';
import { REPO_ROOT } from '../helpers/tools.js';

const open = (name: string): Promise<Fixture> =>
  openFixture(`${REPO_ROOT}fixtures/${name}`, { strict: true });

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** RMS of each 10 ms window (160 samples) over the whole track. */
async function windowRms(fx: Fixture): Promise<number[]> {
  const out: number[] = [];
  for await (const f of fx.micFrames(160, { lastFrame: 'drop' })) {
    let sum = 0;
    for (const s of f.samples) sum += s * s;
    out.push(Math.sqrt(sum / f.samples.length));
  }
  return out;
}

/** Speech truth must bracket exactly the windows louder than -40 dBFS (what the generator measured). */
async function checkSpeech(fx: Fixture): Promise<void> {
  const speech = fx.manifest.truth?.speech ?? [];
  expect(speech.length).toBeGreaterThan(0);
  const rms = await windowRms(fx);
  const loud = rms.map((r) => r > 328);
  const inside = (w: number): boolean => speech.some((s) => w * 10 >= s.start_ms && (w + 1) * 10 <= s.end_ms);
  for (const s of speech) {
    expect(loud[s.start_ms / 10], `${s.text} starts loud`).toBe(true);
    expect(loud[s.end_ms / 10 - 1], `${s.text} ends loud`).toBe(true);
  }
  const strayLoud = loud.flatMap((l, w) => (l && !inside(w) ? [w * 10] : []));
  expect(strayLoud).toEqual([]);
  // The noise floor is there (not digital silence) but far below speech.
  const quiet = rms.filter((_, w) => !inside(w));
  const meanQuiet = quiet.reduce((a, b) => a + b, 0) / quiet.length;
  expect(meanQuiet).toBeGreaterThan(5);
  expect(meanQuiet).toBeLessThan(60);
}

async function checkFaces(fx: Fixture, fps: number): Promise<void> {
  const frames = await collect(fx.cameraFrames());
  const ranges = fx.manifest.truth?.faces ?? [];
  expect(ranges.some((r) => r.face)).toBe(true);
  expect(ranges.some((r) => !r.face)).toBe(true);
  expect(ranges[0]!.start_frame).toBe(0);
  expect(ranges.at(-1)!.end_frame).toBe(frames.length - 1);
  for (const [i, r] of ranges.entries()) {
    if (i > 0) expect(r.start_frame).toBe(ranges[i - 1]!.end_frame + 1);
    expect(frames[r.start_frame]!.tMs).toBe(r.start_ms);
    expect(frames[r.end_frame]!.tMs).toBe(r.end_ms);
  }
  for (const [i, f] of frames.entries()) {
    expect([f.width, f.height]).toEqual([640, 480]);
    expect(f.tMs).toBeCloseTo((i * 1000) / fps, 6);
  }
}

const mag = (s: ImuSample): number => Math.hypot(s.ax, s.ay, s.az);

async function checkFall(fx: Fixture): Promise<void> {
  const samples = await collect(fx.imuSamples());
  const fall = fx.manifest.truth?.imu?.find((e) => e.kind === 'fall');
  expect(fall).toBeDefined();
  const ffEnd = fall!.free_fall_end_ms as number;
  const during = (a: number, b: number): ImuSample[] => samples.filter((s) => s.tMs >= a && s.tMs < b);
  const freeFall = during(fall!.t_ms, ffEnd);
  expect(ffEnd - fall!.t_ms).toBeGreaterThan(80);
  expect(Math.max(...freeFall.map(mag))).toBeLessThan(0.3);
  expect(Math.max(...during(ffEnd, fall!.end_ms!).map(mag))).toBeGreaterThan(2.5);
  // Lying still afterwards with gravity on x.
  const after = during(fall!.end_ms! + 100, fall!.end_ms! + 1000);
  expect(after.every((s) => Math.abs(s.ax - 1) < 0.06 && Math.abs(s.az) < 0.06)).toBe(true);
}

describe('bundled fixtures', () => {
  it('speech: mic only, truth segments lie exactly where the audio energy is', async () => {
    const fx = await open('speech');
    expect(fx.sensors).toEqual(['mic']);
    expect(fx.warnings).toEqual([]);
    expect(fx.manifest.truth?.speech?.map((s) => s.text)).toEqual(
      expect.arrayContaining([
        'turn on the kitchen light',
        'what time is it',
        'turn off the bedroom light',
        'stop',
      ]),
    );
    const speech = fx.manifest.truth!.speech!;
    for (let i = 1; i < speech.length; i++) {
      const gap = speech[i]!.start_ms - speech[i - 1]!.end_ms;
      expect(gap).toBeGreaterThanOrEqual(1000);
      expect(gap).toBeLessThanOrEqual(2000);
    }
    await checkSpeech(fx);
  });

  it('voice: mic only, the demo conversation where the audio energy is', async () => {
    const fx = await open('voice');
    expect(fx.sensors).toEqual(['mic']);
    expect(fx.warnings).toEqual([]);
    expect(fx.manifest.truth?.speech?.map((s) => s.text)).toEqual([
      'set a timer for five seconds',
      'what is the tallest mountain in the world',
      'how tall is it',
      'tell me a long story about the sea',
      'stop',
      'what is the weather like',
    ]);
    await checkSpeech(fx);
  });

  it('faces: camera only, 640x480 at 5 fps, face ranges cover every frame', async () => {
    const fx = await open('faces');
    expect(fx.sensors).toEqual(['camera']);
    await checkFaces(fx, 5);
  });

  it('imu: 100 Hz, and each truth event shows its physics', async () => {
    const fx = await open('imu');
    expect(fx.sensors).toEqual(['imu']);
    const samples = await collect(fx.imuSamples());
    expect(samples[1]!.tMs - samples[0]!.tMs).toBe(10);
    await checkFall(fx);
    const truth = fx.manifest.truth!.imu!;
    const seg = (kind: string) => truth.find((e) => e.kind === kind)!;
    const during = (e: { t_ms: number; end_ms?: number }): ImuSample[] =>
      samples.filter((s) => s.tMs >= e.t_ms && s.tMs < e.end_ms!);
    const still = during(truth[0]!);
    expect(still.every((s) => Math.abs(mag(s) - 1) < 0.06 && Math.abs(s.gx) < 2)).toBe(true);
    const shake = during(seg('shake'));
    expect(Math.max(...shake.map((s) => Math.abs(s.ax)))).toBeGreaterThan(1.8);
    // Walking cadence: count bounces (above 1.15 g after being below 0.85 g; hysteresis ignores noise).
    const walk = during(truth.find((e) => e.label === 'walking')!);
    let steps = 0;
    let low = false;
    for (const s of walk) {
      if (s.az < 0.85) low = true;
      else if (s.az > 1.15 && low) {
        steps++;
        low = false;
      }
    }
    expect(steps / 5).toBeCloseTo(2, 0);
    // After the tilt, gravity sits 60° from z.
    const tilt = seg('tilt');
    const end = samples.filter((s) => s.tMs >= tilt.end_ms! && s.tMs < tilt.end_ms! + 500);
    const meanAy = end.reduce((a, s) => a + s.ay, 0) / end.length;
    const meanAz = end.reduce((a, s) => a + s.az, 0) / end.length;
    expect((Math.atan2(meanAy, meanAz) * 180) / Math.PI).toBeCloseTo(60, 0);
  });

  it('demo: all three sensors for ~20 s with speech, faces and a fall; events() in time order', async () => {
    const fx = await open('demo');
    expect(fx.sensors).toEqual(['camera', 'mic', 'imu']);
    expect(fx.durationMs).toBeGreaterThanOrEqual(19_500);
    expect(fx.durationMs).toBeLessThanOrEqual(20_100);
    await checkSpeech(fx);
    await checkFaces(fx, 2);
    await checkFall(fx);
    let last = Number.NEGATIVE_INFINITY;
    const counts = { camera: 0, mic: 0, imu: 0 };
    for await (const e of fx.events()) {
      expect(e.tMs).toBeGreaterThanOrEqual(last);
      last = e.tMs;
      counts[e.sensor] += 1;
    }
    expect(counts).toEqual({
      camera: fx.cameraFrameCount,
      mic: Math.ceil(fx.micSampleCount / 512),
      imu: fx.imuSampleCount,
    });
  });
});
