/**
 * The only module in edgeloom that imports onnxruntime-node (transformers.js keeps ONNX Runtime
 * behind one `backends/onnx.js` the same way). Every other module builds tensors with `tensor()`
 * and runs models through `OnnxModel`, which:
 * - creates the session with deliberate options for a small 2-core device,
 * - checks input names at load and every declared output's presence, type and shape on every run
 *   (onnx-checks.ts),
 * - runs one inference at a time per session, with a bounded waiting queue,
 * - keeps latency statistics over a bounded ring of recent runs.
 */
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
// First: ONNX Runtime's telemetry must be off before onnxruntime-node loads (why: the module).
import './ort-telemetry-off.js';
import * as ort from 'onnxruntime-node';
import { EdgeloomError, ErrorCode, toError } from '../errors.js';
import { type Clock, SystemClock } from '../util/clock.js';
import type { LatencyHistogram, LatencyHistograms } from '../util/latency-histogram.js';
import { LatencyWindow } from '../util/latency-window.js';
import { OnnxIoChecks } from './onnx-checks.js';

/** Element types a tensor can carry (onnxruntime-common's `Tensor.Type`). */
export type TensorType = ort.Tensor.Type;
/** A CPU tensor. Other modules use this type instead of importing onnxruntime-node. */
export type Tensor = ort.Tensor;
/** The typed array backing a tensor of element type T (`float32` → Float32Array, `int64` → BigInt64Array...). */
export type TensorDataOf<T extends TensorType> = ort.Tensor.DataTypeMap[T];
/** Inputs of one run, by input name. */
export type Feeds = Readonly<Record<string, Tensor>>;
/** Outputs of one run, by output name (only the declared outputs are guaranteed present and checked). */
export type Outputs = Readonly<Record<string, Tensor>>;

/** Per-run options of OnnxModel.run. */
export interface RunOptions {
  /**
   * Output names to compute and return (default: every model output). ONNX Runtime copies each
   * returned output into a fresh JS buffer, so asking only for what the caller reads skips copies
   * of large unchanged tensors (Whisper's 18 MB of cross-attention keys/values per decoder step).
   * Only the declared outputs among them are checked; names must be model outputs and unique.
   */
  readonly fetches?: readonly string[];
}

/** Build a CPU tensor. `dims` must multiply to `data.length` (onnxruntime throws otherwise). */
export function tensor<T extends TensorType>(
  type: T,
  data: TensorDataOf<T>,
  dims: readonly number[],
): Tensor {
  return new ort.Tensor(type, data, dims);
}

/** What a model promises to return: checked on every run. */
export interface OutputSpec {
  readonly name: string;
  readonly type: TensorType;
  /** Expected shape; `null` marks a dimension that may take any size (batch, sequence). */
  readonly dims: readonly (number | null)[];
}

export interface OnnxModelOptions {
  /** Stable id for errors, logs and stats, e.g. `silero-vad-v5`. */
  readonly modelId: string;
  /** Outputs every run must produce (name, element type, shape). An empty list checks nothing. */
  readonly outputs: readonly OutputSpec[];
  /** Input names the caller will feed; each must exist in the model (`E_ONNX_INPUT` at load otherwise). */
  readonly inputs?: readonly string[];
  /**
   * Threads for one operator (default 1). One model per core on a 2-core device: more threads
   * per session only make concurrent sessions (VAD + face) steal each other's core.
   */
  readonly intraOpNumThreads?: number;
  /** Graph optimisation at session creation (default 'all'; config `pipeline.onnx.graph_optimization`). */
  readonly graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
  /**
   * Runs allowed to wait behind the running one (default 8). Overflow policy: refuse the newest
   * (`E_ONNX_BUSY`), so a stalled model cannot buffer unbounded inputs; callers count and drop.
   */
  readonly maxQueueDepth?: number;
  /** Recent runs kept for the p50/p99 latency figures (default 256; the oldest is overwritten). */
  readonly latencyWindow?: number;
  /**
   * Keep ONNX Runtime's CPU memory arena (default false). The arena grows by powers of two and
   * never gives memory back; on a 512 MB board with several sessions the per-run malloc of our
   * small fixed-shape models costs less than the memory the arena holds on to.
   */
  readonly enableCpuMemArena?: boolean;
  /**
   * Pre-plan activation memory from the first run's shapes (default true). Our models run with
   * the same input shape every time (512-sample frames, fixed image sizes), which is exactly the
   * case the memory pattern helps; it is bypassed automatically when shapes change.
   */
  readonly enableMemPattern?: boolean;
  /**
   * Let ONNX Runtime keep a pre-packed copy of constant weights in its GEMM kernel's layout
   * (default true). Turning it off frees that second copy (~ the size of the MatMul weights) at
   * the cost of packing on every call, which only large-M products amortise: worth it for
   * Whisper's encoder (1500 rows per product, measured no slower), not for per-token decoders.
   */
  readonly prepackWeights?: boolean;
  /** Clock for latency measurement (default: the system clock). */
  readonly clock?: Clock;
  /**
   * Where every successful run's latency is also counted, under `modelId` (the /metrics
   * histogram). Owned by the caller so the counts outlive an unload and reload of the model.
   */
  readonly latencyHistograms?: LatencyHistograms;
}

/** Latency and load figures for one model, for health and benchmarks. */
export interface OnnxModelStats {
  readonly modelId: string;
  /** Runs completed successfully. */
  readonly runs: number;
  /** Runs that threw (ONNX Runtime errors and failed output checks). */
  readonly failures: number;
  /** Runs refused because the waiting queue was full. */
  readonly rejected: number;
  /** Runs currently waiting behind the running one. */
  readonly queueDepth: number;
  /** Session creation time, ms. */
  readonly loadMs: number;
  /** Over the latency window; 0 before the first run. */
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly meanMs: number;
}

const DEFAULT_MAX_QUEUE_DEPTH = 8;
const DEFAULT_LATENCY_WINDOW = 256;

/** An ONNX model session with checked inputs and outputs, serialised runs and latency stats. */
export class OnnxModel {
  readonly modelId: string;
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];

  private readonly session: ort.InferenceSession;
  private readonly checks: OnnxIoChecks<OutputSpec>;
  private readonly clock: Clock;
  private readonly maxQueueDepth: number;
  private readonly runLatency: LatencyWindow;
  private readonly histogram: LatencyHistogram | undefined;
  private readonly loadMs: number;
  private tail: Promise<unknown> = Promise.resolve();
  /** Runs queued or running (at most maxQueueDepth + 1). */
  private pending = 0;
  private released = false;
  private runsOk = 0;
  private runsFailed = 0;
  private runsRejected = 0;

  private constructor(
    session: ort.InferenceSession,
    options: OnnxModelOptions,
    clock: Clock,
    loadMs: number,
  ) {
    this.session = session;
    this.modelId = options.modelId;
    this.inputNames = session.inputNames;
    this.outputNames = session.outputNames;
    this.checks = new OnnxIoChecks(options.modelId, session.inputNames, session.outputNames, options.outputs);
    this.clock = clock;
    this.maxQueueDepth = options.maxQueueDepth ?? DEFAULT_MAX_QUEUE_DEPTH;
    this.runLatency = new LatencyWindow(options.latencyWindow ?? DEFAULT_LATENCY_WINDOW);
    this.loadMs = loadMs;
    this.histogram = options.latencyHistograms?.get(options.modelId);
  }

  /**
   * Load a model from a file path or its bytes. A missing file is `E_MODEL_MISSING`, bytes ONNX
   * Runtime cannot parse are `E_MODEL_CORRUPT`, both naming the file; declared inputs or outputs
   * the model does not have are `E_ONNX_INPUT` / `E_ONNX_OUTPUT`.
   */
  static async load(source: string | Uint8Array, options: OnnxModelOptions): Promise<OnnxModel> {
    const clock = options.clock ?? new SystemClock();
    const where = typeof source === 'string' ? source : options.modelId;
    if (typeof source === 'string') {
      try {
        const st = await stat(source);
        if (!st.isFile()) throw new Error('not a regular file');
        // Readable by us, checked here so that ONNX Runtime's failure means a corrupt file.
        await access(source, constants.R_OK);
      } catch (err) {
        throw new EdgeloomError(
          ErrorCode.E_MODEL_MISSING,
          `model ${options.modelId}: cannot read ${source}`,
          {
            where,
            cause: err,
          },
        );
      }
    }
    const started = clock.monotonicMs();
    let session: ort.InferenceSession;
    try {
      // A path is handed to ONNX Runtime as it is: it parses the file itself, so no JS copy of the
      // whole model (118 MB for whisper-tiny's decoder) lingers on the heap until the next GC.
      session =
        typeof source === 'string'
          ? await ort.InferenceSession.create(source, sessionOptions(options))
          : await ort.InferenceSession.create(source, sessionOptions(options));
    } catch (err) {
      throw new EdgeloomError(
        ErrorCode.E_MODEL_CORRUPT,
        `model ${options.modelId}: ONNX Runtime cannot load ${where}: ${toError(err).message}`,
        { where, cause: err },
      );
    }
    const model = new OnnxModel(session, options, clock, clock.monotonicMs() - started);
    try {
      model.checks.checkDeclarations(options.inputs ?? []);
    } catch (err) {
      await session.release();
      throw err;
    }
    return model;
  }

  /**
   * Run once. Runs on one session are serialised: a call made while another runs waits its turn
   * (in call order); past `maxQueueDepth` waiting calls it is refused with `E_ONNX_BUSY`.
   * `options.fetches` limits the outputs computed and returned; an unknown or repeated name is
   * `E_ONNX_OUTPUT`.
   */
  run(feeds: Feeds, options: RunOptions = {}): Promise<Outputs> {
    if (this.released) {
      return Promise.reject(
        new EdgeloomError(ErrorCode.E_ONNX_RELEASED, `model ${this.modelId} was released`),
      );
    }
    if (this.pending > this.maxQueueDepth) {
      this.runsRejected++;
      return Promise.reject(
        new EdgeloomError(
          ErrorCode.E_ONNX_BUSY,
          `model ${this.modelId}: ${this.pending - 1} runs already waiting (maxQueueDepth ${this.maxQueueDepth})`,
          { where: this.modelId },
        ),
      );
    }
    let checks = this.checks.outputs;
    if (options.fetches !== undefined) {
      try {
        checks = this.checks.checksFor(options.fetches);
      } catch (err) {
        this.runsFailed++;
        return Promise.reject(err);
      }
    }
    const fetches = options.fetches;
    this.pending++;
    // Idle: run now (no extra promise hop on the hot path); busy: wait behind the tail.
    const result =
      this.pending === 1
        ? this.runNow(feeds, fetches, checks)
        : this.tail.then(() => this.runNow(feeds, fetches, checks));
    // The chain must survive a failed run; the caller still sees the rejection through `result`.
    this.tail = result.catch(() => undefined);
    return result;
  }

  /**
   * One `session.run` with no queue, no checks and no stats: the baseline for benchmarks. The
   * caller must guarantee nothing else runs on this model at the same time.
   */
  runUnchecked(feeds: Feeds, fetches?: readonly string[]): Promise<Outputs> {
    return fetches === undefined ? this.session.run(feeds) : this.session.run(feeds, fetches);
  }

  /**
   * The shape the model declares for an input: numbers for fixed dimensions, strings for symbolic
   * ones (`batch_size`); undefined for an unknown input or one that is not a tensor.
   */
  inputShape(name: string): readonly (number | string)[] | undefined {
    const meta = this.session.inputMetadata.find((m) => m.name === name);
    return meta?.isTensor === true ? meta.shape : undefined;
  }

  /** Run `runs` times (default 1) and discard the results, so first-run allocation is not billed to real input. */
  async warmup(feeds: Feeds, runs = 1): Promise<void> {
    for (let i = 0; i < runs; i++) await this.run(feeds);
  }

  stats(): OnnxModelStats {
    const { p50Ms, p99Ms, meanMs } = this.runLatency.summary();
    return {
      modelId: this.modelId,
      runs: this.runsOk,
      failures: this.runsFailed,
      rejected: this.runsRejected,
      queueDepth: Math.max(0, this.pending - 1),
      loadMs: this.loadMs,
      p50Ms,
      p99Ms,
      meanMs,
    };
  }

  /** Wait for queued runs to finish, then free the session. Idempotent; later runs fail with `E_ONNX_RELEASED`. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await this.tail;
    await this.session.release();
  }

  private async runNow(
    feeds: Feeds,
    fetches: readonly string[] | undefined,
    checks: readonly OutputSpec[],
  ): Promise<Outputs> {
    const started = this.clock.monotonicMs();
    try {
      this.checks.checkFeeds(feeds);
      let out: Outputs;
      try {
        out = await (fetches === undefined ? this.session.run(feeds) : this.session.run(feeds, fetches));
      } catch (err) {
        throw new EdgeloomError(
          ErrorCode.E_ONNX_RUN,
          `model ${this.modelId}: run failed: ${toError(err).message}`,
          {
            where: this.modelId,
            cause: err,
          },
        );
      }
      this.checks.checkOutputs(out, checks);
      const ms = this.clock.monotonicMs() - started;
      this.runLatency.record(ms);
      this.histogram?.observe(ms / 1000);
      this.runsOk++;
      return out;
    } catch (err) {
      this.runsFailed++;
      throw err;
    } finally {
      this.pending--;
    }
  }
}

/**
 * The ONNX Runtime session options edgeloom creates every session with. Exported for benchmarks
 * that run a third-party wrapper on the same settings, to compare code paths and not settings.
 */
export function sessionOptions(options: OnnxModelOptions): ort.InferenceSession.SessionOptions {
  return {
    intraOpNumThreads: options.intraOpNumThreads ?? 1,
    // Sequential execution never uses the inter-op pool; one thread keeps it from being created wide.
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: options.graphOptimizationLevel ?? 'all',
    enableCpuMemArena: options.enableCpuMemArena ?? false,
    enableMemPattern: options.enableMemPattern ?? true,
    // 3 = errors only: ORT's warnings (e.g. unused initialisers) would flood journald at start.
    logSeverityLevel: 3,
    extra: {
      // A spinning intra-op thread busy-waits for work after each op; two sessions on 2 cores
      // would then burn both cores between frames. '0' makes idle threads block instead.
      session: {
        intra_op: { allow_spinning: '0' },
        inter_op: { allow_spinning: '0' },
        // onnxruntime_session_options_config_keys.h kOrtSessionOptionsConfigDisablePrepacking.
        ...(options.prepackWeights === false ? { disable_prepacking: '1' } : {}),
      },
    },
  };
}
