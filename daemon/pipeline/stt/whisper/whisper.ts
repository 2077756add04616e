/**
 * Whisper speech-to-text over ONNX Runtime, without @huggingface/transformers: log-mel features
 * (mel.ts) → encoder → greedy decoding with a KV cache on optimum's merged decoder → byte-level
 * BPE detokenising. Works on any checkpoint exported in the optimum layout (whisper-tiny is the
 * target; the synthetic models from scripts/make-whisper-synthetic.ts share the layout).
 *
 * Merged decoder protocol (optimum `decoder_model_merged.onnx`): the first call feeds the whole
 * prompt with `use_cache_branch = false` and zero-length past tensors; its `present.*` outputs
 * become the next call's `past_key_values.*`, fed with `use_cache_branch = true` and only the new
 * token. Cross-attention keys/values (`*.encoder.*`) depend only on the audio, so the first
 * call's are kept for the whole utterance.
 */
import { join } from 'node:path';
import { EdgeloomError, ErrorCode } from '../../../errors.js';
import { type Clock, SystemClock } from '../../../util/clock.js';
import type { LatencyHistograms } from '../../../util/latency-histogram.js';
import { releaseNow } from '../../../util/release-now.js';
import {
  OnnxModel,
  type OnnxModelOptions,
  type OnnxModelStats,
  type Outputs,
  tensor,
} from '../../onnx-session.js';
import { checkedOutput, DecoderSteps, type DecodeSteps } from './decoder-steps.js';
import {
  checkWindow,
  cropFeatures,
  FULL_WINDOW_S,
  fullWindowFrames,
  windowFrames,
} from './encoder-window.js';
import { type GreedyResult, greedyDecode } from './greedy.js';
import { LogMelExtractor } from './mel.js';
import { checkLayout, expectedFiles, readWhisperSpec, type WhisperSpec } from './model-files.js';

export interface WhisperLoadOptions {
  /** Id used in logs, errors and InferenceMeta.modelId, e.g. `whisper-tiny`. */
  readonly modelId: string;
  /** File suffix of the ONNX pair: '' (fp32, default), '_quantized', '_int8', ... */
  readonly fileSuffix?: string;
  /** Intra-op threads for the encoder (default 1; 2 helps on a 2-core board when nothing else runs, see the benchmark). */
  readonly encoderThreads?: number;
  /** Intra-op threads for the decoder (default 1: its steps are too small to split). */
  readonly decoderThreads?: number;
  /** Graph optimisation of both sessions (default 'all'). */
  readonly graphOptimizationLevel?: OnnxModelOptions['graphOptimizationLevel'];
  /**
   * Keep pre-packed decoder weights (default false). The tied token embedding (51 865 × 384,
   * 80 MB in fp32) is both gathered and multiplied for the logits, so pre-packing keeps a second
   * 80 MB copy; without it each token pays ~3-6 ms to pack on the fly (measured on the bench
   * machine, ~20-25 % of a step). Off by default to keep a full-size model under the memory target.
   */
  readonly prepackDecoderWeights?: boolean;
  /**
   * Seconds of log-mel the encoder sees (default 30, Whisper's own window), grown in whole
   * seconds to cover a longer utterance. Below 30 the encoder must accept a shorter input
   * (checked at load, E_WHISPER_WINDOW otherwise) and accuracy is at risk: see encoder-window.ts.
   */
  readonly encoderWindowS?: number;
  /** Clock for inference timing (default: the system clock). */
  readonly clock?: Clock;
  /** Per-run latency of the encoder and the decoder for /metrics (OnnxModelOptions). */
  readonly latencyHistograms?: LatencyHistograms;
}

export interface TranscribeOptions {
  /** Language code (`en`), or undefined to detect it (default `en`). */
  readonly language?: string | undefined;
  readonly task?: 'transcribe' | 'translate';
  /** Generated tokens at most, `<|endoftext|>` included (default 224, openai/whisper's sample_len). */
  readonly maxNewTokens?: number;
  /** Use the KV cache (default true). false re-runs the whole sequence each step: a cross-check for tests. */
  readonly useCache?: boolean;
  /** Decode past `<|endoftext|>` to force exactly maxNewTokens tokens (benchmarks only). */
  readonly ignoreEndOfText?: boolean;
}

export interface WhisperResult {
  readonly text: string;
  readonly language: string;
  readonly tokens: readonly number[];
  /**
   * 0..1: exp(avgLogProb) · (1 − noSpeechProb). exp(avgLogProb) is the geometric mean of the
   * chosen tokens' probabilities; the second factor discounts segments the model thinks hold no
   * speech, so the router sends doubtful ones to the cloud.
   */
  readonly confidence: number;
  readonly noSpeechProb: number;
  readonly avgLogProb: number;
  /** Audio duration, ms (before padding to 30 s; audio past 30 s is cut and not counted). */
  readonly durationMs: number;
  /** Features + encoder + decoding, ms. */
  readonly inferenceMs: number;
  readonly encoderMs: number;
  /** Log-mel frames the encoder was given (3000 for the 30 s window; fewer with a shorter one). */
  readonly encoderFrames: number;
  readonly decoderSteps: number;
}

const DEFAULT_MAX_NEW_TOKENS = 224;

export class WhisperModel {
  readonly modelId: string;
  readonly spec: WhisperSpec;
  private readonly encoder: OnnxModel;
  private readonly decoder: OnnxModel;
  private readonly mel: LogMelExtractor;
  private readonly clock: Clock;
  /** pipeline.stt.encoder_window_s: 30 feeds every utterance Whisper's full window. */
  private readonly windowS: number;
  private readonly steps: DecoderSteps;

  private constructor(
    modelId: string,
    spec: WhisperSpec,
    encoder: OnnxModel,
    decoder: OnnxModel,
    clock: Clock,
    pastNames: string[],
    windowS: number,
  ) {
    this.modelId = modelId;
    this.windowS = windowS;
    this.spec = spec;
    this.encoder = encoder;
    this.decoder = decoder;
    this.clock = clock;
    this.steps = new DecoderSteps(decoder, spec, pastNames);
    this.mel = new LogMelExtractor(spec.mel, spec.melFilters);
  }

  /**
   * Load from a local folder in the optimum layout. A missing file is E_MODEL_MISSING naming it;
   * unparseable JSON or ONNX is E_MODEL_CORRUPT naming it; ONNX files whose inputs/outputs are
   * not Whisper's are E_MODEL_LAYOUT listing what was expected.
   */
  static async load(dir: string, options: WhisperLoadOptions): Promise<WhisperModel> {
    const suffix = options.fileSuffix ?? '';
    await checkLayout(dir, suffix);
    const spec = await readWhisperSpec(dir);
    const [encFile, decFile] = expectedFiles(suffix).slice(-2) as [string, string];
    const encoder = await OnnxModel.load(join(dir, encFile), {
      modelId: `${options.modelId}/encoder`,
      outputs: [],
      intraOpNumThreads: options.encoderThreads ?? 1,
      ...(options.graphOptimizationLevel === undefined
        ? {}
        : { graphOptimizationLevel: options.graphOptimizationLevel }),
      // Every encoder product has 1500 rows, so packing weights per call costs nothing measurable
      // and the packed copies (~20 MB for tiny) need not stay resident.
      prepackWeights: false,
      ...(options.clock === undefined ? {} : { clock: options.clock }),
      latencyHistograms: options.latencyHistograms,
    });
    let decoder: OnnxModel;
    try {
      decoder = await OnnxModel.load(join(dir, decFile), {
        modelId: `${options.modelId}/decoder`,
        outputs: [],
        intraOpNumThreads: options.decoderThreads ?? 1,
        ...(options.graphOptimizationLevel === undefined
          ? {}
          : { graphOptimizationLevel: options.graphOptimizationLevel }),
        // Each step allocates the same large buffers (18 MB of cross-attention keys/values are
        // concatenated per step in some exports) with a growing self-attention cache, so memory
        // patterns do not apply; without the arena those malloc/free cycles fragment the heap and
        // RSS creeps up over a 224-token decode. The arena keeps one reused set.
        enableCpuMemArena: true,
        prepackWeights: options.prepackDecoderWeights ?? false,
        ...(options.clock === undefined ? {} : { clock: options.clock }),
        latencyHistograms: options.latencyHistograms,
      });
    } catch (err) {
      await encoder.release();
      throw err;
    }
    const pastNames: string[] = [];
    for (let i = 0; i < spec.decoderLayers; i++) {
      for (const part of ['decoder', 'encoder']) {
        for (const kv of ['key', 'value']) pastNames.push(`past_key_values.${i}.${part}.${kv}`);
      }
    }
    const expectIo = (m: OnnxModel, file: string, inputs: string[], outputs: string[]): void => {
      const missing = [
        ...inputs.filter((n) => !m.inputNames.includes(n)).map((n) => `input ${n}`),
        ...outputs.filter((n) => !m.outputNames.includes(n)).map((n) => `output ${n}`),
      ];
      if (missing.length > 0) {
        throw new EdgeloomError(
          ErrorCode.E_MODEL_LAYOUT,
          `whisper model: ${join(dir, file)} lacks ${missing.slice(0, 6).join(', ')}${missing.length > 6 ? ', ...' : ''} ` +
            `(expected inputs ${inputs.join(', ')}; outputs ${outputs.join(', ')})`,
          { where: join(dir, file) },
        );
      }
    };
    const windowS = options.encoderWindowS ?? FULL_WINDOW_S;
    try {
      expectIo(encoder, encFile, ['input_features'], ['last_hidden_state']);
      await checkWindow(encoder, windowS, spec, join(dir, encFile));
      expectIo(
        decoder,
        decFile,
        ['input_ids', 'encoder_hidden_states', 'use_cache_branch', ...pastNames],
        ['logits', ...pastNames.map((n) => n.replace('past_key_values', 'present'))],
      );
    } catch (err) {
      await Promise.all([encoder.release(), decoder.release()]);
      throw err;
    }
    return new WhisperModel(
      options.modelId,
      spec,
      encoder,
      decoder,
      options.clock ?? new SystemClock(),
      pastNames,
      windowS,
    );
  }

  /** Transcribe one segment of mono audio at the model's sample rate (16 kHz); int16 or float in [-1, 1]. */
  async transcribe(
    audio: Int16Array | Float32Array,
    options: TranscribeOptions = {},
  ): Promise<WhisperResult> {
    const started = this.clock.monotonicMs();
    const { spec } = this;
    const full = fullWindowFrames(spec);
    const frames = windowFrames(audio.length, this.windowS, spec);
    const mel = this.mel.compute(audio);
    const features = cropFeatures(mel, spec.mel.nMels, full, frames);
    if (features !== mel) releaseNow(mel);
    let encOut: Outputs;
    try {
      encOut = await this.encoder.run({
        input_features: tensor('float32', features, [1, spec.mel.nMels, frames]),
      });
    } finally {
      releaseNow(features);
    }
    const encoderMs = this.clock.monotonicMs() - started;
    const maxNew = Math.min(options.maxNewTokens ?? DEFAULT_MAX_NEW_TOKENS, spec.maxTargetPositions - 4);
    let steps: DecodeSteps | undefined;
    let result: GreedyResult;
    try {
      const hidden = checkedOutput(
        encOut,
        'last_hidden_state',
        this.encoder.modelId,
        (d) => d.length === 3 && d[1] === frames / 2 && d[2] === spec.dModel,
      );
      steps = options.useCache === false ? this.steps.uncached(hidden) : this.steps.cached(hidden);
      result = await greedyDecode(spec, steps.step, {
        language: 'language' in options ? options.language : 'en',
        task: options.task ?? 'transcribe',
        maxNewTokens: maxNew,
        ...(options.ignoreEndOfText === undefined ? {} : { ignoreEndOfText: options.ignoreEndOfText }),
      });
    } finally {
      // An utterance's tensors (features, encoder output, the KV cache, logits: ~25 MB with
      // whisper-tiny's 30 s window) are freed when it ends rather than when the collector next
      // finds them: counted as external memory until then, they start full collections of the
      // whole heap (util/release-now.ts).
      steps?.dispose();
      for (const t of Object.values(encOut)) releaseNow(t.data as Float32Array);
    }
    const usedSamples = Math.min(audio.length, spec.mel.nSamples);
    const confidence = Math.exp(result.avgLogProb) * (1 - result.noSpeechProb);
    return {
      text: spec.tokenizer.decode(result.tokens).trim(),
      language: result.language,
      tokens: result.tokens,
      confidence: Math.min(1, Math.max(0, confidence)),
      noSpeechProb: result.noSpeechProb,
      avgLogProb: result.avgLogProb,
      durationMs: (usedSamples * 1000) / spec.mel.sampleRateHz,
      inferenceMs: this.clock.monotonicMs() - started,
      encoderMs,
      encoderFrames: frames,
      decoderSteps: result.steps,
    };
  }

  /** Latency and load figures of the encoder and the decoder session. */
  sessionStats(): OnnxModelStats[] {
    return [this.encoder.stats(), this.decoder.stats()];
  }

  /** Free both sessions (after queued runs finish). */
  async release(): Promise<void> {
    await Promise.all([this.encoder.release(), this.decoder.release()]);
  }
}
