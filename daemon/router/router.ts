import type { PrivacyTier } from '../bus/topics.js';
import type { EventBus, Subscription } from '../bus/types.js';
import type { Component, ComponentHealth } from '../component.js';
import type { CloudConfig, RouterConfig, SensorsConfig } from '../config/index.js';
import { EdgeloomError, ErrorCode } from '../errors.js';
import type { Logger } from '../log.js';
import { openStore, type Store } from '../storage/store.js';
import type { Clock } from '../util/clock.js';
import { AuditLog } from './audit-log.js';
import { CircuitBreaker } from './breaker.js';
import { CloudClient } from './cloud-client.js';
import { CostTracker } from './cost.js';
import { Egress } from './egress.js';
import { type PrivacyScope, PrivacyTiers } from './privacy.js';
import { InferenceRouting } from './routing.js';
import { RouterTelemetry, type RouterTelemetrySnapshot } from './telemetry.js';

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
  private readonly routing: InferenceRouting;
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
    this.routing = new InferenceRouting({
      bus: options.bus,
      logger: options.logger,
      config: options.config,
      name: this.name,
      privacy: this.privacy,
      breaker: this.breaker,
      telemetry: this.telemetry,
      client: () => this.client,
      cost: () => this.cost,
      stopSignal: () => this.stopCtl.signal,
    });
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
      throw new EdgeloomError(ErrorCode.E_ABORTED, `${this.name}: start aborted`, { where: this.name });
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
      bus.subscribe('inference/vad/+', (env) => this.routing.onSpeech(env), opts),
      // Two at a time so one slow cloud call does not hold up the next decision; interruptible so
      // a critical event (a new utterance, a stop command) cancels a pending cloud call.
      bus.subscribe('inference/stt/+', (env, s) => this.routing.onTranscript(env, s), {
        ...opts,
        concurrency: 2,
        interruptible: true,
      }),
      bus.subscribe('inference/face/+', (env, s) => this.routing.onFace(env, s), opts),
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
    this.stopCtl.abort(new EdgeloomError(ErrorCode.E_CLOUD_ABORTED, 'router stopping', { where: this.name }));
    const subs = this.subs.splice(0);
    await Promise.all(subs.map((s) => s.unsubscribe()));
    this.routing.clear();
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
}
