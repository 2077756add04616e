/**
 * Regenerates the bundled fixtures in fixtures/ (speech, faces, imu, demo, voice):
 *   npx tsc -p tsconfig.build.json && node dist/scripts/make-fixtures.js [name...]
 * Needs espeak-ng and sox (speech, demo) and python3-skimage's sample images (faces, demo).
 * Output is deterministic for a given espeak-ng, sox and libvips: fixed start_time, seeded noise.
 */
import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { FixtureTruth } from '../daemon/recording/format.js';
import { FixtureWriter } from '../daemon/recording/writer.js';
import {
  astronautHandheld,
  astronautMotion,
  coffeePan,
  faceRanges,
  renderShot,
  type Shot,
} from './fixture-gen/frames.js';
import { generateImu, gravityTiltedAboutX, type Segment, type Vec3 } from './fixture-gen/imu-model.js';
import { buildSpeechTrack, SAMPLE_RATE_HZ, sequence } from './fixture-gen/speech.js';

const FIXTURES_DIR = fileURLToPath(new URL('../../fixtures/', import.meta.url));
/** Every bundled fixture starts at this wall time so regenerating changes no byte of fixture.json. */
const START_TIME = new Date('2024-01-01T00:00:00.000Z');
/** Audio is written in blocks of this many samples (what a recorder would do). */
const AUDIO_BLOCK_SAMPLES = 1600;

interface Parts {
  readonly description: string;
  readonly audio?: Int16Array;
  readonly shots?: readonly Shot[];
  readonly fps?: number;
  readonly imu?: ReturnType<typeof generateImu>;
  readonly truth: FixtureTruth;
}

async function writeFixture(name: string, p: Parts): Promise<void> {
  const dir = `${FIXTURES_DIR}${name}`;
  await rm(dir, { recursive: true, force: true });
  const sensors = [
    ...(p.shots ? (['camera'] as const) : []),
    ...(p.audio ? (['mic'] as const) : []),
    ...(p.imu ? (['imu'] as const) : []),
  ];
  const w = await FixtureWriter.create(dir, {
    sensors,
    description: p.description,
    startTime: START_TIME,
    truth: p.truth,
  });
  if (p.shots) {
    const intervalMs = 1000 / (p.fps ?? 5);
    for (const [i, shot] of p.shots.entries()) await w.writeFrame(i * intervalMs, await renderShot(shot));
  }
  if (p.audio) {
    for (let i = 0; i < p.audio.length; i += AUDIO_BLOCK_SAMPLES) {
      await w.writeAudio((i * 1000) / SAMPLE_RATE_HZ, p.audio.subarray(i, i + AUDIO_BLOCK_SAMPLES));
    }
  }
  for (const s of p.imu?.samples ?? []) await w.writeImu(s);
  await w.close();
  console.log(
    `fixtures/${name}: ${sensors.join(', ')} (${w.stats.frames} frames, ${w.stats.audioSamples} samples, ${w.stats.imuSamples} imu)`,
  );
}

function speech(): Parts {
  const { placements, endMs } = sequence(
    [
      { text: 'turn on the kitchen light', gapAfterMs: 1500 },
      { text: 'what time is it', gapAfterMs: 1200 },
      { text: 'turn off the bedroom light', gapAfterMs: 1800 },
      { text: 'stop', gapAfterMs: 1000 },
      { text: 'set a timer for ten minutes', gapAfterMs: 1500 },
    ],
    1000,
  );
  // Round every placement to 10 ms so truth times are whole-window values.
  const rounded = placements.map((p) => ({ ...p, atMs: Math.round(p.atMs / 10) * 10 }));
  const track = buildSpeechTrack(rounded, Math.ceil(endMs / 100) * 100 + 100, 7);
  return {
    description: 'espeak-ng (en-us, 150 wpm) commands separated by 1-1.8 s of low noise; mic only',
    audio: track.samples,
    truth: { speech: track.truth },
  };
}

/**
 * The voice assistant's demo conversation (README, "The voice assistant"): a local timer, a
 * question and its follow-up for an LLM, a long answer cut off by "stop" (barge-in), the weather.
 * The gaps leave room for what answers: the timer's 5 s run out inside the 7 s after it.
 */
function voice(): Parts {
  const { placements, endMs } = sequence(
    [
      { text: 'set a timer for five seconds', gapAfterMs: 7000 },
      { text: 'what is the tallest mountain in the world', gapAfterMs: 3500 },
      { text: 'how tall is it', gapAfterMs: 3500 },
      { text: 'tell me a long story about the sea', gapAfterMs: 1500 },
      { text: 'stop', gapAfterMs: 2000 },
      { text: 'what is the weather like', gapAfterMs: 3500 },
    ],
    1000,
  );
  const rounded = placements.map((p) => ({ ...p, atMs: Math.round(p.atMs / 10) * 10 }));
  const track = buildSpeechTrack(rounded, Math.ceil(endMs / 100) * 100 + 100, 13);
  return {
    description:
      'espeak-ng (en-us, 150 wpm) conversation with the assistant: timer, questions, barge-in, weather; mic only',
    audio: track.samples,
    truth: { speech: track.truth },
  };
}

function faces(): Parts {
  const fps = 5;
  const shots = [...astronautMotion(20), ...coffeePan(10), ...astronautHandheld(10)];
  return {
    description:
      'skimage astronaut with synthetic pan/zoom/lighting, coffee cup (no face), astronaut again; 640x480 at 5 fps',
    shots,
    fps,
    truth: { faces: faceRanges(shots, 1000 / fps) },
  };
}

/** Gravity as the accelerometer reads it lying flat (z up) and after the fall (on its side, x up). */
const FLAT: Vec3 = [0, 0, 1];
const ON_SIDE: Vec3 = [1, 0, 0];

const IMU_SCENARIO: Segment[] = [
  { kind: 'still', ms: 3000, gravity: FLAT },
  { kind: 'walk', ms: 5000, cadenceHz: 2, bounceG: 0.3 },
  { kind: 'fall', freeFallMs: 300, impactMs: 40, peakG: 3.5 },
  { kind: 'still', ms: 2660, gravity: ON_SIDE, label: 'lying' },
  { kind: 'rotate', ms: 1000, axis: 'y', fromDeg: 90, toDeg: 0, truthKind: 'moving' },
  { kind: 'still', ms: 1000, gravity: FLAT },
  { kind: 'shake', ms: 2000, freqHz: 6, ampG: 2 },
  { kind: 'still', ms: 1000, gravity: FLAT },
  { kind: 'rotate', ms: 3000, axis: 'x', fromDeg: 0, toDeg: 60, truthKind: 'tilt' },
  { kind: 'still', ms: 1000, gravity: gravityTiltedAboutX(60), label: 'tilted' },
];

function imu(): Parts {
  const data = generateImu(IMU_SCENARIO);
  return {
    description: 'generated 100 Hz IMU: still, walking, fall, lying, getting up, shaking, tilting 60 degrees',
    imu: data,
    truth: { imu: data.truth },
  };
}

function demo(): Parts {
  const totalMs = 20_000;
  const track = buildSpeechTrack(
    [
      { text: 'turn on the kitchen light', atMs: 2000 },
      { text: 'what time is it', atMs: 14000 },
    ],
    totalMs,
    11,
  );
  // 2 fps keeps the demo small (~1.5 MB of JPEG) while the face pipeline still sees every scene.
  const fps = 2;
  const shots = [...astronautMotion(16), ...coffeePan(10), ...astronautHandheld(14)];
  const data = generateImu([
    { kind: 'still', ms: 5000, gravity: FLAT },
    { kind: 'walk', ms: 5000, cadenceHz: 2, bounceG: 0.3 },
    { kind: 'fall', freeFallMs: 300, impactMs: 40, peakG: 3.5 },
    { kind: 'still', ms: 9660, gravity: ON_SIDE, label: 'lying' },
  ]);
  return {
    description: 'demo: 20 s of camera (astronaut, coffee, astronaut), two spoken commands and a fall',
    audio: track.samples,
    shots,
    fps,
    imu: data,
    truth: { speech: track.truth, faces: faceRanges(shots, 1000 / fps), imu: data.truth },
  };
}

const BUILDERS: Record<string, () => Parts> = { speech, faces, imu, demo, voice };

async function main(): Promise<void> {
  const names = process.argv.slice(2).length > 0 ? process.argv.slice(2) : Object.keys(BUILDERS);
  for (const name of names) {
    const build = BUILDERS[name];
    if (build === undefined)
      throw new Error(`unknown fixture "${name}" (${Object.keys(BUILDERS).join(', ')})`);
    await writeFixture(name, build());
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
