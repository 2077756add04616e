/**
 * The pipeline stages the config enables, with their models resolved through the manifest:
 * VAD on mic frames, face + emotion on camera frames, speech-to-text on speech segments.
 *
 * Every model goes through one ModelManager: stages hold proxies (managed-models.ts) that
 * acquire the model per inference, so models load at start (or lazily, `models.preload: false`),
 * unload when idle (`models.idle_unload_ms`, or the memory guard under pressure) and reload on
 * the next use, and a load that would pass `budget.memory_mb` is refused with a clear error.
 */
import { dirname, isAbsolute, resolve } from 'node:path';
import type { EventBus } from '../bus/types.js';
import type { Component } from '../component.js';
import type { EdgeloomConfig } from '../config/index.js';
import { componentLogger, type Logger } from '../log.js';
import { ModelManager } from '../models/manager.js';
import { findEntry, loadManifest, type Manifest, resolveModelFile } from '../models/manifest.js';
import { sensorSubscription } from '../sensors/bus-knobs.js';
import { type Clock, SystemClock } from '../util/clock.js';
import { LatencyHistograms } from '../util/latency-histogram.js';
import { FaceStage, LATEST_FRAME } from './face/face-stage.js';
import { createFaceAnalyser } from './face/factory.js';
import {
  latencyOf,
  type ManagedFaceAnalyser,
  managedFaceAnalyser,
  managedOnnx,
  managedTranscriber,
  managedVadSession,
  managedWhisper,
} from './managed-models.js';
import { OnnxModel } from './onnx-session.js';
import { createReferenceTranscriber } from './stt/reference-transcriber.js';
import { SttStage } from './stt/stt-stage.js';
import { WhisperModel } from './stt/whisper/whisper.js';
import { SileroVad, sileroSessionOptions } from './vad/silero-vad.js';
import { VadStage } from './vad/vad-stage.js';
import { buildWake, type WakeBuild, type WakeModeStats } from './wake/build-wake.js';

export interface PipelineOptions {
  readonly config: EdgeloomConfig;
  readonly bus: EventBus;
  /**
   * Clock for inference latencies (InferenceMeta.latencyMs). Live and paced replays measure real
   * time; a speed-0 replay passes its virtual clock so the output is identical run to run
   * (latencies then read 0: no virtual time passes during inference).
   */
  readonly clock: Clock;
  readonly logger: Logger;
  /** Relative paths in the config resolve against this directory. */
  readonly baseDir: string;
  /** The fixture being replayed, if any (the reference transcriber answers from its truth). */
  readonly replay?: { readonly fixtureDir: string; readonly loop: boolean };
}

export interface Pipeline {
  /** In start order: the model manager first (it stops after the stages that use it). */
  readonly components: readonly Component[];
  /** Absent when no stage is enabled. */
  readonly models: ModelManager | undefined;
  readonly face: FaceStage | undefined;
  /** The VAD stage, when enabled: its per-frame probabilities feed the hearing view. */
  readonly vad?: VadStage;
  /** Every session run's latency by model id (encoder and decoder apart), for /metrics. */
  readonly modelLatency: LatencyHistograms;
  /**
   * Wake mode `wake_word` without its model files: the phrase the voice agent must find at the
   * start of an utterance instead (agents.voice.wake.phrase).
   */
  readonly wakePhrase?: string;
  /** The wake modes' counters (absent in mode `always`). */
  readonly wakeStats?: () => WakeModeStats;
}

/** Absolute path of a model's file, by manifest id and the file's name (its last path segment). */
export function modelFile(manifest: Manifest, modelsDir: string, id: string, suffix: string): string {
  const entry = findEntry(manifest, id);
  const file = entry.files.find((f) => f.path.endsWith(suffix)) ?? entry.files[0];
  if (file === undefined) throw new Error(`model ${id} lists no files`);
  return resolveModelFile(file.path, modelsDir);
}

/** Manager slot of the n-th instance of a model (1-based): `whisper-tiny`, `whisper-tiny#2`, ... */
function instanceId(modelId: string, n: number): string {
  return n === 1 ? modelId : `${modelId}#${n}`;
}

export function buildPipeline(o: PipelineOptions): Pipeline {
  const { config, bus, clock, logger } = o;
  const abs = (p: string): string => (isAbsolute(p) ? p : resolve(o.baseDir, p));
  const modelsDir = abs(config.models.dir);
  const p = config.pipeline;
  const anyEnabled = p.vad.enabled || p.face.enabled || p.stt.enabled;
  // Bounded by the sessions the config can open (a few per model); past 32, `(other)`.
  const modelLatency = new LatencyHistograms(32);
  if (!anyEnabled) return { components: [], models: undefined, face: undefined, modelLatency };
  const manifest = loadManifest(abs(config.models.manifest));
  const threads = p.onnx.intra_op_threads;
  const graphOptimizationLevel = p.onnx.graph_optimization;
  const loadSession: typeof OnnxModel.load = (source, options) =>
    OnnxModel.load(source, { ...options, graphOptimizationLevel, latencyHistograms: modelLatency });
  const models = new ModelManager({
    // Loading, idling and memory are wall-time matters, even in a replay on a virtual clock.
    clock: new SystemClock(),
    logger: componentLogger(logger, 'models'),
    budgetMb: config.budget.memory_mb,
    manifest,
    modelsDir,
    idleUnloadMs: config.models.idle_unload_ms,
    preload: config.models.preload,
  });
  const out: Component[] = [models];
  let face: FaceStage | undefined;
  let vad: VadStage | undefined;

  if (p.vad.enabled) {
    const modelPath = modelFile(manifest, modelsDir, p.vad.model, '.onnx');
    // One session per microphone (its run queue holds one frame; the state is per stream). The
    // first is registered now so a preload covers it; further microphones register on arrival.
    const vadSlot = (n: number) =>
      models.register(
        instanceId(p.vad.model, n),
        async () =>
          managedOnnx(
            await loadSession(
              modelPath,
              sileroSessionOptions({ modelId: p.vad.model, intraOpNumThreads: threads, clock }),
            ),
          ),
        { manifestId: p.vad.model },
      );
    const first = vadSlot(1);
    let streams = 0;
    vad = new VadStage({
      bus,
      clock,
      logger: componentLogger(logger, 'pipeline.vad'),
      segmenter: {
        positiveSpeechThreshold: p.vad.positive_threshold,
        negativeSpeechThreshold: p.vad.negative_threshold,
        minSpeechMs: p.vad.min_speech_ms,
        redemptionMs: p.vad.redemption_ms,
        preRollMs: p.vad.pre_roll_ms,
        maxSegmentMs: p.vad.max_segment_ms,
      },
      createModel: async () => {
        streams++;
        const ref = streams === 1 ? first : vadSlot(streams);
        return SileroVad.fromSession(managedVadSession(ref, p.vad.model));
      },
      // sensors.mic.qos and queue_capacity: how mic frames reach the VAD (sensors/bus-knobs.ts).
      qos: config.sensors.mic.qos,
      queueCapacity: config.sensors.mic.queue_capacity,
    });
    out.push(vad);
  }

  if (p.face.enabled) {
    // The implementation follows each entry's `format` (face-api, YuNet, FER+; face/factory.ts).
    const detector = {
      entry: findEntry(manifest, p.face.detector_model),
      source: modelFile(manifest, modelsDir, p.face.detector_model, '.onnx'),
    };
    const classifier = {
      entry: findEntry(manifest, p.face.emotion_model),
      source: modelFile(manifest, modelsDir, p.face.emotion_model, '.onnx'),
    };
    const ref = models.register<ManagedFaceAnalyser>(
      `${p.face.detector_model}+${p.face.emotion_model}`,
      async () => {
        const loaded = await createFaceAnalyser(detector, classifier, loadSession, {
          inputSize: p.face.input_size,
          scoreThreshold: p.face.min_score,
          iouThreshold: p.face.iou_threshold,
          intraOpNumThreads: threads,
          clock,
          // Twice the configured camera size each way: a frame declaring more is refused undecoded.
          maxInputPixels: 4 * config.sensors.camera.width * config.sensors.camera.height,
        });
        return {
          analyser: loaded.analyser,
          release: async () => void (await Promise.all(loaded.models.map((m) => m.release()))),
          latency: () => loaded.models.map((m) => latencyOf(m.stats())),
        };
      },
      { manifestId: p.face.detector_model, alsoManifestIds: [p.face.emotion_model] },
    );
    face = new FaceStage({
      bus,
      logger: componentLogger(logger, 'pipeline.face'),
      maxRateHz: p.face.max_rate_hz,
      // sensors.camera.qos, queue_capacity and sampling (sensors/bus-knobs.ts).
      subscription: sensorSubscription(config.sensors.camera, LATEST_FRAME),
      createAnalyser: async () => ({ analyser: managedFaceAnalyser(ref), release: async () => {} }),
    });
    out.push(face);
  }

  // Wake modes (agents.voice.wake): the listening gate on STT, the wake word, push-to-talk.
  const wake: WakeBuild = p.stt.enabled
    ? buildWake({ config, bus, logger, models, manifest, modelsDir, loadSession })
    : { before: [], after: [] };
  out.push(...wake.before);
  const gate = wake.gate === undefined ? {} : { gate: wake.gate };

  if (p.stt.enabled && p.stt.engine === 'reference') {
    // No weights: the fixture's truth answers (a labelled stand-in, see stt/reference-transcriber.ts).
    out.push(
      new SttStage({
        bus,
        clock,
        logger: componentLogger(logger, 'pipeline.stt'),
        createModel: (signal) =>
          createReferenceTranscriber({
            signal,
            fixtureDir: o.replay?.fixtureDir,
            loop: o.replay?.loop ?? false,
            logger: componentLogger(logger, 'pipeline.stt'),
          }),
        transcribe: { language: p.stt.language, maxNewTokens: p.stt.max_tokens },
        ...gate,
      }),
    );
  } else if (p.stt.enabled) {
    const dir = dirname(modelFile(manifest, modelsDir, p.stt.model, 'config.json'));
    const encoder = modelFile(manifest, modelsDir, p.stt.model, '.onnx');
    // The variant the manifest pins: encoder_model_quantized.onnx → '_quantized'.
    const fileSuffix = /encoder_model(.*)\.onnx$/.exec(encoder)?.[1] ?? '';
    // One instance per concurrent transcription (pipeline.stt.concurrency), each its own slot.
    const whisperSlot = (n: number) =>
      models.register(
        instanceId(p.stt.model, n),
        async () =>
          managedWhisper(
            await WhisperModel.load(dir, {
              modelId: p.stt.model,
              clock,
              fileSuffix,
              encoderThreads: p.stt.encoder_threads,
              encoderWindowS: p.stt.encoder_window_s,
              decoderThreads: threads,
              graphOptimizationLevel,
              latencyHistograms: modelLatency,
            }),
          ),
        { manifestId: p.stt.model },
      );
    const slots = Array.from({ length: p.stt.concurrency }, (_, i) => whisperSlot(i + 1));
    let instances = 0;
    out.push(
      new SttStage({
        bus,
        clock,
        logger: componentLogger(logger, 'pipeline.stt'),
        createModel: async () => managedTranscriber(slots[instances++ % slots.length]!, p.stt.model),
        transcribe: { language: p.stt.language, maxNewTokens: p.stt.max_tokens },
        concurrency: p.stt.concurrency,
        ...gate,
      }),
    );
  }
  out.push(...wake.after);
  return {
    components: out,
    models,
    face,
    modelLatency,
    ...(vad === undefined ? {} : { vad }),
    ...(wake.wakePhrase === undefined ? {} : { wakePhrase: wake.wakePhrase }),
    ...(wake.stats === undefined ? {} : { wakeStats: wake.stats }),
  };
}
