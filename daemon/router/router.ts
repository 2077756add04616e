/**
 * The router stage: subscribes to the local inferences (and the frames and segments a cloud
 * refinement would need), routes each through the cloud gateway (routing.ts, gateway.ts), and
 * answers `rpc/router/cloud-assist` for the voice agent with the same gateway. It owns the
 * gateway's lifecycle and the store it keeps its cost state in.
 */
import type { PrivacyTier } from '../bus/topics.js';
import type { EventBus, Subscription } from '../bus/types.js';
import type { Component, ComponentHealth } from '../component.js';
import type { CloudConfig, RouterConfig, SensorsConfig } from '../config/index.js';
import { EdgeloomError, ErrorCode } from '../errors.js';
import type { Logger } from '../log.js';
import type { Store } from '../storage/store.js';
import type { Clock } from '../util/clock.js';
import type { HistogramSnapshot } from '../util/latency-histogram.js';
import { AuditLog } from './audit-log.js';
import { CloudGateway, type RouterSnapshot } from './gateway.js';
import { type PrivacyScope, PrivacyTiers } from './privacy.js';
import { InferenceRouting } from './routing.js';

export interface RouterStageOptions {
  readonly bus: EventBus;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly config: {
    readonly router: RouterConfig;
    readonly cloud: CloudConfig;
    readonly sensors: { readonly [K in keyof SensorsConfig]?: Pick<SensorsConfig[K], 'privacy'> };
  };
  /** The daemon's store, open and owned by StorageComponent (cost in sublevel `router`). */
  readonly storage: Store;
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
  private readonly o: RouterStageOptions;
  private readonly privacy: PrivacyTiers;
  private readonly gateway: CloudGateway;
  private readonly routing: InferenceRouting;
  private readonly subs: Subscription[] = [];
  /** The audit log this stage opened itself (none when the daemon handed one in). */
  private ownAudit: AuditLog | undefined;

  constructor(options: RouterStageOptions) {
    this.o = options;
    this.name = options.name ?? 'router';
    this.privacy =
      options.privacy ??
      new PrivacyTiers({ privacy: options.config.router.privacy, sensors: options.config.sensors });
    this.gateway = new CloudGateway({
      bus: options.bus,
      clock: options.clock,
      logger: options.logger,
      config: options.config,
      privacy: this.privacy,
      ...(options.random ? { random: options.random } : {}),
    });
    this.routing = new InferenceRouting({
      bus: options.bus,
      config: options.config,
      name: this.name,
      privacy: this.privacy,
      gateway: this.gateway,
    });
  }

  async start(signal: AbortSignal): Promise<void> {
    const { config } = this.o;
    const store = this.o.storage;
    // The daemon hands in its one audit log; a stage built alone (tests) opens and closes its own.
    this.ownAudit = this.o.audit === undefined ? new AuditLog(store) : undefined;
    await this.gateway.start(store, this.o.audit ?? this.ownAudit!);
    if (signal.aborted) {
      await this.stop();
      throw new EdgeloomError(ErrorCode.E_ABORTED, `${this.name}: start aborted`, { where: this.name });
    }
    const opts = {
      component: this.name,
      qos: 'realtime' as const,
      queueCapacity: 32,
      overflow: { kind: 'drop-oldest' as const },
    };
    const { bus } = this.o;
    this.subs.push(
      bus.subscribe('inference/vad/+', (env) => this.routing.onSpeech(env), opts),
      // Two at a time so one slow cloud call does not hold up the next decision; interruptible so
      // a critical event (a new utterance, a stop command) cancels a pending cloud call.
      bus.subscribe('inference/stt/+', (env, s) => this.routing.onTranscript(env, s), {
        ...opts,
        concurrency: 2,
        interruptible: true,
      }),
      bus.subscribe('inference/face/+', (env, s) => this.routing.onFace(env, s), opts),
      // The voice agent's unmatched utterances; the requester giving up cancels the call.
      bus.respond('rpc/router/cloud-assist', (req, s) => this.gateway.assist(req.payload, s), {
        component: this.name,
        concurrency: 2,
      }),
    );
    // Frames are only needed for the face cloud path; without a cloud the router never sees them.
    if (config.cloud.enabled) {
      this.subs.push(
        bus.subscribe('sensor/camera/+/frame', (env) => this.routing.onFrame(env), {
          ...opts,
          queueCapacity: 4,
        }),
      );
    }
  }

  async stop(): Promise<void> {
    const subs = this.subs.splice(0);
    // The calls in flight end first (aborted): their handlers then finish and unsubscribe returns.
    const stopping = this.gateway.stop();
    await Promise.all(subs.map((s) => s.unsubscribe()));
    await stopping;
    this.routing.clear();
    // Its sublevel is a resource of the shared store, which outlives the stage.
    await this.ownAudit?.close();
    this.ownAudit = undefined;
  }

  health(): ComponentHealth {
    const state = this.gateway.breaker.state();
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

  snapshot(): RouterSnapshot {
    return this.gateway.snapshot();
  }

  /** Every cloud call's latency since start (the /metrics histogram). */
  cloudLatency(): HistogramSnapshot {
    return this.gateway.cloudLatency();
  }

  /** Cloud calls in flight and media held for refinements, for tests of the bounds. */
  held(): { readonly callsInFlight: number; readonly segments: number; readonly frames: number } {
    return { callsInFlight: this.gateway.callsInFlight, ...this.routing.held };
  }
}
