/**
 * The wake-mode components from `agents.voice.wake` (issue #14), for pipeline/build.ts:
 *
 * | mode           | listening gate on STT | wake-word stage | push-to-talk |
 * |----------------|-----------------------|-----------------|--------------|
 * | `always`       | open (no gate)        | —               | —            |
 * | `wake_word`    | windows               | yes             | yes          |
 * | `push_to_talk` | windows               | —               | yes          |
 *
 * `wake_word` whose model files are not on disk (never fetched) does not block: the gate stays
 * open, a warning says so once at start, and the voice agent is asked to require the wake phrase
 * on the transcript instead (`wakePhrase`).
 */
import { existsSync } from 'node:fs';
import { VOICE_LISTEN_MAX_S } from '../../bus/rpc.js';
import type { EventBus } from '../../bus/types.js';
import type { Component } from '../../component.js';
import type { EdgeloomConfig } from '../../config/index.js';
import { componentLogger, type Logger } from '../../log.js';
import type { ModelManager, Releasable } from '../../models/manager.js';
import { findEntry, type Manifest, resolveModelFile } from '../../models/manifest.js';
import { latencyOf } from '../managed-models.js';
import type { OnnxModel, OnnxModelOptions } from '../onnx-session.js';
import type { SpeechGate } from '../stt/stt-stage.js';
import { ListenGate } from './listen-gate.js';
import { OWW_INPUTS, OWW_OUTPUTS, type WakeSession } from './oww-models.js';
import { PushToTalk } from './push-to-talk.js';
import { type LoadedWakeModel, WakeStage } from './wake-stage.js';

export interface WakeBuildOptions {
  readonly config: EdgeloomConfig;
  readonly bus: EventBus;
  readonly logger: Logger;
  readonly models: ModelManager;
  readonly manifest: Manifest;
  readonly modelsDir: string;
  readonly loadSession: (source: string, options: OnnxModelOptions) => Promise<OnnxModel>;
}

/** What the wake modes did, for the stats message and /metrics. */
export interface WakeModeStats {
  readonly mode: 'always' | 'wake_word' | 'push_to_talk';
  /** Speech segments let through to STT by the listening gate. */
  readonly admitted: number;
  /** Segments kept from STT (no listening window open): the transcriptions saved. */
  readonly skipped: number;
  readonly windowsOpened: number;
  /** Wake words detected (mode wake_word with its models). */
  readonly wakeDetections: number;
}

export interface WakeBuild {
  /** Started before the STT stage (the gate) … */
  readonly before: readonly Component[];
  /** … and after it (the producers of windows). */
  readonly after: readonly Component[];
  /** For the STT stage; absent in mode `always` and in the phrase fallback. */
  readonly gate?: SpeechGate;
  /** The phrase the voice agent must require: mode `wake_word` without its model files. */
  readonly wakePhrase?: string;
  /** Absent in mode `always`. */
  readonly stats?: () => WakeModeStats;
}

function statsOf(
  mode: WakeModeStats['mode'],
  gate: ListenGate | undefined,
  stage: WakeStage | undefined,
): () => WakeModeStats {
  return () => {
    const g = gate?.stats();
    return {
      mode,
      admitted: g?.admitted ?? 0,
      skipped: g?.skipped ?? 0,
      windowsOpened: g?.windowsOpened ?? 0,
      wakeDetections: stage?.stats().detections ?? 0,
    };
  };
}

/** Longest push-to-talk window, ms (what the command may ask for). */
const MAX_WINDOW_MS = VOICE_LISTEN_MAX_S * 1000;

/** The files of a manifest entry, absolute, and whether all are on disk. */
function entryFiles(
  manifest: Manifest,
  modelsDir: string,
  id: string,
): { paths: string[]; present: boolean } {
  const paths = findEntry(manifest, id).files.map((f) => resolveModelFile(f.path, modelsDir));
  return { paths, present: paths.every((p) => existsSync(p)) };
}

/** The word as people say it, from the classifier's id: `openwakeword-hey-jarvis` → `hey jarvis`. */
export function wordOf(modelId: string): string {
  return modelId
    .replace(/^openwakeword-/, '')
    .replace(/-v\d+(\.\d+)*$/, '')
    .replace(/[-_]+/g, ' ');
}

export function buildWake(o: WakeBuildOptions): WakeBuild {
  const wake = o.config.agents.voice.wake;
  if (wake.mode === 'always') return { before: [], after: [] };
  const log = componentLogger(o.logger, 'pipeline.wake');
  const windowMs = wake.window_s * 1000;
  const ptt = new PushToTalk({
    bus: o.bus,
    logger: componentLogger(o.logger, 'pipeline.push-to-talk'),
    defaultWindowMs: windowMs,
    maxWindowMs: MAX_WINDOW_MS,
  });
  const gate = (): ListenGate =>
    new ListenGate({
      bus: o.bus,
      logger: componentLogger(o.logger, 'pipeline.listen-gate'),
      mode: 'windows',
    });
  if (wake.mode === 'push_to_talk') {
    const g = gate();
    return { before: [g], after: [ptt], gate: g, stats: statsOf('push_to_talk', g, undefined) };
  }

  const features = entryFiles(o.manifest, o.modelsDir, wake.features_model);
  const word = entryFiles(o.manifest, o.modelsDir, wake.model);
  if (!features.present || !word.present || features.paths.length < 2 || word.paths.length < 1) {
    log.warn(
      { model: wake.model, features: wake.features_model, phrase: wake.phrase },
      `wake word model files missing: falling back to the wake phrase ("${wake.phrase}"), every segment is transcribed; fetch them with \`edgeloom models fetch ${wake.features_model}\` and \`edgeloom models fetch ${wake.model}\``,
    );
    return {
      before: [],
      after: [ptt],
      stats: statsOf('wake_word', undefined, undefined),
      ...(wake.phrase === '' ? {} : { wakePhrase: wake.phrase }),
    };
  }
  const melPath = features.paths.find((p) => p.endsWith('melspectrogram.onnx')) ?? features.paths[0]!;
  const embeddingPath = features.paths.find((p) => p.endsWith('embedding_model.onnx')) ?? features.paths[1]!;
  const threads = o.config.pipeline.onnx.intra_op_threads;
  const load = (path: string, modelId: string, input: string): Promise<OnnxModel> =>
    o.loadSession(path, { modelId, inputs: [input], outputs: OWW_OUTPUTS, intraOpNumThreads: threads });
  type Managed = { mel: OnnxModel; embedding: OnnxModel; classifier: OnnxModel } & Releasable;
  const ref = o.models.register<Managed>(
    `${wake.features_model}+${wake.model}`,
    async () => {
      const loaded: OnnxModel[] = [];
      try {
        const mel = await load(melPath, `${wake.features_model}:mel`, OWW_INPUTS.mel);
        loaded.push(mel);
        const embedding = await load(embeddingPath, `${wake.features_model}:embedding`, OWW_INPUTS.embedding);
        loaded.push(embedding);
        const classifier = await load(word.paths[0]!, wake.model, OWW_INPUTS.classifier);
        loaded.push(classifier);
        return {
          mel,
          embedding,
          classifier,
          release: async () => void (await Promise.all(loaded.map((m) => m.release()))),
          latency: () => loaded.map((m) => latencyOf(m.stats())),
        };
      } catch (err) {
        await Promise.all(loaded.map((m) => m.release().catch(() => undefined)));
        throw err;
      }
    },
    { manifestId: wake.features_model, alsoManifestIds: [wake.model] },
  );
  // Per run through the manager, so an idle unload simply reloads on the next step.
  const session = (pick: (m: Managed) => OnnxModel, modelId: string): WakeSession => ({
    modelId,
    run: (feeds) => ref.use((m) => pick(m).run(feeds)),
  });
  const stage = new WakeStage({
    bus: o.bus,
    logger: log,
    modelId: wake.model,
    word: wordOf(wake.model),
    threshold: wake.threshold,
    windowMs,
    refractoryMs: wake.refractory_ms,
    createModel: async (): Promise<LoadedWakeModel> => ({
      mel: session((m) => m.mel, `${wake.features_model}:mel`),
      embedding: session((m) => m.embedding, `${wake.features_model}:embedding`),
      classifier: session((m) => m.classifier, wake.model),
      release: async () => {},
    }),
    qos: o.config.sensors.mic.qos,
    queueCapacity: o.config.sensors.mic.queue_capacity,
  });
  const g = gate();
  return { before: [g], after: [stage, ptt], gate: g, stats: statsOf('wake_word', g, stage) };
}
