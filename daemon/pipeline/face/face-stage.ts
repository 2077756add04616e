import type { Envelope } from '../../bus/envelope.js';
import type { CameraFrame } from '../../bus/topics.js';
import type { EventBus, OverflowPolicy, Subscription } from '../../bus/types.js';
import type { Component, ComponentHealth } from '../../component.js';
import { EdgeloomError, ErrorCode, toError } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { SensorSubscription } from '../../sensors/bus-knobs.js';
import type { FaceAnalyser } from './face-analyser.js';

/** What the stage calls per frame: a FaceAnalyser, or a proxy that loads it through the ModelManager. */
export type FaceFrameAnalyser = Pick<FaceAnalyser, 'process'>;

export interface FaceStageOptions {
  readonly bus: EventBus;
  readonly logger: Logger;
  /**
   * Called at start: loads the models (a missing model fails start-up with its coded error), or
   * returns a managed proxy that loads them on the first frame.
   */
  readonly createAnalyser: () => Promise<{ analyser: FaceFrameAnalyser; release: () => Promise<void> }>;
  /** Frames analysed per second at most per camera (by frame timestamps); 0 = every frame. */
  readonly maxRateHz: number;
  /**
   * The camera-frame subscription (sensors.camera.qos, queue_capacity, sampling: sensors/
   * bus-knobs.ts). Default: realtime, the latest frame of each camera waiting (LATEST_FRAME),
   * at most 2 cameras' frames queued.
   */
  readonly subscription?: SensorSubscription;
  /** Component name (default `pipeline.face`). */
  readonly name?: string;
}

export interface FaceStageStats {
  readonly frames: number;
  readonly analysed: number;
  /** Frames skipped by the rate cap. */
  readonly rateLimited: number;
  /** Undecodable frames or model failures. */
  readonly errors: number;
}

/**
 * The face stage's realtime policy: the latest frame of each camera wins (the bus's `aggregate`,
 * keyed by topic), so while the model is busy a newer frame replaces the one of the same camera
 * that is waiting — the bus counts it as `aggregated` — and one busy camera cannot push another's
 * frame out.
 */
export const LATEST_FRAME: OverflowPolicy = { kind: 'aggregate' };

/**
 * Face + emotion on camera frames. Latest frame wins (LATEST_FRAME, under the default realtime
 * QoS); a rate cap (by frame time, so replays are deterministic) thins the rest. One inference
 * at a time.
 */
export class FaceStage implements Component {
  readonly name: string;
  private sub: Subscription | undefined;
  private loaded: { analyser: FaceFrameAnalyser; release: () => Promise<void> } | undefined;
  private readonly lastAnalysedMs = new Map<string, number>();
  private counts = { frames: 0, analysed: 0, rateLimited: 0, errors: 0 };
  private lastFailed = false;
  /** Current cap; the memory guard lowers it under pressure and restores it after. */
  private maxRateHz: number;

  constructor(private readonly o: FaceStageOptions) {
    this.name = o.name ?? 'pipeline.face';
    this.maxRateHz = o.maxRateHz;
  }

  /** Shed load: analyse at most `fraction` of the configured rate (1 restores it). */
  scaleRate(fraction: number): void {
    const f = Math.min(1, Math.max(0.05, fraction));
    this.maxRateHz = this.o.maxRateHz > 0 ? this.o.maxRateHz * f : 0;
  }

  async start(signal: AbortSignal): Promise<void> {
    this.loaded = await this.o.createAnalyser();
    if (signal.aborted) {
      await this.stop();
      throw new EdgeloomError(ErrorCode.E_ABORTED, `${this.name}: start aborted`, { where: this.name });
    }
    const s = this.o.subscription ?? { qos: 'realtime', queueCapacity: 2, overflow: LATEST_FRAME };
    this.sub = this.o.bus.subscribe('sensor/camera/+/frame', (env) => this.onFrame(env), {
      component: this.name,
      ...s,
    });
  }

  async stop(): Promise<void> {
    const sub = this.sub;
    this.sub = undefined;
    await sub?.unsubscribe({ drain: true });
    await this.loaded?.release().catch(() => undefined);
    this.loaded = undefined;
  }

  health(): ComponentHealth {
    return this.lastFailed ? { status: 'degraded', reasons: ['face inference failing'] } : { status: 'ok' };
  }

  stats(): FaceStageStats {
    return { ...this.counts };
  }

  private async onFrame(env: Envelope<CameraFrame>): Promise<void> {
    const loaded = this.loaded;
    if (loaded === undefined) return;
    this.counts.frames++;
    const cameraId = env.topic.split('/')[2] ?? '';
    const frame = env.payload;
    if (this.maxRateHz > 0) {
      const last = this.lastAnalysedMs.get(cameraId);
      // A little slack (5 %) so frames at exactly the cap's period are not skipped by rounding.
      if (last !== undefined && frame.tsMs - last < (1000 / this.maxRateHz) * 0.95) {
        this.counts.rateLimited++;
        return;
      }
      this.lastAnalysedMs.set(cameraId, frame.tsMs);
    }
    try {
      const result = await loaded.analyser.process(frame, `${this.name}:${cameraId}#${frame.seq}`);
      this.counts.analysed++;
      this.lastFailed = false;
      await this.o.bus.publish(`inference/face/${cameraId}`, result, {
        source: this.name,
        confidence: result.confidence,
        correlationId: env.id,
      });
    } catch (err) {
      this.counts.errors++;
      this.lastFailed = true;
      const e = toError(err);
      this.o.logger.warn(
        { cameraId, seq: frame.seq, code: e instanceof EdgeloomError ? e.code : undefined, err: e.message },
        'face inference failed; frame skipped',
      );
    }
  }
}
