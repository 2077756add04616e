/**
 * Stage-facing proxies for models that live in the ModelManager. A stage holds a proxy for its
 * whole life; the proxy acquires the real model per inference (`ModelRef.use`), so the manager
 * can load it lazily on the first use, unload it when idle or under memory pressure, and refuse
 * it when the budget is exhausted — and the stage's next inference simply reloads it.
 *
 * `release()` on a proxy is a no-op: the manager owns the model's lifetime and frees it when it
 * stops (a stage stopping must not pull a model from under another stage sharing it).
 */
import type { CameraFrame, FaceInference } from '../bus/topics.js';
import type { ModelLatency, ModelRef, Releasable } from '../models/manager.js';
import type { FaceAnalyser } from './face/face-analyser.js';
import type { FaceFrameAnalyser } from './face/face-stage.js';
import type { OnnxModel, OnnxModelStats } from './onnx-session.js';
import type { SpeechToTextModel } from './stt/stt-stage.js';
import type { WhisperModel } from './stt/whisper/whisper.js';
import type { VadSession } from './vad/silero-vad.js';

/** The figures /metrics and the stats message show per session. */
export function latencyOf(s: OnnxModelStats): ModelLatency {
  return { modelId: s.modelId, p50Ms: s.p50Ms, p99Ms: s.p99Ms, runs: s.runs };
}

/** An OnnxModel as the manager holds it: released on unload, reporting its latency. */
export function managedOnnx(model: OnnxModel): OnnxModel & Releasable {
  return Object.assign(model, { latency: () => [latencyOf(model.stats())] });
}

/**
 * A Silero VAD session through the manager. One per microphone: the session's run queue admits
 * one frame in flight, and the recurrent state belongs to one stream anyway.
 */
export function managedVadSession(ref: ModelRef<OnnxModel & Releasable>, modelId: string): VadSession {
  // The session, not its figures: stats() sorts the latency window, which per frame (31 a second)
  // cost more than some of the VAD runs themselves (profiled at real-time speed, issue #16).
  let last: OnnxModel | undefined;
  return {
    modelId,
    run: (feeds, options) =>
      ref.use((m) => {
        last = m;
        return m.run(feeds, options);
      }),
    // The figures of the session last used: a reload after an idle unload starts a new window.
    stats: () => last?.stats() ?? emptyStats(modelId),
    release: async () => {},
  };
}

/** Whisper (encoder + decoder) as one managed unit, as the STT stage sees it. */
export interface ManagedWhisper extends Releasable {
  readonly model: WhisperModel;
}

export function managedWhisper(model: WhisperModel): ManagedWhisper {
  return {
    model,
    release: () => model.release(),
    latency: () => model.sessionStats().map(latencyOf),
  };
}

/** The STT stage's model contract over a managed Whisper. */
export function managedTranscriber(ref: ModelRef<ManagedWhisper>, modelId: string): SpeechToTextModel {
  return {
    modelId,
    transcribe: (...args: Parameters<WhisperModel['transcribe']>) =>
      ref.use((w) => w.model.transcribe(...args)),
    release: async () => {},
  };
}

/** A face analyser (detector + classifier sessions) as one managed unit. */
export interface ManagedFaceAnalyser extends Releasable {
  readonly analyser: FaceAnalyser;
}

export function managedFaceAnalyser(ref: ModelRef<ManagedFaceAnalyser>): FaceFrameAnalyser {
  return {
    process: (frame: CameraFrame, where?: string): Promise<FaceInference> =>
      ref.use((f) => f.analyser.process(frame, where)),
  };
}

function emptyStats(modelId: string): OnnxModelStats {
  return {
    modelId,
    runs: 0,
    failures: 0,
    rejected: 0,
    queueDepth: 0,
    loadMs: 0,
    p50Ms: 0,
    p99Ms: 0,
    meanMs: 0,
  };
}
