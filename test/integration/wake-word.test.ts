/**
 * Wake mode `wake_word` through the real daemon in-process (edgeloom/testing replay, speed 0):
 * the replayed microphone feeds Silero VAD and the wake-word stage, which runs openWakeWord's
 * three-model pipeline in real ONNX Runtime sessions; the listening gate lets the STT stage (the
 * reference transcriber, which answers from the fixture's truth) transcribe only what is said
 * inside the window the wake word opened.
 *
 * Honest limits: the real openWakeWord files cannot be downloaded here, so the models are
 * generated ones with the real tensor names and shapes (scripts/make-oww-test-models.ts), whose
 * "wake word" is a sustained 1 kHz tone placed in the fixture (test/helpers/wake-fixture.ts). The
 * framing, sessions, thresholds, windows, gate and STT are the production code.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { replay } from '../../daemon/testing/index.js';
import { type WakeFixtureTruth, writeWakeFixture } from '../helpers/wake-fixture.js';
import { WORD_ID, writeWakeModels } from '../helpers/wake-models.js';

const WINDOW_S = 5;

describe('wake word → listening window → STT (replayed fixture, generated openWakeWord models)', () => {
  let dir: string;
  let truth: WakeFixtureTruth;
  let models: { modelsDir: string; manifest: string };
  let noWakeModels: { modelsDir: string; manifest: string };

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'edgeloom-wake-'));
    truth = writeWakeFixture(dir).truth;
    models = writeWakeModels(join(dir, 'with'));
    noWakeModels = writeWakeModels(join(dir, 'without'), { withWakeFiles: false });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const run = (mode: 'always' | 'wake_word', m: { modelsDir: string; manifest: string }) =>
    replay({
      fixture: dir,
      config: {
        models: { dir: m.modelsDir, manifest: m.manifest },
        pipeline: { face: { enabled: false }, stt: { engine: 'reference' } },
        agents: { voice: { wake: { mode, window_s: WINDOW_S, threshold: 0.5, refractory_ms: 2000 } } },
      },
      events: ['inference/vad/+', 'inference/stt/+', 'inference/wake/+', 'action/listen'],
    });

  it('detects the word once, opens a window, and transcribes only the speech inside it', async () => {
    const r = await run('wake_word', models);
    const wakes = r.on('inference/wake/+');
    expect(wakes).toHaveLength(1);
    const wake = wakes[0]!;
    expect(wake.topic).toBe('inference/wake/mic0');
    expect(wake.payload).toMatchObject({ word: 'hey jarvis', modelId: WORD_ID });
    expect(wake.payload.score).toBeGreaterThanOrEqual(0.5);
    // Heard while the tone plays (it needs ~1 s of it to fill enough of the 16 steps).
    expect(wake.tMs).toBeGreaterThan(truth.tone.start_ms);
    expect(wake.tMs).toBeLessThanOrEqual(truth.tone.end_ms + 200);

    const listens = r.on('action/listen').filter((e) => e.payload.reason === 'wake_word');
    expect(listens).toHaveLength(1);
    expect(listens[0]!.payload.untilMs - listens[0]!.tsMs).toBe(WINDOW_S * 1000);

    // Every utterance was segmented by the VAD; only the two after the word reached the model.
    const segments = r.on('inference/vad/+').filter((e) => e.payload.kind === 'end' && e.payload.audio);
    expect(segments.length).toBeGreaterThanOrEqual(truth.speech.length);
    const texts = r.on('inference/stt/+').map((e) => e.payload.text.trim().toLowerCase());
    expect(texts).toEqual([truth.speech[1]!.text, truth.speech[2]!.text]);
    // STT ran only after the wake word.
    for (const t of r.on('inference/stt/+')) expect(t.tMs).toBeGreaterThan(wake.tMs);
  }, 120_000);

  it('in mode always the same recording costs a transcription per segment (the saving shown)', async () => {
    const r = await run('always', models);
    expect(r.on('inference/wake/+')).toHaveLength(0);
    const texts = r.on('inference/stt/+').map((e) => e.payload.text.trim().toLowerCase());
    for (const s of truth.speech) expect(texts).toContain(s.text);
  }, 120_000);

  it('wake_word without the model files falls back: nothing is gated, every segment is transcribed', async () => {
    const r = await run('wake_word', noWakeModels);
    expect(r.on('inference/wake/+')).toHaveLength(0);
    const texts = r.on('inference/stt/+').map((e) => e.payload.text.trim().toLowerCase());
    for (const s of truth.speech) expect(texts).toContain(s.text);
  }, 120_000);
});
