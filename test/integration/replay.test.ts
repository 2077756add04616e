import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../daemon/config/index.js';
import { type CliResult, parseLogLines, runCli } from '../helpers/cli-process.js';
import { REPO_ROOT } from '../helpers/tools.js';

/**
 * Deterministic replay (README, "Replay") through the compiled CLI and the whole daemon graph: two
 * speed-0 replays print the same bytes; the MQTT lines follow the contract; logs stay on stderr;
 * the bundled fixtures' ground truth (speech segments, face/no-face frame ranges) shows up in the
 * output; a fixture cut mid-line still replays, with a warning.
 */

const DEVICE_ID = 'replay-test';
const env = { EDGELOOM_DEVICE_ID: DEVICE_ID };
const fixture = (name: string): string => join(REPO_ROOT, 'fixtures', name);
const tmp = mkdtempSync(join(tmpdir(), 'edgeloom-replay-'));

interface MqttLine {
  t_ms: number;
  topic: string;
  payload: Record<string, unknown>;
  qos: 0 | 1;
  retain: boolean;
}

interface BusLine {
  t_ms: number;
  topic: string;
  source: string;
  payload: Record<string, unknown>;
}

const lines = <T>(stdout: string): T[] =>
  stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as T);

/** Byte equality, failing on the first line that differs (a whole-output diff is unreadable). */
function expectSameLines(actual: string, expected: string): void {
  const a = actual.split('\n');
  const e = expected.split('\n');
  for (let i = 0; i < Math.max(a.length, e.length); i++) expect(a[i], `line ${i + 1}`).toBe(e[i]);
  expect(actual).toBe(expected);
}

interface Manifest {
  start_time: string;
  truth: {
    speech?: { start_ms: number; end_ms: number; text: string }[];
    faces?: { start_frame: number; end_frame: number; face: boolean }[];
  };
}
const manifest = (dir: string): Manifest =>
  JSON.parse(readFileSync(join(dir, 'fixture.json'), 'utf8')) as Manifest;

let demo1: CliResult;
let demo2: CliResult;
let bus1: CliResult;
let bus2: CliResult;
let speech: CliResult;
let faces: CliResult;
let truncated: CliResult;
let truncatedDir: string;

beforeAll(async () => {
  // A fixture cut mid-line, as a recorder killed while writing leaves it.
  truncatedDir = join(tmp, 'imu-cut');
  cpSync(fixture('imu'), truncatedDir, { recursive: true });
  const imu = readFileSync(join(truncatedDir, 'imu.jsonl'), 'utf8');
  const cutAt = imu.indexOf('\n', Math.floor(imu.length / 2)) + 20;
  writeFileSync(join(truncatedDir, 'imu.jsonl'), imu.slice(0, cutAt));

  // All replays at once: each spends most of its time loading the daemon.
  [demo1, demo2, bus1, bus2, speech, faces, truncated] = await Promise.all([
    runCli(['replay', fixture('demo'), '--speed', '0', '--emit', 'jsonl'], { env }),
    runCli(['replay', fixture('demo'), '--emit', 'jsonl'], { env }), // --speed 0 is the default
    runCli(['replay', fixture('demo'), '--speed', '0', '--emit-bus', 'inference/#'], { env }),
    runCli(['replay', fixture('demo'), '--speed', '0', '--emit-bus', 'inference/#'], { env }),
    runCli(['replay', fixture('speech'), '--emit', 'jsonl'], { env }),
    runCli(['replay', fixture('faces'), '--emit', 'jsonl'], { env }),
    runCli(['replay', truncatedDir, '--emit-bus', 'sensor/imu/#'], { env }),
  ]);
}, 120_000);

afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('edgeloom replay --speed 0', () => {
  it('prints byte-identical MQTT lines on two runs', () => {
    for (const r of [demo1, demo2]) {
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout.length).toBeGreaterThan(0);
    }
    expectSameLines(demo2.stdout, demo1.stdout);
  });

  it('every stdout line is an MQTT message under edgeloom/<device id>/ with ts in its payload', () => {
    const msgs = lines<MqttLine>(demo1.stdout);
    expect(msgs.length).toBeGreaterThan(10);
    const origin = Date.parse(manifest(fixture('demo')).start_time);
    let last = Number.NEGATIVE_INFINITY;
    for (const m of msgs) {
      expect(Object.keys(m).sort()).toEqual(['payload', 'qos', 'retain', 't_ms', 'topic']);
      expect(m.topic.startsWith(`edgeloom/${DEVICE_ID}/`)).toBe(true);
      expect([0, 1]).toContain(m.qos);
      expect(typeof m.retain).toBe('boolean');
      expect(m.t_ms).toBeGreaterThanOrEqual(0);
      expect(m.t_ms).toBeLessThanOrEqual(20_000 + 3_000); // fixture + the replay's tail
      expect(m.payload.ts).toBe(origin + m.t_ms);
      // Lines come out in time order.
      expect(m.t_ms).toBeGreaterThanOrEqual(last);
      last = m.t_ms;
    }
    const topics = new Set(msgs.map((m) => m.topic.slice(`edgeloom/${DEVICE_ID}/`.length)));
    // The demo has faces and speech: both show up.
    expect(topics).toContain('face/emotion');
    expect(topics).toContain('voice/speech');
  });

  it('logs go to stderr as JSON, never to stdout', () => {
    const logs = parseLogLines(demo1.stderr);
    const msgs = logs.map((l) => l.msg);
    expect(msgs).toContain('replaying fixture');
    expect(msgs).toContain('replay finished');
    expect(parseLogLines(demo1.stdout)).toEqual([]);
    expect(logs.filter((l) => l.level === 'error' || l.level === 'fatal')).toEqual([]);
  });

  it("--emit-bus 'inference/#' prints identical internal events on two runs", () => {
    expect(bus1.code, bus1.stderr).toBe(0);
    expect(bus2.code, bus2.stderr).toBe(0);
    expect(bus1.stdout.length).toBeGreaterThan(0);
    expectSameLines(bus2.stdout, bus1.stdout);
    const events = lines<BusLine>(bus1.stdout);
    for (const e of events) {
      expect(e.topic).toMatch(/^inference\//);
      expect(typeof e.source).toBe('string');
    }
    const kinds = new Set(events.map((e) => e.topic.split('/')[1]));
    expect(kinds).toEqual(new Set(['face', 'vad', 'stt']));
    // Binary data is summarised by size: the speech end carries its audio as a sample count.
    const end = events.find((e) => e.topic.startsWith('inference/vad/') && e.payload.kind === 'end');
    expect(end?.payload.audio).toEqual({ samples: expect.any(Number) });
    // The MQTT view is the contract's projection of the same events: one face/emotion per face inference.
    const faceEvents = events.filter((e) => e.topic.startsWith('inference/face/')).length;
    const faceMsgs = lines<MqttLine>(demo1.stdout).filter((m) => m.topic.endsWith('/face/emotion')).length;
    expect(faceMsgs).toBe(faceEvents);
  });

  it('speech fixture: voice/speech start/end and a transcript per utterance, within ±150 ms of the truth', () => {
    expect(speech.code, speech.stderr).toBe(0);
    const m = manifest(fixture('speech'));
    const origin = Date.parse(m.start_time);
    const truth = m.truth.speech!;
    // A segment's start_ms includes the VAD's pre-roll (audio kept from before the onset, so the
    // first syllable reaches STT); the onset itself is start_ms + pre-roll — clamped to the audio
    // held, which the 1 s of silence before each utterance always covers.
    const preRollMs = loadConfig({ file: join(REPO_ROOT, 'config/default.yaml'), env: {} }).pipeline.vad
      .pre_roll_ms;
    const msgs = lines<MqttLine>(speech.stdout).map((l) => ({
      ...l,
      topic: l.topic.slice(`edgeloom/${DEVICE_ID}/`.length),
    }));
    expect(msgs.length).toBeGreaterThan(0);
    const starts = msgs.filter((l) => l.topic === 'voice/speech' && l.payload.state === 'start');
    const ends = msgs.filter((l) => l.topic === 'voice/speech' && l.payload.state === 'end');
    const transcripts = msgs.filter((l) => l.topic === 'voice/transcript');
    expect(starts).toHaveLength(truth.length);
    expect(ends).toHaveLength(truth.length);
    expect(transcripts).toHaveLength(truth.length);
    truth.forEach((t, i) => {
      const start = starts[i]!;
      const end = ends[i]!;
      const onsetMs = (start.payload.start_ms as number) - origin + preRollMs;
      expect(Math.abs(onsetMs - t.start_ms), `utterance ${i} start`).toBeLessThanOrEqual(150);
      // The start is announced when the onset is detected: at the onset, give or take a frame.
      expect(Math.abs(start.t_ms - onsetMs)).toBeLessThanOrEqual(64);
      expect(end.payload.start_ms).toBe(start.payload.start_ms);
      const endMs = (end.payload.end_ms as number) - origin;
      expect(Math.abs(endMs - t.end_ms), `utterance ${i} end`).toBeLessThanOrEqual(150);
      expect(end.payload.duration_ms).toBe((end.payload.end_ms as number) - (end.payload.start_ms as number));
      // The transcript of that segment follows its end, and covers the same audio.
      const tr = transcripts[i]!;
      expect(tr.t_ms).toBeGreaterThanOrEqual(end.t_ms);
      expect(tr.t_ms).toBeLessThan(starts[i + 1]?.t_ms ?? Number.POSITIVE_INFINITY);
      expect(tr.payload.duration_ms).toBe(end.payload.duration_ms);
      expect(typeof tr.payload.text).toBe('string');
      expect((tr.payload.text as string).length).toBeGreaterThan(0);
    });
  });

  it('faces fixture: happy faces in the frame ranges with a face, none in the no-face range', () => {
    expect(faces.code, faces.stderr).toBe(0);
    const truth = manifest(fixture('faces')).truth.faces!;
    const byFrame = new Map<number, MqttLine>();
    for (const l of lines<MqttLine>(faces.stdout)) {
      if (l.topic === `edgeloom/${DEVICE_ID}/face/emotion`) byFrame.set(l.payload.frame_seq as number, l);
    }
    const frameCount = truth[truth.length - 1]!.end_frame + 1;
    expect(byFrame.size).toBe(frameCount); // every frame inferred at speed 0: nothing dropped
    for (const range of truth) {
      for (let f = range.start_frame; f <= range.end_frame; f++) {
        const p = byFrame.get(f)!.payload;
        const found = p.faces as unknown[];
        if (range.face) {
          expect(found.length, `frame ${f}`).toBeGreaterThanOrEqual(1);
          expect(p.emotion, `frame ${f}`).toBe('happy');
        } else {
          expect(found, `frame ${f}`).toEqual([]);
          expect(p.emotion, `frame ${f}`).toBeNull();
        }
      }
    }
  });

  it('a fixture cut mid-line replays what is whole, warns on stderr and exits 0', () => {
    expect(truncated.code, truncated.stderr).toBe(0);
    const warnings = parseLogLines(truncated.stderr).filter((l) => l.level === 'warn');
    expect(warnings.map((w) => w.msg).join('\n')).toMatch(/imu\.jsonl/);
    const events = lines<BusLine>(truncated.stdout);
    expect(events.length).toBeGreaterThan(0);
    // About half of the 20 s recording survived; the aggregated events stop where the file does.
    const kept = readFileSync(join(truncatedDir, 'imu.jsonl'), 'utf8').split('\n');
    const lastWhole = JSON.parse(kept[kept.length - 2]!) as { t_ms: number };
    const lastEvent = events[events.length - 1]!;
    expect(lastEvent.t_ms).toBeGreaterThan(lastWhole.t_ms - 100);
    expect(lastEvent.t_ms).toBeLessThanOrEqual(lastWhole.t_ms + 100);
    const samples = events.reduce((n, e) => n + (e.payload.sampleCount as number), 0);
    expect(samples).toBe(kept.length - 1); // every whole line, not the cut one
  });
});
