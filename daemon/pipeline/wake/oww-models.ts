/**
 * openWakeWord's three ONNX models behind one small contract, and the per-microphone stream that
 * drives them with openWakeWord's framing (oww-framing.ts):
 *
 * | model                  | input                         | output                       |
 * |------------------------|-------------------------------|------------------------------|
 * | melspectrogram.onnx    | `input` float32 [1, samples]  | [1, 1, samples/160 − 3, 32]  |
 * | embedding_model.onnx   | `input_1` float32 [1,76,32,1] | `conv2d_19` [1, 1, 1, 96]    |
 * | <word>_v0.1.onnx       | `x.1` float32 [1, 16, 96]     | `53` [1, 1], the score 0..1  |
 *
 * Each model has one output; as openWakeWord (`run(None, …)[0]`), the stream reads that one
 * output whatever its name, and checks its type and size itself (E_ONNX_OUTPUT naming the model):
 * the melspectrogram's output name is not documented, and names differ between exports.
 *
 * The sessions are stateless, so one set serves every microphone; the state (mel and embedding
 * history) lives in each microphone's WakeWordStream.
 */
import { EdgeloomError, ErrorCode } from '../../errors.js';
import { type Feeds, type OutputSpec, type Outputs, type Tensor, tensor } from '../onnx-session.js';
import {
  ChunkFramer,
  EmbeddingHistory,
  MelHistory,
  melFrameCount,
  OWW_CLASSIFIER_STEPS,
  OWW_EMBEDDING_DIM,
  OWW_MEL_BINS,
  OWW_WINDOW_FRAMES,
  scaleMel,
} from './oww-framing.js';

/** What a stream needs from one model session (OnnxModel satisfies it). */
export interface WakeSession {
  readonly modelId: string;
  run(feeds: Feeds): Promise<Outputs>;
}

/** The three sessions of one wake word (the first two are shared by every openWakeWord word). */
export interface WakeSessions {
  readonly mel: WakeSession;
  readonly embedding: WakeSession;
  readonly classifier: WakeSession;
}

/** Input names the real exports use (checked at load: E_ONNX_INPUT). */
export const OWW_INPUTS = { mel: 'input', embedding: 'input_1', classifier: 'x.1' } as const;

/**
 * Output declarations for OnnxModel.load: none, because the stream checks the single output
 * itself (see the file comment); the names below are those of the v0.5.1 exports, which the
 * generated test models use.
 */
export const OWW_OUTPUTS: readonly OutputSpec[] = [];
export const OWW_OUTPUT_NAMES = { embedding: 'conv2d_19', classifier: '53' } as const;

/** A score for one 80 ms step. */
export interface WakeScore {
  /** 0..1, the classifier's output. */
  readonly score: number;
  /** Time just after the step's last sample, ms. */
  readonly endMs: number;
}

function onlyOutput(outputs: Outputs, modelId: string, values: number): Tensor {
  const all = Object.values(outputs);
  const t = all[0];
  if (all.length !== 1 || t === undefined || t.type !== 'float32' || t.data.length !== values) {
    const got = t === undefined ? 'no output' : `${all.length} output(s), ${t.type} [${t.dims.join(', ')}]`;
    throw new EdgeloomError(
      ErrorCode.E_ONNX_OUTPUT,
      `${modelId}: expected one float32 output of ${values} values, got ${got}`,
      { where: modelId },
    );
  }
  return t;
}

/** melspectrogram.onnx on one chunk (with its context) → scaled frames, n × 32 values. */
export async function runMel(session: WakeSession, input: Float32Array): Promise<Float32Array> {
  const frames = melFrameCount(input.length);
  const out = await session.run({ [OWW_INPUTS.mel]: tensor('float32', input, [1, input.length]) });
  const t = onlyOutput(out, session.modelId, frames * OWW_MEL_BINS);
  return scaleMel(Float32Array.from(t.data as Float32Array));
}

/** embedding_model.onnx on one 76-frame window → 96 values. */
export async function runEmbedding(session: WakeSession, window: Float32Array): Promise<Float32Array> {
  const out = await session.run({
    [OWW_INPUTS.embedding]: tensor('float32', window, [1, OWW_WINDOW_FRAMES, OWW_MEL_BINS, 1]),
  });
  return Float32Array.from(onlyOutput(out, session.modelId, OWW_EMBEDDING_DIM).data as Float32Array);
}

/** The word's classifier on the last 16 embeddings → its score. */
export async function runClassifier(session: WakeSession, steps: Float32Array): Promise<number> {
  const out = await session.run({
    [OWW_INPUTS.classifier]: tensor('float32', steps, [1, OWW_CLASSIFIER_STEPS, OWW_EMBEDDING_DIM]),
  });
  return (onlyOutput(out, session.modelId, 1).data as Float32Array)[0]!;
}

/** One microphone's wake-word state: frames in, one score per completed 80 ms step out. */
export class WakeWordStream {
  private readonly framer = new ChunkFramer();
  private readonly mel = new MelHistory();
  private readonly embeddings = new EmbeddingHistory();

  constructor(private readonly sessions: WakeSessions) {}

  /**
   * Feed a frame (first sample at `tsMs`). Steps before the 16th embedding produce no score (see
   * oww-framing.ts); every later step produces one.
   */
  async push(samples: Int16Array, tsMs: number): Promise<WakeScore[]> {
    const scores: WakeScore[] = [];
    for (const chunk of this.framer.push(samples, tsMs)) {
      this.mel.push(await runMel(this.sessions.mel, chunk.input));
      this.embeddings.push(await runEmbedding(this.sessions.embedding, this.mel.window()));
      if (!this.embeddings.full()) continue;
      const score = await runClassifier(this.sessions.classifier, this.embeddings.steps());
      scores.push({ score, endMs: chunk.endMs });
    }
    return scores;
  }

  /** Forget the audio heard so far (after a gap in the stream). */
  reset(): void {
    this.framer.reset();
    this.embeddings.reset();
  }
}
