/**
 * Small ONNX models with exactly the tensors of openWakeWord's v0.5.1 exports (melspectrogram.onnx,
 * embedding_model.onnx and a `<word>_v0.1.onnx` classifier), whose outputs are known functions of
 * the audio. The real files cannot be downloaded here (no network), so tests run the real framing,
 * sessions and stage on these instead, through real ONNX Runtime sessions. They are NOT a wake-word
 * detector: the "word" they detect is a sustained tone.
 *
 * - melspectrogram: `input` [batch, samples] → `output` [batch, 1, samples/160 − 3, 32], the real
 *   framing (a 640-sample window every 160 samples). Bin k is the power of a Hann-windowed
 *   cosine/sine pair at `binHz(k)` = 125·(k+1) Hz, in dB (10·log10) — a linear-frequency log
 *   spectrogram, where the real model has 32 mel bands.
 * - embedding: `input_1` [N, 76, 32, 1] → `conv2d_19` [N, 1, 1, 96]: values 0..31 are the mean of
 *   each bin over the 76 frames, the other 64 are zero.
 * - classifier: `x.1` [1, 16, 96] → `53` [1, 1]: sigmoid(gain · (c − offset)) where c is the
 *   mean over the 16 steps of (bin `toneBin` − the mean of the other 31 bins). A tone at
 *   `binHz(toneBin)` lasting a second or more makes c large; speech and noise keep it small.
 *
 * Usage: `node dist/scripts/make-oww-test-models.js <out-dir>` writes the three files with the
 * real file names (for trying `agents.voice.wake` by hand with a tone).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { encodeModel, GraphBuilder, int, ints } from '../models/tools/onnx-writer.js';

const WINDOW = 640;
const HOP = 160;
const BINS = 32;
const FRAMES = 76;
const DIM = 96;
const STEPS = 16;

const int64 = (values: readonly number[]): BigInt64Array => BigInt64Array.from(values.map((v) => BigInt(v)));

/** Centre frequency of bin k of the test melspectrogram, Hz. */
export function binHz(k: number): number {
  return 125 * (k + 1);
}

/** Test melspectrogram.onnx; see the file comment. */
export function buildOwwTestMel(): Uint8Array {
  const g = new GraphBuilder('oww-test-melspectrogram');
  g.input('input', 'float32', ['batch', 'samples']);
  g.initializer('channel_axis', int64([1]), [1]);
  g.node('Unsqueeze', ['input', 'channel_axis'], ['signal']);
  // 64 filters: cosines of the 32 bins, then their sines, each Hann-windowed.
  const w = new Float32Array(2 * BINS * WINDOW);
  for (let k = 0; k < BINS; k++) {
    const omega = (2 * Math.PI * binHz(k)) / 16_000;
    for (let n = 0; n < WINDOW; n++) {
      const hann = 0.5 - 0.5 * Math.cos((2 * Math.PI * n) / WINDOW);
      w[k * WINDOW + n] = hann * Math.cos(omega * n);
      w[(BINS + k) * WINDOW + n] = hann * Math.sin(omega * n);
    }
  }
  g.initializer('filters', w, [2 * BINS, 1, WINDOW]);
  g.node('Conv', ['signal', 'filters'], ['proj'], { kernel_shape: [WINDOW], strides: [HOP] });
  g.node('Mul', ['proj', 'proj'], ['sq']);
  g.initializer('pairs', int64([0, 2, BINS, -1]), [4]);
  g.node('Reshape', ['sq', 'pairs'], ['sq_pairs']);
  g.initializer('pair_axis', int64([1]), [1]);
  g.node('ReduceSum', ['sq_pairs', 'pair_axis'], ['power'], { keepdims: int(0) });
  g.initializer('eps', new Float32Array([1]), []);
  g.node('Add', ['power', 'eps'], ['power_eps']);
  g.node('Log', ['power_eps'], ['ln']);
  g.initializer('to_db', new Float32Array([10 / Math.LN10]), []);
  g.node('Mul', ['ln', 'to_db'], ['db']);
  g.node('Transpose', ['db'], ['frames'], { perm: [0, 2, 1] });
  g.initializer('out_shape', int64([0, 1, -1, BINS]), [4]);
  g.node('Reshape', ['frames', 'out_shape'], ['output']);
  g.output('output', 'float32', ['batch', 1, 'frames', BINS]);
  return encodeModel({ graph: g, opset: 17, producer: 'edgeloom-oww-test' });
}

/** Test embedding_model.onnx; see the file comment. */
export function buildOwwTestEmbedding(): Uint8Array {
  const g = new GraphBuilder('oww-test-embedding');
  g.input('input_1', 'float32', ['N', FRAMES, BINS, 1]);
  g.initializer('as_frames', int64([-1, FRAMES, BINS]), [3]);
  g.node('Reshape', ['input_1', 'as_frames'], ['mel']);
  g.node('ReduceMean', ['mel'], ['mean'], { axes: ints([1]), keepdims: int(1) });
  const proj = new Float32Array(BINS * DIM);
  for (let k = 0; k < BINS; k++) proj[k * DIM + k] = 1;
  g.initializer('proj', proj, [BINS, DIM]);
  g.node('MatMul', ['mean', 'proj'], ['emb']);
  g.initializer('out_shape', int64([-1, 1, 1, DIM]), [4]);
  g.node('Reshape', ['emb', 'out_shape'], ['conv2d_19']);
  g.output('conv2d_19', 'float32', ['N', 1, 1, DIM]);
  return encodeModel({ graph: g, opset: 17, producer: 'edgeloom-oww-test' });
}

export interface OwwTestClassifierOptions {
  /** The bin whose tone is "the word" (default 7: 1 kHz). */
  readonly toneBin?: number;
  /** Contrast (scaled mel units) at which the score is 0.5 (default 3). */
  readonly offset?: number;
  /** Slope of the sigmoid (default 2). */
  readonly gain?: number;
  /** Steps in the input (default 16, the real layout; anything else makes a wrong-shaped model). */
  readonly steps?: number;
}

/** Test `<word>_v0.1.onnx`; see the file comment. */
export function buildOwwTestClassifier(o: OwwTestClassifierOptions = {}): Uint8Array {
  const toneBin = o.toneBin ?? 7;
  const steps = o.steps ?? STEPS;
  const g = new GraphBuilder('oww-test-classifier');
  g.input('x.1', 'float32', [1, steps, DIM]);
  const w = new Float32Array(DIM);
  for (let k = 0; k < BINS; k++) w[k] = k === toneBin ? 1 : -1 / (BINS - 1);
  g.initializer('contrast', w, [DIM, 1]);
  g.node('MatMul', ['x.1', 'contrast'], ['c_steps']);
  g.node('ReduceMean', ['c_steps'], ['c'], { axes: ints([1]), keepdims: int(0) });
  g.initializer('offset', new Float32Array([o.offset ?? 3]), []);
  g.initializer('gain', new Float32Array([o.gain ?? 2]), []);
  g.node('Sub', ['c', 'offset'], ['centred']);
  g.node('Mul', ['centred', 'gain'], ['logit']);
  g.node('Sigmoid', ['logit'], ['53']);
  g.output('53', 'float32', [1, 1]);
  return encodeModel({ graph: g, opset: 17, producer: 'edgeloom-oww-test' });
}

/** The three files under the names the manifest gives the real ones. */
export function writeOwwTestModels(dir: string, classifier: OwwTestClassifierOptions = {}): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'melspectrogram.onnx'), buildOwwTestMel());
  writeFileSync(join(dir, 'embedding_model.onnx'), buildOwwTestEmbedding());
  writeFileSync(join(dir, 'hey_jarvis_v0.1.onnx'), buildOwwTestClassifier(classifier));
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const outDir = process.argv[2];
  if (outDir === undefined) {
    console.error('usage: make-oww-test-models.js <out-dir>');
    process.exit(2);
  }
  writeOwwTestModels(outDir);
  console.log(`wrote melspectrogram.onnx, embedding_model.onnx, hey_jarvis_v0.1.onnx to ${outDir}`);
}
