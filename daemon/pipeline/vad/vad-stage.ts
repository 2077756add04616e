/**
 * The VAD stage: `sensor/mic/<id>/frame` (AudioFrame) → Silero VAD → speech segmenter →
 * `inference/vad/<id>` (SpeechEvent start/end). One model and one segmenter per microphone
 * (the model's recurrent state belongs to one stream), one frame at a time per microphone.
 *
 * A segment discarded as a misfire (less than minSpeechMs of speech) after its `start` was
 * published is closed by an `end` without `audio`, with confidence 0: every start gets one end.
 * A segment's `start` and `end` carry the same `segmentId` (`<mic>:<n>`, n counting the stage's
 * segments), which its transcript carries on, so whoever holds the audio can find it again.
 */

import { type Envelope, Priority } from '../../bus/envelope.js';
import type { AudioFrame, SpeechEvent } from '../../bus/topics.js';
import type { EventBus, QosClass, Subscription } from '../../bus/types.js';
import type { Component, ComponentHealth } from '../../component.js';
import { EdgeloomError, ErrorCode, isEdgeloomError, toError } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { Clock } from '../../util/clock.js';
import {
  SILERO_FRAME_SAMPLES,
  SILERO_SAMPLE_RATE_HZ,
  SileroVad,
  type SileroVadOptions,
} from './silero-vad.js';
import { type SegmenterEvent, type SegmenterOptions, SpeechSegmenter } from './speech-segmenter.js';

/** The model contract the stage needs (ricky0123/vad's three methods plus an id). */
export interface VadModel {
  readonly modelId: string;
  process(frame: Int16Array): Promise<number>;
  reset(): void;
  release(): Promise<void>;
}

export interface VadStageOptions {
  readonly bus: EventBus;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Component name (default `pipeline.vad`). */
  readonly name?: string;
  readonly segmenter?: SegmenterOptions;
  /** Options for the default Silero model factory. */
  readonly vad?: SileroVadOptions;
  /** Model factory, one call per microphone (default: SileroVad.load(vad)). */
  readonly createModel?: () => Promise<VadModel>;
  /**
   * Microphones handled at once (default 4). Each holds a model session; frames from further
   * microphones are dropped and counted as `unknownMicDrops`.
   */
  readonly maxMics?: number;
  /**
   * Frames queued per subscription (default 64, about 2 s of audio; sensors.mic.queue_capacity).
   * Overflow policy: the QoS class's — under realtime, drop the oldest frame, so a slow model never
   * stalls the microphone; drops show up as gaps.
   */
  readonly queueCapacity?: number;
  /** The subscription's QoS class (default realtime; sensors.mic.qos). */
  readonly qos?: QosClass;
}

export interface VadStageStats {
  readonly frames: number;
  /** Frames whose seq or tsMs did not follow the previous one (dropped upstream or on the bus). */
  readonly gaps: number;
  /** Frames refused: wrong sample rate or length. */
  readonly badFrames: number;
  readonly inferenceErrors: number;
  readonly unknownMicDrops: number;
  readonly segments: number;
  readonly misfires: number;
  readonly truncated: number;
}

interface MicState {
  readonly model: VadModel;
  readonly segmenter: SpeechSegmenter;
  /** Id of the segment open now (between its start and its end). */
  segmentId: string | undefined;
  lastSeq: number | undefined;
  lastTsMs: number | undefined;
}

export class VadStage implements Component {
  readonly name: string;
  private readonly o: VadStageOptions;
  private readonly mics = new Map<string, MicState>();
  private readonly loading = new Map<string, Promise<MicState>>();
  /** The model loaded at start, handed to the first microphone (so a missing model fails start-up). */
  private spare: VadModel | undefined;
  private sub: Subscription | undefined;
  private lastFrameFailed = false;
  private counts = { frames: 0, gaps: 0, badFrames: 0, inferenceErrors: 0, unknownMicDrops: 0 };
  private ended = { segments: 0, misfires: 0, truncated: 0 };
  /** Segments begun over the stage's life (not reset by stop: ids stay unique within a run). */
  private segmentSeq = 0;
  /** Hear every frame's speech probability (the dashboard's hearing timeline); owners remove them. */
  private readonly probabilityListeners = new Set<(micId: string, tsMs: number, p: number) => void>();

  constructor(options: VadStageOptions) {
    this.o = options;
    this.name = options.name ?? 'pipeline.vad';
    // Validate segmenter options now, not on the first frame.
    new SpeechSegmenter(options.segmenter);
  }

  async start(signal: AbortSignal): Promise<void> {
    this.spare = await this.newModel();
    if (signal.aborted) {
      await this.stop();
      throw new EdgeloomError(ErrorCode.E_ABORTED, `${this.name}: start aborted`, { where: this.name });
    }
    this.sub = this.o.bus.subscribe('sensor/mic/+/frame', (env) => this.onFrame(env), {
      component: this.name,
      qos: this.o.qos ?? 'realtime',
      queueCapacity: this.o.queueCapacity ?? 64,
    });
  }

  async stop(): Promise<void> {
    const sub = this.sub;
    this.sub = undefined;
    await sub?.unsubscribe({ drain: true });
    await Promise.allSettled(this.loading.values());
    for (const [micId, mic] of this.mics) {
      // Close open segments so a consumer holding a `start` sees its `end`.
      for (const e of mic.segmenter.flush()) await this.publish(micId, mic, e, 0, undefined);
      await mic.model.release().catch(() => undefined);
    }
    this.mics.clear();
    await this.spare?.release().catch(() => undefined);
    this.spare = undefined;
  }

  health(): ComponentHealth {
    if (this.lastFrameFailed) return { status: 'degraded', reasons: ['vad inference failing'] };
    return { status: 'ok' };
  }

  stats(): VadStageStats {
    return { ...this.counts, ...this.ended };
  }

  private async onFrame(env: Envelope<AudioFrame>): Promise<void> {
    const micId = env.topic.split('/')[2] ?? '';
    const frame = env.payload;
    if (frame.sampleRateHz !== SILERO_SAMPLE_RATE_HZ || frame.samples.length !== SILERO_FRAME_SAMPLES) {
      this.counts.badFrames++;
      this.o.logger.debug(
        { micId, sampleRateHz: frame.sampleRateHz, samples: frame.samples.length },
        'bad frame',
      );
      return;
    }
    const mic = await this.micState(micId);
    if (mic === undefined) {
      this.counts.unknownMicDrops++;
      return;
    }
    this.counts.frames++;
    this.trackGap(mic, frame);
    const started = this.o.clock.monotonicMs();
    let p: number;
    try {
      p = await mic.model.process(frame.samples);
      this.lastFrameFailed = false;
    } catch (err) {
      this.counts.inferenceErrors++;
      this.lastFrameFailed = true;
      const e = toError(err);
      this.o.logger.warn(
        { micId, code: isEdgeloomError(e) ? e.code : undefined, err: e.message },
        'vad failed',
      );
      return;
    }
    const latencyMs = this.o.clock.monotonicMs() - started;
    for (const listener of this.probabilityListeners) listener(micId, frame.tsMs, p);
    for (const e of mic.segmenter.push(frame.samples, p, frame.tsMs)) {
      await this.publish(micId, mic, e, latencyMs, frame.tsMs);
    }
  }

  /**
   * Call `listener` with each frame's speech probability (0..1), per microphone, on the frame's
   * time. Returns the function that removes it. Not on the bus: 31 events a second per mic that
   * only a page open on the dashboard wants.
   */
  onProbability(listener: (micId: string, tsMs: number, p: number) => void): () => void {
    this.probabilityListeners.add(listener);
    return () => void this.probabilityListeners.delete(listener);
  }

  private trackGap(mic: MicState, frame: AudioFrame): void {
    const frameMs = (SILERO_FRAME_SAMPLES * 1000) / SILERO_SAMPLE_RATE_HZ;
    if (mic.lastSeq !== undefined && mic.lastTsMs !== undefined) {
      const seqGap = frame.seq !== mic.lastSeq + 1;
      const tsGap = Math.abs(frame.tsMs - (mic.lastTsMs + frameMs)) > frameMs / 2;
      // The model and segmenter keep going: Silero's state recovers within a few frames.
      if (seqGap || tsGap) this.counts.gaps++;
    }
    mic.lastSeq = frame.seq;
    mic.lastTsMs = frame.tsMs;
  }

  private async publish(
    micId: string,
    mic: MicState,
    e: SegmenterEvent,
    latencyMs: number,
    inputTsMs: number | undefined,
  ): Promise<void> {
    // A start opens a segment id; its end (or misfire) carries the same one and closes it.
    if (e.kind === 'speech-start' || mic.segmentId === undefined)
      mic.segmentId = `${micId}:${++this.segmentSeq}`;
    const segmentId = mic.segmentId;
    if (e.kind !== 'speech-start') mic.segmentId = undefined;
    const base = {
      modelId: mic.model.modelId,
      latencyMs,
      sampleRateHz: SILERO_SAMPLE_RATE_HZ,
      startMs: e.startMs,
      segmentId,
    };
    let event: SpeechEvent;
    switch (e.kind) {
      case 'speech-start':
        event = { ...base, kind: 'start', confidence: e.probability, inputTsMs: inputTsMs ?? e.onsetMs };
        break;
      case 'speech-end':
        this.ended.segments++;
        if (e.truncated) this.ended.truncated++;
        event = {
          ...base,
          kind: 'end',
          confidence: e.meanProbability,
          inputTsMs: inputTsMs ?? e.endMs,
          endMs: e.endMs,
          audio: e.audio,
          truncated: e.truncated,
        };
        break;
      case 'misfire':
        this.ended.misfires++;
        event = { ...base, kind: 'end', confidence: 0, inputTsMs: inputTsMs ?? e.endMs, endMs: e.endMs };
        break;
    }
    try {
      await this.o.bus.publish(`inference/vad/${micId}`, event, {
        source: this.name,
        confidence: event.confidence,
        // A new utterance interrupts in-flight work (a pending cloud call, a tool) downstream:
        // speech starts jump every queue and abort interruptible handlers.
        priority: event.kind === 'start' ? Priority.critical : Priority.normal,
      });
    } catch (err) {
      // A closed bus during shutdown is expected; anything else is logged, never thrown at the mic.
      if (!isEdgeloomError(err, ErrorCode.E_BUS_CLOSED)) {
        this.o.logger.warn({ micId, err: toError(err).message }, 'publish failed');
      }
    }
  }

  private micState(micId: string): Promise<MicState | undefined> | MicState | undefined {
    const known = this.mics.get(micId);
    if (known !== undefined) return known;
    const pending = this.loading.get(micId);
    if (pending !== undefined) return pending;
    if (this.mics.size + this.loading.size >= (this.o.maxMics ?? 4)) return undefined;
    const load = (async (): Promise<MicState> => {
      const model = this.spare ?? (await this.newModel());
      this.spare = undefined;
      const state: MicState = {
        model,
        segmenter: new SpeechSegmenter(this.o.segmenter),
        segmentId: undefined,
        lastSeq: undefined,
        lastTsMs: undefined,
      };
      this.mics.set(micId, state);
      return state;
    })().finally(() => this.loading.delete(micId));
    this.loading.set(micId, load);
    return load;
  }

  private newModel(): Promise<VadModel> {
    return this.o.createModel ? this.o.createModel() : SileroVad.load(this.o.vad);
  }
}
