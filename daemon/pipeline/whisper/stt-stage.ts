/**
 * The speech-to-text stage: `inference/vad/<mic>` SpeechEvent `end` (with audio) → Whisper →
 * `inference/stt/<mic>` Transcript. One transcription at a time (one decoder session); segments
 * arriving meanwhile wait in a bounded queue. Overflow policy: drop the oldest pending segment
 * (counted in `dropped`), because a fresh utterance matters more than a stale one.
 */
import type { Envelope } from '../../bus/envelope.js';
import type { SpeechEvent, Transcript } from '../../bus/topics.js';
import type { EventBus, Subscription } from '../../bus/types.js';
import type { Component, ComponentHealth } from '../../component.js';
import { EdgeloomError, isEdgeloomError, toError } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { Clock } from '../../util/clock.js';
import type { TranscribeOptions, WhisperResult } from './whisper.js';

/**
 * Where a segment sits, from its SpeechEvent: for models that answer from more than the audio (the
 * reference transcriber looks the segment's time up in a fixture's truth). Audio models ignore it.
 */
export interface SpeechSegmentContext {
  readonly micId: string;
  /** Segment start (pre-roll included), clock ms. */
  readonly startMs: number;
  /** Segment end, clock ms (from the event, else start + audio length). */
  readonly endMs: number;
  readonly sampleRateHz: number;
}

/** What the stage needs from a model (WhisperModel satisfies it). */
export interface SpeechToTextModel {
  readonly modelId: string;
  transcribe(
    audio: Int16Array,
    options?: TranscribeOptions,
    segment?: SpeechSegmentContext,
  ): Promise<WhisperResult>;
  release(): Promise<void>;
}

export interface SttStageOptions {
  readonly bus: EventBus;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Loads the model at start (a missing model fails start-up with its E_MODEL_* error). */
  readonly createModel: () => Promise<SpeechToTextModel>;
  /** Component name (default `pipeline.stt`). */
  readonly name?: string;
  /** Sample rate the model takes, Hz (default 16 000); segments at other rates are refused and counted. */
  readonly sampleRateHz?: number;
  /** Segments waiting behind the running transcription (default 4). Overflow: drop the oldest. */
  readonly maxPendingSegments?: number;
  /** Passed to every transcription (language, task, maxNewTokens). */
  readonly transcribe?: TranscribeOptions;
}

export interface SttStageStats {
  readonly segments: number;
  readonly transcripts: number;
  /** Pending segments dropped because the queue was full (oldest first). */
  readonly dropped: number;
  /** Segments refused: wrong sample rate or no audio. */
  readonly badSegments: number;
  readonly errors: number;
  readonly pending: number;
}

interface Pending {
  readonly micId: string;
  readonly event: SpeechEvent;
  readonly audio: Int16Array;
}

export class SttStage implements Component {
  readonly name: string;
  private readonly o: SttStageOptions;
  private readonly maxPending: number;
  private readonly queue: Pending[] = [];
  private model: SpeechToTextModel | undefined;
  private sub: Subscription | undefined;
  private worker: Promise<void> | undefined;
  private stopping = false;
  private lastFailed = false;
  private counts = { segments: 0, transcripts: 0, dropped: 0, badSegments: 0, errors: 0 };

  constructor(options: SttStageOptions) {
    this.o = options;
    this.name = options.name ?? 'pipeline.stt';
    this.maxPending = options.maxPendingSegments ?? 4;
    if (!Number.isInteger(this.maxPending) || this.maxPending < 1) {
      throw new EdgeloomError('E_CONFIG', `${this.name}: maxPendingSegments must be an integer >= 1`, {
        where: `${this.name}.maxPendingSegments`,
      });
    }
  }

  async start(signal: AbortSignal): Promise<void> {
    this.stopping = false;
    this.model = await this.o.createModel();
    if (signal.aborted) {
      await this.stop();
      throw new EdgeloomError('E_ABORTED', `${this.name}: start aborted`, { where: this.name });
    }
    // The subscription only enqueues (cheap), so its own queue hardly fills; the bound that
    // matters is maxPendingSegments below.
    this.sub = this.o.bus.subscribe<`inference/vad/${string}`>(
      'inference/vad/+',
      (env) => this.onSpeech(env),
      {
        component: this.name,
        qos: 'realtime',
        queueCapacity: 64,
        overflow: { kind: 'drop-oldest' },
      },
    );
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const sub = this.sub;
    this.sub = undefined;
    await sub?.unsubscribe();
    this.queue.length = 0;
    await this.worker;
    await this.model?.release().catch(() => undefined);
    this.model = undefined;
  }

  idle(): Promise<void> | undefined {
    return this.worker;
  }

  health(): ComponentHealth {
    return this.lastFailed ? { status: 'degraded', reasons: ['transcription failing'] } : { status: 'ok' };
  }

  stats(): SttStageStats {
    return { ...this.counts, pending: this.queue.length };
  }

  private onSpeech(env: Envelope<SpeechEvent>): void {
    const event = env.payload;
    if (event.kind !== 'end' || event.audio === undefined) return; // starts and misfire ends carry no audio
    const micId = env.topic.split('/')[2] ?? '';
    this.counts.segments++;
    if (event.sampleRateHz !== (this.o.sampleRateHz ?? 16_000) || event.audio.length === 0) {
      this.counts.badSegments++;
      this.o.logger.debug(
        { micId, sampleRateHz: event.sampleRateHz, samples: event.audio.length },
        'bad segment',
      );
      return;
    }
    if (this.queue.length >= this.maxPending) {
      this.queue.shift();
      this.counts.dropped++;
    }
    this.queue.push({ micId, event, audio: event.audio });
    this.worker ??= this.drain().finally(() => {
      this.worker = undefined;
    });
  }

  private async drain(): Promise<void> {
    for (let next = this.queue.shift(); next !== undefined && !this.stopping; next = this.queue.shift()) {
      await this.transcribeOne(next);
    }
  }

  private async transcribeOne(p: Pending): Promise<void> {
    const model = this.model;
    if (model === undefined) return;
    let r: WhisperResult;
    try {
      const { startMs, endMs, sampleRateHz } = p.event;
      r = await model.transcribe(p.audio, this.o.transcribe, {
        micId: p.micId,
        startMs,
        endMs: endMs ?? startMs + (p.audio.length * 1000) / sampleRateHz,
        sampleRateHz,
      });
      this.lastFailed = false;
    } catch (err) {
      this.counts.errors++;
      this.lastFailed = true;
      const e = toError(err);
      this.o.logger.warn(
        { micId: p.micId, code: isEdgeloomError(e) ? e.code : undefined, err: e.message },
        'stt failed',
      );
      return;
    }
    const transcript: Transcript = {
      modelId: model.modelId,
      confidence: r.confidence,
      latencyMs: r.inferenceMs,
      inputTsMs: p.event.endMs ?? p.event.inputTsMs,
      text: r.text,
      language: r.language,
      noSpeechProb: r.noSpeechProb,
      avgLogProb: r.avgLogProb,
      durationMs: r.durationMs,
      inferenceMs: r.inferenceMs,
      segmentStartMs: p.event.startMs,
    };
    this.counts.transcripts++;
    await this.o.bus.publish(`inference/stt/${p.micId}`, transcript, {
      source: this.name,
      confidence: r.confidence,
    });
  }
}
