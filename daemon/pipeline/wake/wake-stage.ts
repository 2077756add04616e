/**
 * The wake-word stage (issue #14, wake mode `wake_word`): `sensor/mic/<id>/frame` → openWakeWord
 * (melspectrogram → speech embedding → the word's classifier, one score per 80 ms;
 * oww-models.ts) → above the threshold, `inference/wake/<id>` (WakeDetection) and `action/listen`
 * (`wake_word`, open for `windowMs`), which lets the listening gate pass speech to STT.
 *
 * A detection fires when the score reaches `threshold`, and then not again until the score has
 * fallen below it and `refractoryMs` have passed (openWakeWord's `debounce_time` idea): one
 * utterance of the word scores high for several steps and must open one window, not five.
 *
 * The sessions are shared by every microphone (the models are stateless); each microphone has its
 * own WakeWordStream (its audio history) and is processed one frame at a time.
 */
import type { Envelope } from '../../bus/envelope.js';
import { Priority } from '../../bus/envelope.js';
import type { AudioFrame, WakeDetection } from '../../bus/topics.js';
import type { EventBus, QosClass, Subscription } from '../../bus/types.js';
import type { Component, ComponentHealth } from '../../component.js';
import { EdgeloomError, ErrorCode, isEdgeloomError, toError } from '../../errors.js';
import type { Logger } from '../../log.js';
import { OWW_SAMPLE_RATE_HZ } from './oww-framing.js';
import { type WakeSessions, WakeWordStream } from './oww-models.js';

/** The three sessions of a word, loaded together, released together. */
export interface LoadedWakeModel extends WakeSessions {
  release(): Promise<void>;
}

export interface WakeStageOptions {
  readonly bus: EventBus;
  readonly logger: Logger;
  /** Loads the sessions at start (a missing or wrong model fails start-up with its error). */
  readonly createModel: () => Promise<LoadedWakeModel>;
  /** The manifest id of the word's classifier, published as WakeDetection.modelId. */
  readonly modelId: string;
  /** The word as people say it (`hey jarvis`), published as WakeDetection.word. */
  readonly word: string;
  /** Score (0..1) at which the word counts as said. */
  readonly threshold: number;
  /** How long the listening window a detection opens stays open, ms. */
  readonly windowMs: number;
  /** After a detection, no other one for this long, ms (and not before the score fell below the threshold). */
  readonly refractoryMs: number;
  /** Component name (default `pipeline.wake`). */
  readonly name?: string;
  /** Microphones handled at once (default 4); frames of others are dropped and counted. */
  readonly maxMics?: number;
  /**
   * Frames queued for the stage (default 64, ~2 s). Overflow policy: the QoS class's — realtime
   * drops the oldest frame, so a slow model never stalls the microphone; a gap resets the
   * microphone's history (counted in `gaps`).
   */
  readonly queueCapacity?: number;
  readonly qos?: QosClass;
}

export interface WakeStageStats {
  readonly frames: number;
  /** 80 ms steps scored. */
  readonly steps: number;
  readonly detections: number;
  /** Frames refused: wrong sample rate. */
  readonly badFrames: number;
  /** Discontinuities in a microphone's frames (its history is reset). */
  readonly gaps: number;
  readonly errors: number;
  readonly unknownMicDrops: number;
  /** Highest score seen (0..1), for tuning the threshold. */
  readonly maxScore: number;
}

interface MicState {
  readonly stream: WakeWordStream;
  /** End of the next frame expected, ms (gap detection). */
  nextTsMs: number | undefined;
  /** False from a detection until the score falls below the threshold. */
  armed: boolean;
  lastDetectionMs: number;
}

export class WakeStage implements Component {
  readonly name: string;
  private readonly o: WakeStageOptions;
  private readonly mics = new Map<string, MicState>();
  private model: LoadedWakeModel | undefined;
  private sub: Subscription | undefined;
  private failing = false;
  private counts = {
    frames: 0,
    steps: 0,
    detections: 0,
    badFrames: 0,
    gaps: 0,
    errors: 0,
    unknownMicDrops: 0,
  };
  private maxScore = 0;

  constructor(options: WakeStageOptions) {
    for (const [key, ok] of [
      ['threshold', options.threshold > 0 && options.threshold <= 1],
      ['windowMs', options.windowMs > 0],
      ['refractoryMs', options.refractoryMs >= 0],
    ] as const) {
      if (!ok) {
        throw new EdgeloomError(ErrorCode.E_CONFIG, `pipeline.wake: ${key} out of range`, {
          where: `agents.voice.wake.${key}`,
        });
      }
    }
    this.o = options;
    this.name = options.name ?? 'pipeline.wake';
  }

  async start(signal: AbortSignal): Promise<void> {
    this.model = await this.o.createModel();
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
    this.mics.clear();
    await this.model?.release().catch(() => undefined);
    this.model = undefined;
  }

  health(): ComponentHealth {
    return this.failing ? { status: 'degraded', reasons: ['wake word inference failing'] } : { status: 'ok' };
  }

  stats(): WakeStageStats {
    return { ...this.counts, maxScore: this.maxScore };
  }

  private micState(micId: string): MicState | undefined {
    const known = this.mics.get(micId);
    if (known !== undefined || this.model === undefined) return known;
    if (this.mics.size >= (this.o.maxMics ?? 4)) return undefined;
    const state: MicState = {
      stream: new WakeWordStream(this.model),
      nextTsMs: undefined,
      armed: true,
      lastDetectionMs: Number.NEGATIVE_INFINITY,
    };
    this.mics.set(micId, state);
    return state;
  }

  private async onFrame(env: Envelope<AudioFrame>): Promise<void> {
    const micId = env.topic.split('/')[2] ?? '';
    const frame = env.payload;
    if (frame.sampleRateHz !== OWW_SAMPLE_RATE_HZ) {
      this.counts.badFrames++;
      return;
    }
    const mic = this.micState(micId);
    if (mic === undefined) {
      this.counts.unknownMicDrops++;
      return;
    }
    this.counts.frames++;
    const frameMs = (frame.samples.length * 1000) / OWW_SAMPLE_RATE_HZ;
    // Half a frame of slack: a dropped frame (realtime queue) breaks the audio's continuity, and
    // mel frames across the hole would describe sound that never was.
    if (mic.nextTsMs !== undefined && Math.abs(frame.tsMs - mic.nextTsMs) > frameMs / 2) {
      this.counts.gaps++;
      mic.stream.reset();
    }
    mic.nextTsMs = frame.tsMs + frameMs;
    let scores: Awaited<ReturnType<WakeWordStream['push']>>;
    try {
      scores = await mic.stream.push(frame.samples, frame.tsMs);
      this.failing = false;
    } catch (err) {
      this.counts.errors++;
      this.failing = true;
      mic.stream.reset();
      const e = toError(err);
      this.o.logger.warn(
        { micId, code: isEdgeloomError(e) ? e.code : undefined, err: e.message },
        'wake word failed',
      );
      return;
    }
    for (const s of scores) {
      this.counts.steps++;
      if (s.score > this.maxScore) this.maxScore = s.score;
      if (s.score < this.o.threshold) {
        mic.armed = true;
        continue;
      }
      if (!mic.armed || s.endMs - mic.lastDetectionMs < this.o.refractoryMs) continue;
      mic.armed = false;
      mic.lastDetectionMs = s.endMs;
      this.counts.detections++;
      await this.detected(micId, s.score, s.endMs);
    }
  }

  private async detected(micId: string, score: number, atMs: number): Promise<void> {
    const detection: WakeDetection = { word: this.o.word, score, modelId: this.o.modelId };
    this.o.logger.info({ micId, word: this.o.word, score: Number(score.toFixed(3)) }, 'wake word');
    try {
      // Stamped with the audio's time: the window opens when the word was heard, on the frames'
      // clock, which is the clock the VAD's segment times are on.
      await this.o.bus.publish(`inference/wake/${micId}`, detection, {
        source: this.name,
        confidence: score,
        tsMs: atMs,
      });
      await this.o.bus.publish(
        'action/listen',
        { reason: 'wake_word', untilMs: atMs + this.o.windowMs },
        { source: this.name, tsMs: atMs, priority: Priority.high },
      );
    } catch (err) {
      if (!isEdgeloomError(err, ErrorCode.E_BUS_CLOSED)) {
        this.o.logger.warn({ micId, err: toError(err).message }, 'publish failed');
      }
    }
  }
}
