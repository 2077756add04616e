/**
 * The pipeline stages the config enables, with their models resolved through the manifest:
 * VAD on mic frames, face + emotion on camera frames, speech-to-text on speech segments.
 */
import { dirname, isAbsolute, resolve } from 'node:path';
import type { EventBus } from '../bus/types.js';
import type { Component } from '../component.js';
import type { EdgeloomConfig } from '../config/index.js';
import { componentLogger, type Logger } from '../log.js';
import { findEntry, loadManifest, type Manifest, resolveModelFile } from '../models/manifest.js';
import type { Clock } from '../util/clock.js';
import { loadFaceApiStage } from './face.js';
import { FaceBusStage } from './face-bus-stage.js';
import { OnnxModel } from './onnx-session.js';
import { SileroVad } from './vad.js';
import { VadStage } from './vad-stage.js';
import { SttStage } from './whisper/stt-stage.js';
import { WhisperModel } from './whisper/whisper.js';

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
}

/** Absolute path of a model's file, by manifest id and the file's name (its last path segment). */
export function modelFile(manifest: Manifest, modelsDir: string, id: string, suffix: string): string {
  const entry = findEntry(manifest, id);
  const file = entry.files.find((f) => f.path.endsWith(suffix)) ?? entry.files[0];
  if (file === undefined) throw new Error(`model ${id} lists no files`);
  return resolveModelFile(file.path, modelsDir);
}

export function buildPipeline(o: PipelineOptions): Component[] {
  const { config, bus, clock, logger } = o;
  const abs = (p: string): string => (isAbsolute(p) ? p : resolve(o.baseDir, p));
  const modelsDir = abs(config.models.dir);
  const p = config.pipeline;
  const anyEnabled = p.vad.enabled || p.face.enabled || p.stt.enabled;
  if (!anyEnabled) return [];
  const manifest = loadManifest(abs(config.models.manifest));
  const threads = p.onnx.intra_op_threads;
  const out: Component[] = [];

  if (p.vad.enabled) {
    const modelPath = modelFile(manifest, modelsDir, p.vad.model, '.onnx');
    out.push(
      new VadStage({
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
        createModel: () => SileroVad.load({ modelPath, modelId: p.vad.model, intraOpNumThreads: threads }),
        queueCapacity: config.sensors.mic.queue_capacity,
      }),
    );
  }

  if (p.face.enabled) {
    const detectorPath = modelFile(manifest, modelsDir, p.face.detector_model, '.onnx');
    const expressionPath = modelFile(manifest, modelsDir, p.face.emotion_model, '.onnx');
    out.push(
      new FaceBusStage({
        bus,
        logger: componentLogger(logger, 'pipeline.face'),
        maxRateHz: p.face.max_rate_hz,
        createStage: async () => {
          const { stage, models } = await loadFaceApiStage({ detectorPath, expressionPath }, OnnxModel.load, {
            inputSize: p.face.input_size,
            scoreThreshold: p.face.min_score,
            iouThreshold: p.face.iou_threshold,
            intraOpNumThreads: threads,
            clock,
          });
          return { stage, release: async () => void (await Promise.all(models.map((m) => m.release()))) };
        },
      }),
    );
  }

  if (p.stt.enabled) {
    const dir = dirname(modelFile(manifest, modelsDir, p.stt.model, 'config.json'));
    out.push(
      new SttStage({
        bus,
        clock,
        logger: componentLogger(logger, 'pipeline.stt'),
        createModel: () => WhisperModel.load(dir, { modelId: p.stt.model, clock }),
        transcribe: { language: p.stt.language, maxNewTokens: p.stt.max_tokens },
      }),
    );
  }
  return out;
}
