/**
 * What the router stage (router.ts) does with each local inference: ask the policy where the
 * answer should come from, publish the `router/decision`, and for `cloud`/`hybrid` routes whose
 * tier lets the raw data leave, send the segment's audio (or the frame's JPEG, face-refine.ts)
 * for a cloud refinement (refinement.ts), published on the inference's own topic with
 * `refines: <local envelope id>`. A failed cloud call becomes a follow-up `local_fallback`
 * decision.
 *
 * Segment audio comes from `inference/vad/+` `end` events, held in a small bounded map keyed by
 * microphone and segment start (overflow: the oldest segment is forgotten). Frames are held in a
 * FrameCache only while the camera's face topic may send raw data (no image is held that could
 * not leave anyway).
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
import type { EventBus } from '../bus/types.js';
import type { CloudConfig, RouterConfig } from '../config/index.js';
import type { Logger } from '../log.js';
import type { CircuitBreaker } from './breaker.js';
import type { CloudClient } from './cloud-client.js';
import { faceConfidence, thresholdFor, whisperConfidence } from './confidence.js';
import type { CostTracker } from './cost.js';
import { redactForTier } from './egress.js';
import { FrameCache, refineFaceInCloud } from './face-refine.js';
import { type CloudData, decide, egressAllowed, type PolicyDecision } from './policy.js';
import type { PrivacyTiers } from './privacy.js';
import { type RefinementJob, refineTranscriptInCloud, runRefinement } from './refinement.js';
import type { RouterTelemetry } from './telemetry.js';

/** Segment audio kept for refinement; overflow forgets the oldest segment. */
export const SEGMENT_CACHE_SIZE = 8;
/** Envelope tag that marks an explicit user request for the cloud. */
export const EXPLICIT_CLOUD_TAG = 'explicit_cloud';

export interface InferenceRoutingOptions {
  readonly bus: EventBus;
  readonly logger: Logger;
  readonly config: { readonly router: RouterConfig; readonly cloud: CloudConfig };
  /** Envelope source of decisions and refinements: the stage's name. */
  readonly name: string;
  readonly privacy: PrivacyTiers;
  readonly breaker: CircuitBreaker;
  readonly telemetry: RouterTelemetry;
  /** The stage's cloud client and cost tracker: undefined before its start and after its stop. */
  readonly client: () => CloudClient | undefined;
  readonly cost: () => CostTracker | undefined;
  /** Aborted when the stage stops: refinements in flight end with it. */
  readonly stopSignal: () => AbortSignal;
}

export class InferenceRouting {
  private readonly segments = new Map<string, Int16Array>();
  private readonly frames = new FrameCache();

  constructor(private readonly o: InferenceRoutingOptions) {}

  /** Forget held audio and frames (the stage stops). */
  clear(): void {
    this.segments.clear();
    this.frames.clear();
  }

  onSpeech(env: Envelope<SpeechEvent>): void {
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
    const tier = this.o.privacy.tierFor(env.topic);
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
        spentTodayUsd: this.o.cost()?.spentTodayUsd() ?? 0,
        dailyCapUsd: router.cost.daily_cap_usd,
        callUsd,
      },
      cloud: {
        enabled: cloud.enabled,
        breaker: this.o.breaker.state(),
        p50LatencyMs: this.o.telemetry.p50Ms(),
      },
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
    if (!followUp) this.o.telemetry.countDecision(d.route);
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
      source: this.o.name,
      correlationId: env.correlationId ?? env.id,
    });
  }

  onFrame(env: Envelope<CameraFrame>): void {
    const frame = env.payload;
    if (!Buffer.isBuffer(frame?.jpeg)) return;
    const cameraId = env.topic.split('/')[2] ?? '';
    // Hold an image only where it could leave: the face inference's tier, as the decision sees it.
    if (!egressAllowed(this.o.privacy.tierFor(`inference/face/${cameraId}`), 'raw')) return;
    this.frames.put(cameraId, frame.seq, frame.jpeg);
  }

  async onFace(env: Envelope<FaceInference>, signal: AbortSignal): Promise<void> {
    const f = env.payload;
    if (f === null || typeof f !== 'object' || !Array.isArray(f.faces) || typeof f.modelId !== 'string') {
      this.o.telemetry.badInputs++;
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
    const client = this.o.client();
    const modelId = this.o.config.cloud.chat_model;
    await this.refine(env, 'face', f.modelId, tier, decision, callUsd, signal, {
      call: async (options) => {
        const payload = await refineFaceInCloud(client!, f, jpeg, { ...options, modelId, refines: env.id });
        return { payload, latencyMs: payload.latencyMs };
      },
      publish: (refined: FaceInference) =>
        this.o.bus.publish(env.topic as `inference/face/${string}`, refined, {
          source: this.o.name,
          correlationId: env.correlationId ?? env.id,
          confidence: refined.confidence,
        }),
    });
  }

  async onTranscript(env: Envelope<Transcript>, signal: AbortSignal): Promise<void> {
    const t = env.payload;
    if (t === null || typeof t !== 'object' || typeof t.text !== 'string' || typeof t.modelId !== 'string') {
      this.o.telemetry.badInputs++;
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
    const client = this.o.client();
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
          source: this.o.name,
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
    const cost = this.o.cost();
    if (this.o.client() === undefined || cost === undefined) return;
    const deps = {
      cost,
      telemetry: this.o.telemetry,
      logger: this.o.logger,
      budgetMs: this.o.config.router.latency_budget_ms,
      stopSignal: this.o.stopSignal(),
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
