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
import { EdgeloomError, ErrorCode, isEdgeloomError, toError } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { Clock } from '../../util/clock.js';
import type { TranscribeOptions, WhisperResult } from './whisper/whisper.js';

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

/**
 * Decides whether a segment is transcribed at all (the listening gate of the wake modes,
 * pipeline/wake/listen-gate.ts). Asked once per segment, when its audio arrives.
 */
export interface SpeechGate {
  /** Whether the segment [startMs, endMs] (clock ms) on `micId` is to be transcribed. */
  admits(micId: string, startMs: number, endMs: number): boolean;
}

export interface SttStageOptions {
  readonly bus: EventBus;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Loads the model at start (a missing model fails start-up with its E_MODEL_* error). */
  /** `signal` aborts a creation still running when the stage's start is aborted. */
  readonly createModel: (signal: AbortSignal) => Promise<SpeechToTextModel>;
  /** Component name (default `pipeline.stt`). */
  readonly name?: string;
  /** Sample rate the model takes, Hz (default 16 000); segments at other rates are refused and counted. */
  readonly sampleRateHz?: number;
  /** Segments waiting behind the running transcriptions (default 4). Overflow: drop the oldest. */
  readonly maxPendingSegments?: number;
  /**
   * Transcriptions run at once (default 1), each on its own model from `createModel` (so memory
   * grows with it). Worth 2 on a 4-core board with several microphones; with more than one,
   * transcripts of overlapping segments may be published out of segment order.
   */
  readonly concurrency?: number;
  /** Passed to every transcription (language, task, maxNewTokens). */
  readonly transcribe?: TranscribeOptions;
  /** Absent: every segment is transcribed (wake mode `always`). */
  readonly gate?: SpeechGate;
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
  /** Segments the gate kept from the model (outside every listening window). */
  readonly skipped: number;
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
  /** Models not transcribing right now (all of them when idle). */
  private readonly free: SpeechToTextModel[] = [];
  private models: SpeechToTextModel[] = [];
  private sub: Subscription | undefined;
  private readonly workers = new Set<Promise<void>>();
  private readonly concurrency: number;
  private stopping = false;
  private lastFailed = false;
  private counts = { segments: 0, transcripts: 0, dropped: 0, badSegments: 0, errors: 0, skipped: 0 };

  constructor(options: SttStageOptions) {
    this.o = options;
    this.name = options.name ?? 'pipeline.stt';
    this.maxPending = options.maxPendingSegments ?? 4;
    this.concurrency = options.concurrency ?? 1;
    for (const [key, value] of [
      ['maxPendingSegments', this.maxPending],
      ['concurrency', this.concurrency],
    ] as const) {
      if (!Number.isInteger(value) || value < 1) {
        throw new EdgeloomError(ErrorCode.E_CONFIG, `${this.name}: ${key} must be an integer >= 1`, {
          where: `${this.name}.${key}`,
        });
      }
    }
  }

  async start(signal: AbortSignal): Promise<void> {
    this.stopping = false;
    const made = await Promise.allSettled(
      Array.from({ length: this.concurrency }, () => this.o.createModel(signal)),
    );
    this.models = made.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
    this.free.push(...this.models);
    const failed = made.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) {
      await this.stop();
      throw failed.reason;
    }
    if (signal.aborted) {
      await this.stop();
      throw new EdgeloomError(ErrorCode.E_ABORTED, `${this.name}: start aborted`, { where: this.name });
    }
    // The subscription only enqueues (cheap), so its own queue hardly fills; the bound that
    // matters is maxPendingSegments below.
    this.sub = this.o.bus.subscribe('inference/vad/+', (env) => this.onSpeech(env), {
      component: this.name,
      qos: 'realtime',
      queueCapacity: 64,
      overflow: { kind: 'drop-oldest' },
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const sub = this.sub;
    this.sub = undefined;
    await sub?.unsubscribe();
    this.queue.length = 0;
    await Promise.all(this.workers);
    await Promise.all(this.models.map((m) => m.release().catch(() => undefined)));
    this.models = [];
    this.free.length = 0;
  }

  idle(): Promise<void> | undefined {
    return this.workers.size === 0 ? undefined : Promise.all(this.workers).then(() => undefined);
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
    const endMs = event.endMs ?? event.startMs + (event.audio.length * 1000) / event.sampleRateHz;
    if (this.o.gate !== undefined && !this.o.gate.admits(micId, event.startMs, endMs)) {
      // Never queued, never transcribed: the saving of the wake modes.
      this.counts.skipped++;
      return;
    }
    if (this.queue.length >= this.maxPending) {
      this.queue.shift();
      this.counts.dropped++;
    }
    this.queue.push({ micId, event, audio: event.audio });
    // One worker per free model, each draining the shared queue with its own model. drain()
    // takes its first segment synchronously, so the loop stops when every segment is claimed.
    while (this.free.length > 0 && this.queue.length > 0) {
      const model = this.free.pop()!;
      const worker: Promise<void> = this.drain(model).finally(() => {
        this.workers.delete(worker);
        this.free.push(model);
      });
      this.workers.add(worker);
    }
  }

  private async drain(model: SpeechToTextModel): Promise<void> {
    for (let next = this.queue.shift(); next !== undefined && !this.stopping; next = this.queue.shift()) {
      await this.transcribeOne(model, next);
    }
  }

  private async transcribeOne(model: SpeechToTextModel, p: Pending): Promise<void> {
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
      segmentId: p.event.segmentId,
    };
    this.counts.transcripts++;
    await this.o.bus.publish(`inference/stt/${p.micId}`, transcript, {
      source: this.name,
      confidence: r.confidence,
    });
  }
}
