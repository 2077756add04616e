/**
 * openWakeWord's streaming framing, as pure data structures (no models): how 16 kHz PCM becomes
 * mel frames, mel frames become 76-frame windows for the speech embedding, and embeddings become
 * the classifier's 16-step input. Follows `AudioFeatures._streaming_features` and
 * `_streaming_melspectrogram` in openwakeword/utils.py (dscripka/openWakeWord, Apache-2.0):
 *
 * - audio is taken in 80 ms chunks of 1280 samples; each chunk's mel input is the chunk plus the
 *   480 samples (3 hops of 160) before it, so the melspectrogram model (frames = samples/160 − 3)
 *   yields exactly 8 new frames per chunk — one embedding step;
 * - the mel history starts as 76 frames of ones (openWakeWord's `np.ones((76, 32))`) and the
 *   model's output is scaled `x / 10 + 2` before it is kept;
 * - after each chunk the last 76 mel frames are one embedding window (76 × 32, stride 8 frames);
 * - the classifier sees the last 16 embeddings (1.28 s of steps).
 *
 * One difference, on purpose: openWakeWord pre-fills its embedding history with the embeddings of
 * 4 s of random noise and zeroes the first 5 scores; here no score is computed until 16 real
 * embeddings exist (the first 1.28 s of a stream), so a score never depends on random input.
 */

/** openWakeWord's models take 16 kHz mono only. */
export const OWW_SAMPLE_RATE_HZ = 16_000;
/** One step: 80 ms of audio. */
export const OWW_CHUNK_SAMPLES = 1280;
/** Hop of the melspectrogram model, samples (10 ms). */
export const OWW_MEL_HOP_SAMPLES = 160;
/** Audio before a chunk given to the melspectrogram with it (3 hops), samples. */
export const OWW_MEL_CONTEXT_SAMPLES = 3 * OWW_MEL_HOP_SAMPLES;
export const OWW_MEL_BINS = 32;
/** Mel frames per embedding window. */
export const OWW_WINDOW_FRAMES = 76;
/** Mel frames between two embedding windows (= the frames one chunk adds). */
export const OWW_WINDOW_STEP_FRAMES = 8;
export const OWW_EMBEDDING_DIM = 96;
/** Embeddings the classifier sees at once. */
export const OWW_CLASSIFIER_STEPS = 16;

/** Mel frames the melspectrogram model makes from `samples` samples (openWakeWord's `ceil(n/160 − 3)`). */
export function melFrameCount(samples: number): number {
  return Math.max(0, Math.ceil(samples / OWW_MEL_HOP_SAMPLES - 3));
}

/** openWakeWord's transform of the melspectrogram model's output, in place. */
export function scaleMel(values: Float32Array): Float32Array {
  for (let i = 0; i < values.length; i++) values[i] = values[i]! / 10 + 2;
  return values;
}

/** One 80 ms chunk ready for the melspectrogram model. */
export interface MelChunk {
  /** The chunk with up to 480 samples of context before it, as float in int16 range. */
  readonly input: Float32Array;
  /** Time just after the chunk's last sample, ms (on the frames' clock). */
  readonly endMs: number;
}

/**
 * Cuts a stream of frames of any length into 1280-sample chunks with their mel context. Holds at
 * most one partial chunk and 480 samples of context (bounded whatever the frame size).
 */
export class ChunkFramer {
  private readonly pending = new Float32Array(OWW_CHUNK_SAMPLES);
  private pendingCount = 0;
  private context = new Float32Array(0);

  /** Add a frame whose first sample is at `tsMs`; returns the chunks it completes, in order. */
  push(samples: Int16Array, tsMs: number, sampleRateHz = OWW_SAMPLE_RATE_HZ): MelChunk[] {
    const out: MelChunk[] = [];
    for (let i = 0; i < samples.length; ) {
      const take = Math.min(OWW_CHUNK_SAMPLES - this.pendingCount, samples.length - i);
      for (let k = 0; k < take; k++) this.pending[this.pendingCount + k] = samples[i + k]!;
      this.pendingCount += take;
      i += take;
      if (this.pendingCount === OWW_CHUNK_SAMPLES) {
        const input = new Float32Array(this.context.length + OWW_CHUNK_SAMPLES);
        input.set(this.context, 0);
        input.set(this.pending, this.context.length);
        this.context = input.slice(input.length - OWW_MEL_CONTEXT_SAMPLES);
        this.pendingCount = 0;
        out.push({ input, endMs: tsMs + (i * 1000) / sampleRateHz });
      }
    }
    return out;
  }

  reset(): void {
    this.pendingCount = 0;
    this.context = new Float32Array(0);
  }
}

/**
 * The last 76 scaled mel frames (a ring of 76 × 32; older frames are overwritten, which is all
 * the embedding ever reads). Starts as ones, as openWakeWord's buffer does.
 */
export class MelHistory {
  private readonly frames = new Float32Array(OWW_WINDOW_FRAMES * OWW_MEL_BINS).fill(1);
  /** Row of the oldest frame. */
  private head = 0;

  /** Append frames (n × 32 values, oldest first, already scaled). */
  push(values: Float32Array): void {
    if (values.length % OWW_MEL_BINS !== 0) {
      throw new RangeError(`mel frames must be a multiple of ${OWW_MEL_BINS} values (got ${values.length})`);
    }
    for (let f = 0; f < values.length / OWW_MEL_BINS; f++) {
      this.frames.set(values.subarray(f * OWW_MEL_BINS, (f + 1) * OWW_MEL_BINS), this.head * OWW_MEL_BINS);
      this.head = (this.head + 1) % OWW_WINDOW_FRAMES;
    }
  }

  /** The 76 frames oldest first, as the embedding's [1, 76, 32, 1] input data. */
  window(): Float32Array {
    const out = new Float32Array(OWW_WINDOW_FRAMES * OWW_MEL_BINS);
    const split = this.head * OWW_MEL_BINS;
    out.set(this.frames.subarray(split), 0);
    out.set(this.frames.subarray(0, split), this.frames.length - split);
    return out;
  }
}

/** The last 16 embeddings (ring; older ones overwritten) and how many have been seen. */
export class EmbeddingHistory {
  private readonly rows = new Float32Array(OWW_CLASSIFIER_STEPS * OWW_EMBEDDING_DIM);
  private head = 0;
  private seen = 0;

  push(embedding: Float32Array): void {
    if (embedding.length !== OWW_EMBEDDING_DIM) {
      throw new RangeError(`an embedding has ${OWW_EMBEDDING_DIM} values (got ${embedding.length})`);
    }
    this.rows.set(embedding, this.head * OWW_EMBEDDING_DIM);
    this.head = (this.head + 1) % OWW_CLASSIFIER_STEPS;
    this.seen++;
  }

  /** True once 16 embeddings have been pushed: the classifier's input is all real audio. */
  full(): boolean {
    return this.seen >= OWW_CLASSIFIER_STEPS;
  }

  /** The 16 embeddings oldest first, as the classifier's [1, 16, 96] input data. */
  steps(): Float32Array {
    const out = new Float32Array(this.rows.length);
    const split = this.head * OWW_EMBEDDING_DIM;
    out.set(this.rows.subarray(split), 0);
    out.set(this.rows.subarray(0, split), this.rows.length - split);
    return out;
  }

  reset(): void {
    this.head = 0;
    this.seen = 0;
    this.rows.fill(0);
  }
}
