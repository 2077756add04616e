/**
 * openWakeWord's framing (oww-framing.ts) and the stream over it (oww-models.ts): mel frames per
 * 1280-sample chunk, 76-frame embedding windows stepping by 8 frames, 16 embeddings before the
 * first score. The melspectrogram is the generated test model (scripts/make-oww-test-models.ts,
 * the real framing: a 640-sample window every 160 samples) in a real ONNX Runtime session.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCode, isEdgeloomError } from '../../daemon/errors.js';
import { type Feeds, OnnxModel, type Outputs, tensor } from '../../daemon/pipeline/onnx-session.js';
import {
  ChunkFramer,
  EmbeddingHistory,
  MelHistory,
  melFrameCount,
  OWW_CHUNK_SAMPLES,
  OWW_MEL_BINS,
  OWW_WINDOW_FRAMES,
  OWW_WINDOW_STEP_FRAMES,
} from '../../daemon/pipeline/wake/oww-framing.js';
import { runMel, type WakeSession, WakeWordStream } from '../../daemon/pipeline/wake/oww-models.js';
import {
  buildOwwTestClassifier,
  buildOwwTestEmbedding,
  buildOwwTestMel,
} from '../../scripts/make-oww-test-models.js';

const tone = (n: number, hz = 1000, amplitude = 8000): Int16Array =>
  Int16Array.from({ length: n }, (_, i) => Math.round(amplitude * Math.sin((2 * Math.PI * hz * i) / 16_000)));

describe('openWakeWord framing', () => {
  it('cuts 512-sample frames into 1280-sample chunks, each with up to 480 samples of context', () => {
    const framer = new ChunkFramer();
    const chunks = [];
    for (let f = 0; f < 10; f++) chunks.push(...framer.push(new Int16Array(512).fill(f), f * 32));
    // 10 × 512 = 5120 samples = 4 chunks; the first has no context, the others 3 hops of it.
    expect(chunks.map((c) => c.input.length)).toEqual([1280, 1760, 1760, 1760]);
    // A chunk ends after 1280·k samples: 80 ms apart on the frames' clock.
    expect(chunks.map((c) => c.endMs)).toEqual([80, 160, 240, 320]);
    // The context is the audio just before the chunk: samples 800..1279 of the stream.
    expect(Array.from(chunks[1]!.input.subarray(0, 480))).toEqual(
      Array.from({ length: 480 }, (_, i) => Math.floor((800 + i) / 512)),
    );
  });

  it('makes 8 mel frames per chunk (5 for the first), as the melspectrogram model does', async () => {
    expect(melFrameCount(OWW_CHUNK_SAMPLES)).toBe(5);
    expect(melFrameCount(OWW_CHUNK_SAMPLES + 480)).toBe(OWW_WINDOW_STEP_FRAMES);
    expect(melFrameCount(16_000)).toBe(97); // openWakeWord: "97 is the number of frames in 1 second"
    const mel = await OnnxModel.load(buildOwwTestMel(), { modelId: 'mel-test', outputs: [] });
    try {
      const framer = new ChunkFramer();
      const counts: number[] = [];
      for (const c of framer.push(tone(4 * OWW_CHUNK_SAMPLES), 0)) {
        counts.push((await runMel(mel, c.input)).length / OWW_MEL_BINS);
      }
      expect(counts).toEqual([5, 8, 8, 8]);
      const out = await mel.run({ input: tensor('float32', new Float32Array(1760), [1, 1760]) });
      expect(Object.values(out)[0]!.dims).toEqual([1, 1, 8, 32]);
    } finally {
      await mel.release();
    }
  });

  it('keeps the last 76 mel frames (starting as ones): each chunk moves the window by 8 frames', () => {
    const h = new MelHistory();
    expect(Array.from(h.window()).every((v) => v === 1)).toBe(true);
    const frames = (first: number, n: number): Float32Array => {
      const out = new Float32Array(n * OWW_MEL_BINS);
      for (let f = 0; f < n; f++) out.fill(first + f, f * OWW_MEL_BINS, (f + 1) * OWW_MEL_BINS);
      return out;
    };
    const rowValues = (w: Float32Array): number[] =>
      Array.from({ length: OWW_WINDOW_FRAMES }, (_, r) => w[r * OWW_MEL_BINS]!);
    h.push(frames(100, 8));
    let w = rowValues(h.window());
    expect(w.slice(0, 68).every((v) => v === 1)).toBe(true);
    expect(w.slice(68)).toEqual([100, 101, 102, 103, 104, 105, 106, 107]);
    for (let k = 1; k <= 10; k++) h.push(frames(100 + 8 * k, 8));
    w = rowValues(h.window());
    // 88 frames pushed (100..187): the window is the last 76, oldest first.
    expect(w).toEqual(Array.from({ length: 76 }, (_, i) => 112 + i));
    expect(() => h.push(new Float32Array(33))).toThrow(RangeError);
  });

  it('scores only once 16 embeddings exist, then once per chunk', async () => {
    const e = new EmbeddingHistory();
    for (let i = 0; i < 15; i++) e.push(new Float32Array(96).fill(i));
    expect(e.full()).toBe(false);
    e.push(new Float32Array(96).fill(15));
    expect(e.full()).toBe(true);
    e.push(new Float32Array(96).fill(16));
    expect(e.steps()[0]).toBe(1);
    expect(e.steps()[15 * 96]).toBe(16);

    const load = (bytes: Uint8Array, id: string) => OnnxModel.load(bytes, { modelId: id, outputs: [] });
    const sessions = {
      mel: await load(buildOwwTestMel(), 'mel'),
      embedding: await load(buildOwwTestEmbedding(), 'embedding'),
      classifier: await load(buildOwwTestClassifier(), 'classifier'),
    };
    try {
      const stream = new WakeWordStream(sessions);
      const scores = [];
      const audio = tone(20 * OWW_CHUNK_SAMPLES);
      for (let i = 0; i + 512 <= audio.length; i += 512)
        scores.push(...(await stream.push(audio.subarray(i, i + 512), (i * 1000) / 16_000)));
      // 10240·2 samples = 20 chunks (80 ms each): scores from the 16th chunk on.
      expect(scores.map((s) => s.endMs)).toEqual([1280, 1360, 1440, 1520, 1600]);
      // A steady 1 kHz tone is the test classifier's "word".
      expect(scores.at(-1)!.score).toBeGreaterThan(0.9);
    } finally {
      await Promise.all(Object.values(sessions).map((s) => s.release()));
    }
  });

  it('refuses a model whose output has the wrong size, naming the model', async () => {
    const wrong: WakeSession = {
      modelId: 'mel-wrong',
      run: async (_feeds: Feeds): Promise<Outputs> => ({
        output: tensor('float32', new Float32Array(7 * 32), [1, 1, 7, 32]),
      }),
    };
    const err = await runMel(wrong, new Float32Array(1760)).catch((e: unknown) => e);
    expect(isEdgeloomError(err, ErrorCode.E_ONNX_OUTPUT)).toBe(true);
    expect((err as Error).message).toMatch(/mel-wrong: expected one float32 output of 256 values/);
  });
});
