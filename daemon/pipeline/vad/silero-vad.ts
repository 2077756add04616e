/**
 * Silero VAD v5 behind ricky0123/vad's three-method contract: `process(frame)` → speech
 * probability, `reset()`, `release()`.
 *
 * The model (inputs checked at load, outputs on every run by OnnxModel):
 * - `input` float32 [1, 64 + 512]: the last 64 samples of the previous frame, then 512 new
 *   samples at 16 kHz. The context lets an onset straddling a frame boundary be seen whole; it is
 *   what silero-vad's own `OnnxWrapper.__call__` (utils_vad.py) and @ricky0123/vad-web's
 *   `models/silero.js` do.
 * - `state` float32 [2, 1, 128]: the recurrent state, carried from `stateN` of the previous run.
 * - `sr` int64 scalar: 16000.
 * - outputs `output` float32 [1, 1] (speech probability) and `stateN` float32 [2, 1, 128].
 */
import { join } from 'node:path';
import { EdgeloomError, ErrorCode } from '../../errors.js';
import type { Clock } from '../../util/clock.js';
import { packageRoot } from '../../util/package-root.js';
import {
  type Feeds,
  OnnxModel,
  type OnnxModelStats,
  type OutputSpec,
  type Tensor,
  tensor,
} from '../onnx-session.js';

/** New samples per model call: 32 ms at 16 kHz (Silero v5 accepts only 512 at 16 kHz). */
export const SILERO_FRAME_SAMPLES = 512;
/** Tail of the previous frame prepended to each call. */
export const SILERO_CONTEXT_SAMPLES = 64;
export const SILERO_SAMPLE_RATE_HZ = 16000;
const STATE_DIMS = [2, 1, 128] as const;
const STATE_SIZE = 2 * 1 * 128;

const OUTPUTS: readonly OutputSpec[] = [
  { name: 'output', type: 'float32', dims: [1, 1] },
  { name: 'stateN', type: 'float32', dims: [...STATE_DIMS] },
];

/**
 * The committed model (models/vad/silero_vad_v5.onnx, MIT, see models/vad/LICENSE), in the package
 * root: the same path from the source tree and from the compiled one (dist/).
 */
export function defaultSileroModelPath(): string {
  return join(packageRoot(), 'models', 'vad', 'silero_vad_v5.onnx');
}

export interface SileroVadOptions {
  /** Model file (default: the committed Silero v5). */
  readonly modelPath?: string;
  /** Id in errors, stats and SpeechEvents (default `silero-vad-v5`). */
  readonly modelId?: string;
  /** Threads per operator (default 1; see OnnxModelOptions). */
  readonly intraOpNumThreads?: number;
  /** Clock for latency figures. */
  readonly clock?: Clock;
}

/**
 * What SileroVad needs of a session: an OnnxModel, or a proxy that acquires one from the
 * ModelManager per run (daemon/pipeline/managed-models.ts), so the budget and idle unload apply.
 * The recurrent state lives here, not in the session: a session reloaded between two frames
 * continues the stream.
 */
export type VadSession = Pick<OnnxModel, 'modelId' | 'run' | 'stats' | 'release'>;

/** Load options of the Silero session (the I/O contract checked on every run). */
export function sileroSessionOptions(options: SileroVadOptions = {}): Parameters<typeof OnnxModel.load>[1] {
  return {
    modelId: options.modelId ?? 'silero-vad-v5',
    inputs: ['input', 'state', 'sr'],
    outputs: OUTPUTS,
    // One frame in flight: the state of frame n+1 depends on frame n.
    maxQueueDepth: 0,
    ...(options.intraOpNumThreads === undefined ? {} : { intraOpNumThreads: options.intraOpNumThreads }),
    ...(options.clock === undefined ? {} : { clock: options.clock }),
  };
}

export class SileroVad {
  readonly modelId: string;
  private readonly model: VadSession;
  /** Reused for every call: runs are sequential (we await each), so one buffer is enough. */
  private readonly input = new Float32Array(SILERO_CONTEXT_SAMPLES + SILERO_FRAME_SAMPLES);
  private readonly inputTensor: Tensor;
  private readonly sr: Tensor;
  private state: Tensor;
  private busy = false;

  private constructor(model: VadSession) {
    this.model = model;
    this.modelId = model.modelId;
    this.inputTensor = tensor('float32', this.input, [1, this.input.length]);
    this.sr = tensor('int64', BigInt64Array.from([BigInt(SILERO_SAMPLE_RATE_HZ)]), []);
    this.state = zeroState();
  }

  static async load(options: SileroVadOptions = {}): Promise<SileroVad> {
    const model = await OnnxModel.load(
      options.modelPath ?? defaultSileroModelPath(),
      sileroSessionOptions(options),
    );
    return new SileroVad(model);
  }

  /** A stream over an existing session (one per microphone: the state is per stream). */
  static fromSession(session: VadSession): SileroVad {
    return new SileroVad(session);
  }

  /**
   * Speech probability (0..1) of one 512-sample frame at 16 kHz. Int16 samples are scaled to
   * [-1, 1). Calls must not overlap (each depends on the previous one's state): an overlapping
   * call is refused with `E_VAD_BUSY`; a frame of another length with `E_VAD_FRAME`.
   */
  async process(frame: Float32Array | Int16Array): Promise<number> {
    if (frame.length !== SILERO_FRAME_SAMPLES) {
      throw new EdgeloomError(
        ErrorCode.E_VAD_FRAME,
        `${this.modelId}: frame has ${frame.length} samples, expected ${SILERO_FRAME_SAMPLES}`,
        { where: this.modelId },
      );
    }
    if (this.busy) {
      throw new EdgeloomError(
        ErrorCode.E_VAD_BUSY,
        `${this.modelId}: process() called while a frame is running`,
        {
          where: this.modelId,
        },
      );
    }
    this.busy = true;
    try {
      // Shift the last 64 new samples of the previous call into the context slot.
      this.input.copyWithin(0, SILERO_FRAME_SAMPLES);
      if (frame instanceof Int16Array) {
        for (let i = 0; i < SILERO_FRAME_SAMPLES; i++)
          this.input[SILERO_CONTEXT_SAMPLES + i] = frame[i]! / 32768;
      } else {
        this.input.set(frame, SILERO_CONTEXT_SAMPLES);
      }
      const feeds: Feeds = { input: this.inputTensor, state: this.state, sr: this.sr };
      const out = await this.model.run(feeds);
      this.state = out.stateN!;
      return (out.output!.data as Float32Array)[0]!;
    } finally {
      this.busy = false;
    }
  }

  /** Forget the recurrent state and the context (a new stream, or after a long gap). */
  reset(): void {
    this.state = zeroState();
    this.input.fill(0);
  }

  stats(): OnnxModelStats {
    return this.model.stats();
  }

  /**
   * The underlying session, for benchmarks that measure the bare session beside this wrapper
   * (undefined when the stream runs over a managed proxy rather than its own OnnxModel).
   */
  get onnxModel(): OnnxModel | undefined {
    return this.model instanceof OnnxModel ? this.model : undefined;
  }

  async release(): Promise<void> {
    await this.model.release();
  }
}

function zeroState(): Tensor {
  return tensor('float32', new Float32Array(STATE_SIZE), [...STATE_DIMS]);
}
