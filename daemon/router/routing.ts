/**
 * What the router stage (router.ts) does with each local inference: the gateway (gateway.ts)
 * decides where the answer should come from and publishes the `router/decision`; for `cloud` and
 * `hybrid` routes whose tier lets the raw data leave, the segment's audio (refinement.ts) or the
 * frame's JPEG (face-refine.ts) goes to the cloud, and the refinement is published on the
 * inference's `…/refined` topic with `refines: <local envelope id>`. A failed cloud call becomes
 * a follow-up `local_fallback` decision.
 *
 * The media comes from held-media.ts: a segment's audio from its `inference/vad/+` `end` event,
 * joined to the transcript by the segment id both carry; a frame's JPEG from
 * `sensor/camera/+/frame`, joined to the face inference by its frame sequence number. Each is held
 * only while its topic's tier lets raw data leave, and taken when its inference arrives.
 */
import type { Envelope } from '../bus/envelope.js';
import type { CameraFrame, FaceInference, SpeechEvent, Transcript } from '../bus/topics.js';
import type { EventBus } from '../bus/types.js';
import type { CloudConfig, RouterConfig } from '../config/index.js';
import { faceConfidence, thresholdFor, whisperConfidence } from './confidence.js';
import type { DecisionAsk } from './decisions.js';
import { redactForTier } from './egress.js';
import { refineFaceInCloud } from './face-refine.js';
import type { CloudGateway } from './gateway.js';
import { FRAME_HOLD_SIZE, frameKey, HeldMedia, SEGMENT_HOLD_SIZE } from './held-media.js';
import { egressAllowed } from './policy.js';
import type { PrivacyTiers } from './privacy.js';
import { refineTranscriptInCloud } from './refinement.js';

/** Envelope tag that marks an explicit user request for the cloud. */
export const EXPLICIT_CLOUD_TAG = 'explicit_cloud';

interface SegmentAudio {
  readonly samples: Int16Array;
  readonly sampleRateHz: number;
}

export interface InferenceRoutingOptions {
  readonly bus: EventBus;
  readonly config: { readonly router: RouterConfig; readonly cloud: CloudConfig };
  /** Envelope source of decisions and refinements: the stage's name. */
  readonly name: string;
  readonly privacy: Pick<PrivacyTiers, 'tierFor'>;
  readonly gateway: CloudGateway;
}

export class InferenceRouting {
  private readonly segments = new HeldMedia<SegmentAudio>(SEGMENT_HOLD_SIZE);
  private readonly frames = new HeldMedia<Buffer>(FRAME_HOLD_SIZE);

  constructor(private readonly o: InferenceRoutingOptions) {}

  /** Media held now (segments, frames), for tests of the bounds. */
  get held(): { readonly segments: number; readonly frames: number } {
    return { segments: this.segments.size, frames: this.frames.size };
  }

  /** Forget held audio and frames (the stage stops). */
  clear(): void {
    this.segments.clear();
    this.frames.clear();
  }

  onSpeech(env: Envelope<SpeechEvent>): void {
    const e = env.payload;
    if (e?.kind !== 'end' || !(e.audio instanceof Int16Array) || typeof e.segmentId !== 'string') return;
    const micId = env.topic.split('/')[2] ?? '';
    // Hold audio only where it could leave: the transcript's tier, as its decision will see it.
    if (!egressAllowed(this.o.privacy.tierFor(`inference/stt/${micId}`), 'raw')) return;
    this.segments.put(e.segmentId, { samples: e.audio, sampleRateHz: e.sampleRateHz });
  }

  onFrame(env: Envelope<CameraFrame>): void {
    const frame = env.payload;
    if (!Buffer.isBuffer(frame?.jpeg)) return;
    const cameraId = env.topic.split('/')[2] ?? '';
    // Hold an image only where it could leave: the face inference's tier, as the decision sees it.
    if (!egressAllowed(this.o.privacy.tierFor(`inference/face/${cameraId}`), 'raw')) return;
    this.frames.put(frameKey(cameraId, frame.seq), frame.jpeg);
  }

  async onFace(env: Envelope<FaceInference>, signal: AbortSignal): Promise<void> {
    const f = env.payload;
    if (f === null || typeof f !== 'object' || !Array.isArray(f.faces) || typeof f.modelId !== 'string') {
      this.o.gateway.countBadInput();
      return;
    }
    const { router, cloud } = this.o.config;
    const cameraId = env.topic.split('/')[2] ?? '';
    // The frame leaves the hold whatever the route: it was kept for this inference only.
    const frame = this.frames.take(frameKey(cameraId, f.frameSeq));
    let jpeg: Buffer | undefined;
    const decided = this.o.gateway.decide(
      this.ask(env, 'face', f.modelId, true, faceConfidence(f), router.cost.chat_call_usd),
      (tier) => {
        // A certain "no face" has no label to refine; a threshold of 1 still lands here.
        if (f.faces.length === 0) return { route: 'local', reason: 'no_faces' };
        // First privacy layer: only what the tier allows is even handed to the client.
        jpeg = frame === undefined ? undefined : redactForTier({ image: frame }, tier).content.image;
        return jpeg === undefined ? { route: 'local_fallback', reason: 'image_unavailable' } : undefined;
      },
    );
    await this.o.gateway.refine(decided, {
      signal,
      call: async (client, options) => {
        const payload = await refineFaceInCloud(client, f, jpeg!, {
          ...options,
          modelId: cloud.chat_model,
          refines: env.id,
        });
        return { payload, latencyMs: payload.latencyMs };
      },
      publish: (refined) =>
        this.o.bus.publish(`inference/face/${cameraId}/refined`, refined, {
          source: this.o.name,
          correlationId: env.correlationId ?? env.id,
          confidence: refined.confidence,
        }),
    });
  }

  async onTranscript(env: Envelope<Transcript>, signal: AbortSignal): Promise<void> {
    const t = env.payload;
    if (t === null || typeof t !== 'object' || typeof t.text !== 'string' || typeof t.modelId !== 'string') {
      this.o.gateway.countBadInput();
      return;
    }
    const { router, cloud } = this.o.config;
    const micId = env.topic.split('/')[2] ?? '';
    // The segment's audio leaves the hold whatever the route: it was kept for this transcript only.
    const audio = typeof t.segmentId === 'string' ? this.segments.take(t.segmentId) : undefined;
    let redacted: SegmentAudio | undefined;
    const decided = this.o.gateway.decide(
      this.ask(
        env,
        'transcript',
        t.modelId,
        t.text.trim() !== '',
        whisperConfidence(t),
        router.cost.transcription_call_usd,
      ),
      (tier) => {
        // First privacy layer: only what the tier allows is even handed to the client.
        redacted = audio === undefined ? undefined : redactForTier({ audio }, tier).content.audio;
        return redacted === undefined ? { route: 'local_fallback', reason: 'audio_unavailable' } : undefined;
      },
    );
    await this.o.gateway.refine(decided, {
      signal,
      call: async (client, options) => {
        const payload = await refineTranscriptInCloud(client, t, redacted!, {
          ...options,
          modelId: cloud.transcription_model,
          refines: env.id,
        });
        return { payload, latencyMs: payload.latencyMs };
      },
      publish: (refined) =>
        this.o.bus.publish(`inference/stt/${micId}/refined`, refined, {
          source: this.o.name,
          correlationId: env.correlationId ?? env.id,
          confidence: refined.confidence,
        }),
    });
  }

  /** The policy question for a local inference on `env`, which would send raw data to the cloud. */
  private ask(
    env: Envelope,
    kind: 'face' | 'transcript',
    modelId: string,
    localAvailable: boolean,
    confidence: number,
    callUsd: number,
  ): DecisionAsk {
    const { router } = this.o.config;
    return {
      subject: {
        inferenceId: env.id,
        correlationId: env.correlationId ?? env.id,
        kind,
        modelId,
        source: this.o.name,
      },
      topic: env.topic,
      localAvailable,
      confidence,
      threshold: thresholdFor(router.thresholds, modelId),
      hybridBand: router.hybrid_band,
      cloudData: 'raw',
      explicitUserRequest: env.tags.includes(EXPLICIT_CLOUD_TAG),
      callUsd,
    };
  }
}
