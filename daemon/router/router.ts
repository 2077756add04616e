/**
 * The router stage on the bus. For every local inference (`inference/stt/+`, `inference/face/+`)
 * it asks the policy where the answer should come from, publishes the `router/decision`, and for
 * `cloud`/`hybrid` routes whose tier lets the raw data leave, sends the segment's audio for a
 * cloud transcription (or the frame's JPEG to a vision model, face-refine.ts) and publishes the
 * refined Transcript / FaceInference (`refines: <local envelope id>`, same correlation id) on the
 * same topic. It never delays the local path: the pipeline has already published the local
 * result, and the router's subscriptions drop their oldest item rather than make a publisher wait.
 *
 * Segment audio comes from `inference/vad/+` `end` events, held in a small bounded cache keyed by
 * microphone and segment start (overflow: the oldest segment is forgotten). Frames come from
 * `sensor/camera/+/frame`, cached the same way (FrameCache) but only while the camera's face
 * topic is `public` and the cloud is enabled: no image is held that could not leave anyway.
 *
 * A transcript envelope tagged `explicit_cloud` marks a user request for the cloud ("ask the
 * cloud"): under the `private` tier it lets derived text leave (see policy.ts).
 */
import type { Envelope } from '../bus/envelope.js';
import type {
  CameraFrame,
  FaceInference,
  PrivacyTier,
  RouteDecision,
  SpeechEvent,
  Transcript,
} from '../bus/topics.js';
import type { EventBus, Subscription } from '../bus/types.js';
import type { Component, ComponentHealth } from '../component.js';
import type { CloudConfig, RouterConfig, SensorsConfig } from '../config/index.js';
import { EdgeloomError } from '../errors.js';
import type { Logger } from '../log.js';
import { openStore, type Store } from '../storage/store.js';
import type { Clock } from '../util/clock.js';
import { AuditLog } from './audit-log.js';
import { CircuitBreaker } from './breaker.js';
import { CloudClient } from './cloud-client.js';
import { faceConfidence, thresholdFor, whisperConfidence } from './confidence.js';
import { CostTracker } from './cost.js';
import { Egress, redactForTier } from './egress.js';
import { FrameCache, refineFaceInCloud } from './face-refine.js';
import { type CloudData, decide, egressAllowed, type PolicyDecision } from './policy.js';
import { type PrivacyScope, PrivacyTiers } from './privacy.js';
import { type RefinementJob, refineTranscriptInCloud, runRefinement } from './refinement.js';
import { RouterTelemetry, type RouterTelemetrySnapshot } from './telemetry.js';

/** Segment audio kept for refinement; overflow forgets the oldest segment. */
export const SEGMENT_CACHE_SIZE = 8;
/** Envelope tag that marks an explicit user request for the cloud. */
export const EXPLICIT_CLOUD_TAG = 'explicit_cloud';

/**
 * What the chat path (cloud-assist.ts, the voice assistant's cloud) shares with the stage: one
 * breaker, one cost cap, one egress with its audit log, the same privacy tiers and telemetry.
 */
export interface RouterChatPath {
  readonly client: CloudClient;
  readonly cost: CostTracker;
  readonly breaker: CircuitBreaker;
  readonly telemetry: RouterTelemetry;
  /** The effective privacy tier of data published on `topic` (run-time changes included). */
  tierFor(topic: string): PrivacyTier;
  /** Aborted when the stage stops: in-flight chat calls end with it. */
  readonly stopSignal: AbortSignal;
}

export interface RouterStageOptions {
  readonly bus: EventBus;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly config: {
    readonly router: RouterConfig;
    readonly cloud: CloudConfig;
    readonly sensors: { readonly [K in keyof SensorsConfig]?: Pick<SensorsConfig[K], 'privacy'> };
  };
  /** The shared LevelDB store (kept open by its owner), or a directory the stage opens and closes itself. */
  readonly storage: Store | string;
  /** The audit log shared with the other recorders (cloud tool calls); default one on the store. */
  readonly audit?: AuditLog;
  /** Component name (default `router`). */
  readonly name?: string;
  /** The device's privacy tiers (owned by PrivacyControl); default: built from the config. */
  readonly privacy?: PrivacyTiers;
  /** Random source for retry jitter (default Math.random). */
  readonly random?: () => number;
}

export class RouterStage implements Component {
  readonly name: string;
  readonly telemetry: RouterTelemetry;
  private readonly o: RouterStageOptions;
  private readonly privacy: PrivacyTiers;
  private readonly breaker: CircuitBreaker;
  private readonly segments = new Map<string, Int16Array>();
  private readonly frames = new FrameCache();
  private readonly subs: Subscription[] = [];
  private stopCtl = new AbortController();
  private store: Store | undefined;
  private ownsStore = false;
  private cost: CostTracker | undefined;
  /** The audit log this stage opened itself (none when the daemon handed one in). */
  private ownAudit: AuditLog | undefined;
  private client: CloudClient | undefined;
  private egress: Egress | undefined;

  constructor(options: RouterStageOptions) {
    this.o = options;
    this.name = options.name ?? 'router';
    this.privacy =
      options.privacy ??
      new PrivacyTiers({ privacy: options.config.router.privacy, sensors: options.config.sensors });
    const b = options.config.cloud.breaker;
    this.breaker = new CircuitBreaker({
      clock: options.clock,
      failureThreshold: b.failure_threshold,
      cooldownMs: b.cooldown_ms,
    });
    this.telemetry = new RouterTelemetry(() => this.cost?.spentTodayUsd() ?? 0);
  }

  async start(signal: AbortSignal): Promise<void> {
    const { clock, logger, config } = this.o;
    this.stopCtl = new AbortController();
    if (typeof this.o.storage === 'string') {
      this.store = await openStore(this.o.storage);
      this.ownsStore = true;
    } else {
      this.store = this.o.storage;
    }
    this.cost = new CostTracker(this.store, clock, config.router.cost.daily_cap_usd);
    await this.cost.load();
    if (signal.aborted) {
      await this.stop();
      throw new EdgeloomError('E_ABORTED', `${this.name}: start aborted`, { where: this.name });
    }
    // The daemon hands in its one audit log; a stage built alone (tests) opens and closes its own.
    this.ownAudit = this.o.audit === undefined ? new AuditLog(this.store) : undefined;
    const audit = this.o.audit ?? this.ownAudit!;
    this.egress = new Egress({ audit, clock, logger, telemetry: this.telemetry });
    this.client = new CloudClient({
      baseUrl: config.cloud.base_url,
      apiKey: config.cloud.api_key,
      chatModel: config.cloud.chat_model,
      transcriptionModel: config.cloud.transcription_model,
      timeoutMs: config.cloud.timeout_ms,
      retries: config.cloud.retries,
      clock,
      breaker: this.breaker,
      transmit: this.egress.transmit,
      ...(this.o.random ? { random: this.o.random } : {}),
    });
    const opts = {
      component: this.name,
      qos: 'realtime' as const,
      queueCapacity: 32,
      overflow: { kind: 'drop-oldest' as const },
    };
    const { bus } = this.o;
    this.subs.push(
      bus.subscribe<`inference/vad/${string}`>('inference/vad/+', (env) => this.onSpeech(env), opts),
      // Two at a time so one slow cloud call does not hold up the next decision; interruptible so
      // a critical event (a new utterance, a stop command) cancels a pending cloud call.
      bus.subscribe<`inference/stt/${string}`>('inference/stt/+', (env, s) => this.onTranscript(env, s), {
        ...opts,
        concurrency: 2,
        interruptible: true,
      }),
      bus.subscribe<`inference/face/${string}`>('inference/face/+', (env, s) => this.onFace(env, s), opts),
    );
    // Frames are only needed for the face cloud path; without a cloud the router never sees them.
    if (config.cloud.enabled) {
      this.subs.push(
        bus.subscribe<`sensor/camera/${string}/frame`>('sensor/camera/+/frame', (env) => this.onFrame(env), {
          ...opts,
          queueCapacity: 4,
        }),
      );
    }
  }

  async stop(): Promise<void> {
    this.stopCtl.abort(new EdgeloomError('E_CLOUD_ABORTED', 'router stopping', { where: this.name }));
    const subs = this.subs.splice(0);
    await Promise.all(subs.map((s) => s.unsubscribe()));
    this.segments.clear();
    this.frames.clear();
    // Their sublevels are resources of the shared store, which outlives the stage.
    await this.ownAudit?.close();
    this.ownAudit = undefined;
    await this.cost?.close();
    if (this.ownsStore) await this.store?.close();
    this.store = undefined;
    this.ownsStore = false;
  }

  health(): ComponentHealth {
    const state = this.breaker.state();
    return state === 'open'
      ? { status: 'degraded', reasons: ['cloud circuit breaker open'] }
      : { status: 'ok' };
  }

  /** Change a privacy tier at run time (`sensor:mic`, `default`, or a topic pattern); applies to the next decision. */
  setTier(scope: PrivacyScope, tier: PrivacyTier): void {
    this.privacy.setTier(scope, tier);
    this.o.logger.info({ scope, tier }, 'privacy tier changed');
  }

  tierFor(topic: string): PrivacyTier {
    return this.privacy.tierFor(topic);
  }

  snapshot(): RouterTelemetrySnapshot {
    return this.telemetry.snapshot();
  }

  /** The shared pieces for the chat path; undefined before start() and after stop(). */
  chatPath(): RouterChatPath | undefined {
    if (this.client === undefined || this.cost === undefined || this.stopCtl.signal.aborted) return undefined;
    return {
      client: this.client,
      cost: this.cost,
      breaker: this.breaker,
      telemetry: this.telemetry,
      tierFor: (topic) => this.privacy.tierFor(topic),
      stopSignal: this.stopCtl.signal,
    };
  }

  private onSpeech(env: Envelope<SpeechEvent>): void {
    const e = env.payload;
    if (e?.kind !== 'end' || !(e.audio instanceof Int16Array)) return;
    const key = `${env.topic.split('/')[2]}:${e.startMs}`;
    this.segments.set(key, e.audio);
    if (this.segments.size > SEGMENT_CACHE_SIZE)
      this.segments.delete(this.segments.keys().next().value as string);
  }

  private decideFor(
    env: Envelope,
    kind: string,
    modelId: string,
    localAvailable: boolean,
    confidence: number,
    cloudData: CloudData,
    callUsd: number,
  ): { tier: PrivacyTier; decision: PolicyDecision } {
    const { router, cloud } = this.o.config;
    const tier = this.privacy.tierFor(env.topic);
    const decision = decide({
      kind,
      modelId,
      localAvailable,
      confidence,
      threshold: thresholdFor(router.thresholds, modelId),
      hybridBand: router.hybrid_band,
      cloudData,
      tier,
      explicitUserRequest: env.tags.includes(EXPLICIT_CLOUD_TAG),
      latencyBudgetMs: router.latency_budget_ms,
      cost: {
        spentTodayUsd: this.cost?.spentTodayUsd() ?? 0,
        dailyCapUsd: router.cost.daily_cap_usd,
        callUsd,
      },
      cloud: { enabled: cloud.enabled, breaker: this.breaker.state(), p50LatencyMs: this.telemetry.p50Ms() },
    });
    return { tier, decision };
  }

  /** `followUp`: a second decision for the same inference (a failed cloud call), not counted again. */
  private publishDecision(
    env: Envelope,
    kind: string,
    modelId: string,
    tier: PrivacyTier,
    d: Omit<PolicyDecision, 'reason'> & { reason: string },
    followUp = false,
  ): void {
    if (!followUp) this.telemetry.countDecision(d.route);
    const payload: RouteDecision = {
      inferenceId: env.id,
      kind,
      modelId,
      route: d.route,
      reason: d.reason,
      numbers: readableNumbers(d.numbers),
      tier,
    };
    void this.o.bus.publish('router/decision', payload, {
      source: this.name,
      correlationId: env.correlationId ?? env.id,
    });
  }

  private onFrame(env: Envelope<CameraFrame>): void {
    const frame = env.payload;
    if (!Buffer.isBuffer(frame?.jpeg)) return;
    const cameraId = env.topic.split('/')[2] ?? '';
    // Hold an image only where it could leave: the face inference's tier, as the decision sees it.
    if (!egressAllowed(this.privacy.tierFor(`inference/face/${cameraId}`), 'raw')) return;
    this.frames.put(cameraId, frame.seq, frame.jpeg);
  }

  private async onFace(env: Envelope<FaceInference>, signal: AbortSignal): Promise<void> {
    const f = env.payload;
    if (f === null || typeof f !== 'object' || !Array.isArray(f.faces) || typeof f.modelId !== 'string') {
      this.telemetry.badInputs++;
      return;
    }
    if (f.refines !== undefined) return; // our own refinement coming back round
    const callUsd = this.o.config.router.cost.chat_call_usd;
    const { tier, decision } = this.decideFor(
      env,
      'face',
      f.modelId,
      true,
      faceConfidence(f),
      'raw',
      callUsd,
    );
    if (decision.route !== 'cloud' && decision.route !== 'hybrid') {
      this.publishDecision(env, 'face', f.modelId, tier, decision);
      return;
    }
    if (f.faces.length === 0) {
      // A certain "no face" has no label to refine; a threshold of 1 still lands here.
      this.publishDecision(env, 'face', f.modelId, tier, { ...decision, route: 'local', reason: 'no_faces' });
      return;
    }
    const cameraId = env.topic.split('/')[2] ?? '';
    const frame = this.frames.get(cameraId, f.frameSeq);
    // First privacy layer: only what the tier allows is even handed to the client.
    const jpeg = frame === undefined ? undefined : redactForTier({ image: frame }, tier).content.image;
    if (jpeg === undefined) {
      this.publishDecision(env, 'face', f.modelId, tier, {
        ...decision,
        route: 'local_fallback',
        reason: 'image_unavailable',
      });
      return;
    }
    this.publishDecision(env, 'face', f.modelId, tier, decision);
    const client = this.client;
    const modelId = this.o.config.cloud.chat_model;
    await this.refine(env, 'face', f.modelId, tier, decision, callUsd, signal, {
      call: async (options) => {
        const payload = await refineFaceInCloud(client!, f, jpeg, { ...options, modelId, refines: env.id });
        return { payload, latencyMs: payload.latencyMs };
      },
      publish: (refined: FaceInference) =>
        this.o.bus.publish(env.topic as `inference/face/${string}`, refined, {
          source: this.name,
          correlationId: env.correlationId ?? env.id,
          confidence: refined.confidence,
        }),
    });
  }

  private async onTranscript(env: Envelope<Transcript>, signal: AbortSignal): Promise<void> {
    const t = env.payload;
    if (t === null || typeof t !== 'object' || typeof t.text !== 'string' || typeof t.modelId !== 'string') {
      this.telemetry.badInputs++;
      return;
    }
    if (t.refines !== undefined) return; // our own refinement coming back round
    const callUsd = this.o.config.router.cost.transcription_call_usd;
    const { tier, decision } = this.decideFor(
      env,
      'transcript',
      t.modelId,
      t.text.trim() !== '',
      whisperConfidence(t),
      'raw',
      callUsd,
    );
    if (decision.route !== 'cloud' && decision.route !== 'hybrid') {
      this.publishDecision(env, 'transcript', t.modelId, tier, decision);
      return;
    }
    const micId = env.topic.split('/')[2] ?? '';
    const audio = this.segments.get(`${micId}:${t.segmentStartMs}`);
    // First privacy layer: only what the tier allows is even handed to the client.
    const redacted =
      audio === undefined
        ? undefined
        : redactForTier({ audio: { samples: audio, sampleRateHz: 16_000 } }, tier).content.audio;
    if (redacted === undefined) {
      this.publishDecision(env, 'transcript', t.modelId, tier, {
        ...decision,
        route: 'local_fallback',
        reason: 'audio_unavailable',
      });
      return;
    }
    this.publishDecision(env, 'transcript', t.modelId, tier, decision);
    const client = this.client;
    const modelId = this.o.config.cloud.transcription_model;
    await this.refine(env, 'transcript', t.modelId, tier, decision, callUsd, signal, {
      call: async (options) => {
        const payload = await refineTranscriptInCloud(client!, t, redacted, {
          ...options,
          modelId,
          refines: env.id,
        });
        return { payload, latencyMs: payload.latencyMs };
      },
      publish: (refined: Transcript) =>
        this.o.bus.publish(env.topic as `inference/stt/${string}`, refined, {
          source: this.name,
          correlationId: env.correlationId ?? env.id,
          confidence: refined.confidence,
        }),
    });
  }

  /** Run one cloud refinement of `env` (refinement.ts); a failure becomes a follow-up fallback decision. */
  private async refine<T>(
    env: Envelope,
    kind: 'face' | 'transcript',
    localModelId: string,
    tier: PrivacyTier,
    decision: PolicyDecision,
    callUsd: number,
    signal: AbortSignal,
    job: Pick<RefinementJob<T>, 'call' | 'publish'>,
  ): Promise<void> {
    if (this.client === undefined || this.cost === undefined) return;
    const deps = {
      cost: this.cost,
      telemetry: this.telemetry,
      logger: this.o.logger,
      budgetMs: this.o.config.router.latency_budget_ms,
      stopSignal: this.stopCtl.signal,
    };
    await runRefinement(deps, {
      ...job,
      kind,
      callUsd,
      signal,
      context: {
        tier,
        reason: decision.reason,
        correlationId: env.correlationId ?? env.id,
        sourceId: env.id,
      },
      fallback: (reason) =>
        this.publishDecision(
          env,
          kind,
          localModelId,
          tier,
          { ...decision, route: 'local_fallback', reason },
          true,
        ),
    });
  }
}

/**
 * The decision's numbers as published: rounded to 6 decimals so a printed decision reads
 * `"confidence":0.948265` rather than 17 digits of float noise (the policy used the exact values).
 */
function readableNumbers(numbers: Readonly<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(numbers)) out[k] = Number.isFinite(v) ? Math.round(v * 1e6) / 1e6 : v;
  return out;
}
