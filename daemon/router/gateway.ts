/**
 * The cloud gateway: the one owner of everything a cloud call needs — the circuit breaker, the
 * daily cost cap, the egress (privacy guard and audit log), the cloud client and the routing
 * telemetry — behind three entry points (README, "The router"):
 *
 * - `decide`: ask the policy where an answer should come from, count the decision and publish it
 *   on `router/decision` (the transcript and face paths in routing.ts, and `assist`);
 * - `refine`: for a cloud or hybrid route, call the cloud for a better answer than the local one
 *   and publish it, or publish a follow-up `local_fallback` naming why not;
 * - `assist`: the voice agent's `rpc/router/cloud-assist`: an unmatched utterance's TEXT to the
 *   chat model with the tools the agent offers, under the same rules (cloud-assist.ts).
 *
 * Every cloud call goes through one path (`call`): the in-flight bound, the cost charged up
 * front, the latency budget, cancellation by the caller or by stop(), and one failure → reason
 * table (decisions.ts). Nothing outside this class holds the client, the cost or the counters.
 */
import type { CloudAssistReply, CloudAssistRequest } from '../bus/rpc-cloud-assist.js';
import type { PrivacyTier, Route } from '../bus/topics.js';
import type { EventBus } from '../bus/types.js';
import type { CloudConfig, RouterConfig } from '../config/index.js';
import { EdgeloomError, ErrorCode, toError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Store } from '../storage/store.js';
import type { Clock } from '../util/clock.js';
import type { HistogramSnapshot } from '../util/latency-histogram.js';
import type { AuditLog } from './audit-log.js';
import { CircuitBreaker } from './breaker.js';
import type { ChatTool } from './cloud-api.js';
import { ASSIST_SOURCE, assistAsk, assistMessages, replyOf } from './cloud-assist.js';
import { type CallOptions, CloudClient } from './cloud-client.js';
import { CostTracker } from './cost.js';
import {
  type DecisionAsk,
  type DecisionOutcome,
  type DecisionSubject,
  type FollowUpReason,
  failureCode,
  failureReason,
  routeDecision,
} from './decisions.js';
import { Egress } from './egress.js';
import { type BreakerState, decide, type PolicyDecision } from './policy.js';
import type { PrivacyTiers } from './privacy.js';
import { RouterTelemetry, type RouterTelemetrySnapshot } from './telemetry.js';

/**
 * Cloud calls (refinements and assists) in flight at once. Policy past it: the call is not made
 * and its item falls back locally (`cloud_busy`), so a slow cloud never piles up held audio,
 * images or open connections. The stage's subscriptions allow 2 transcripts, 1 face and 2 assists
 * at a time, so this bound is a backstop, not a limit met in normal running.
 */
export const MAX_CLOUD_CALLS_IN_FLIGHT = 5;

export interface CloudGatewayOptions {
  readonly bus: EventBus;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly config: { readonly router: RouterConfig; readonly cloud: CloudConfig };
  /** The device's privacy tiers: the tier of each decision. */
  readonly privacy: Pick<PrivacyTiers, 'tierFor'>;
  /** Random source for retry jitter (default Math.random). */
  readonly random?: () => number;
}

/** A published decision: what `refine` needs to make the call and to report its failure. */
export interface Decided {
  readonly ask: DecisionAsk;
  readonly tier: PrivacyTier;
  readonly decision: DecisionOutcome;
  /** The route wants the cloud (`cloud` or `hybrid`) and nothing overrode it. */
  readonly wantsCloud: boolean;
}

/** Replaces a cloud route when the item cannot go after all (no media to send, nothing to refine). */
export type CloudObstacle = (tier: PrivacyTier) => { route: Route; reason: FollowUpReason } | undefined;

export interface RefineJob<T> {
  /** The bus handler's signal: an interrupt cancels the call. */
  readonly signal: AbortSignal;
  /** Make the cloud call with the gateway's client and build the refined payload. */
  readonly call: (client: CloudClient, options: CallOptions) => Promise<{ payload: T; latencyMs: number }>;
  readonly publish: (payload: T) => Promise<void> | undefined;
}

/** A failed call's reason, and what it threw when it was made (a call refused as busy throws nothing). */
type CallResult<T> = { ok: true; value: T } | { ok: false; reason: FollowUpReason; err?: Error };

/** The telemetry with what limits the cloud now: the day's cost cap and the breaker's state. */
export interface RouterSnapshot extends RouterTelemetrySnapshot {
  readonly costCapUsd: number;
  readonly breaker: BreakerState;
}

export class CloudGateway {
  readonly breaker: CircuitBreaker;
  private readonly o: CloudGatewayOptions;
  private readonly telemetry: RouterTelemetry;
  private cost: CostTracker | undefined;
  private client: CloudClient | undefined;
  private stopCtl = new AbortController();
  /** Calls in flight, at most MAX_CLOUD_CALLS_IN_FLIGHT; each leaves when its call settles. */
  private readonly inFlight = new Set<Promise<unknown>>();
  /** Numbers the utterances assisted without a context (callers outside the voice agent). */
  private anonymous = 0;

  constructor(options: CloudGatewayOptions) {
    this.o = options;
    const b = options.config.cloud.breaker;
    this.breaker = new CircuitBreaker({
      clock: options.clock,
      failureThreshold: b.failure_threshold,
      cooldownMs: b.cooldown_ms,
    });
    this.telemetry = new RouterTelemetry(() => this.cost?.spentTodayUsd() ?? 0);
  }

  /** Load today's spend from `store` and build the egress on `audit` and the client behind it. */
  async start(store: Store, audit: AuditLog): Promise<void> {
    const { clock, logger, config } = this.o;
    this.stopCtl = new AbortController();
    this.cost = new CostTracker(store, clock, config.router.cost.daily_cap_usd);
    await this.cost.load();
    const egress = new Egress({ audit, clock, logger, telemetry: this.telemetry });
    this.client = new CloudClient({
      baseUrl: config.cloud.base_url,
      apiKey: config.cloud.api_key,
      chatModel: config.cloud.chat_model,
      transcriptionModel: config.cloud.transcription_model,
      timeoutMs: config.cloud.timeout_ms,
      retries: config.cloud.retries,
      clock,
      breaker: this.breaker,
      transmit: egress.transmit,
      ...(this.o.random ? { random: this.o.random } : {}),
    });
  }

  /** Cancel the calls in flight, wait for them to settle, close the cost state. */
  async stop(): Promise<void> {
    this.stopCtl.abort(new EdgeloomError(ErrorCode.E_CLOUD_ABORTED, 'router stopping', { where: 'router' }));
    await Promise.allSettled([...this.inFlight]);
    this.client = undefined;
    await this.cost?.close();
    this.cost = undefined;
  }

  get running(): boolean {
    return this.client !== undefined && !this.stopCtl.signal.aborted;
  }

  /** Cloud calls in flight now. */
  get callsInFlight(): number {
    return this.inFlight.size;
  }

  snapshot(): RouterSnapshot {
    return {
      ...this.telemetry.snapshot(),
      costCapUsd: this.o.config.router.cost.daily_cap_usd,
      breaker: this.breaker.state(),
    };
  }

  /** Every cloud call's latency since start (the /metrics histogram). */
  cloudLatency(): HistogramSnapshot {
    return this.telemetry.cloudLatency.snapshot();
  }

  /** An inference that is not what its topic promises: counted, not routed. */
  countBadInput(): void {
    this.telemetry.badInputs++;
  }

  /**
   * Entry point 1: the policy's route for `ask`, counted and published on `router/decision`.
   * `obstacle` is asked only when the route wants the cloud; what it returns is published instead.
   */
  decide(ask: DecisionAsk, obstacle?: CloudObstacle): Decided {
    const { router, cloud } = this.o.config;
    const tier = this.o.privacy.tierFor(ask.topic);
    const policy: PolicyDecision = decide({
      kind: ask.subject.kind,
      modelId: ask.subject.modelId,
      localAvailable: ask.localAvailable,
      confidence: ask.confidence,
      threshold: ask.threshold,
      hybridBand: ask.hybridBand,
      cloudData: ask.cloudData,
      tier,
      explicitUserRequest: ask.explicitUserRequest,
      latencyBudgetMs: router.latency_budget_ms,
      cost: {
        spentTodayUsd: this.cost?.spentTodayUsd() ?? 0,
        dailyCapUsd: router.cost.daily_cap_usd,
        callUsd: ask.callUsd,
      },
      cloud: { enabled: cloud.enabled, breaker: this.breaker.state(), p50LatencyMs: this.telemetry.p50Ms() },
    });
    let decision: DecisionOutcome = policy;
    let wantsCloud = policy.route === 'cloud' || policy.route === 'hybrid';
    const blocked = wantsCloud ? obstacle?.(tier) : undefined;
    if (blocked !== undefined) {
      decision = { ...policy, ...blocked };
      wantsCloud = false;
    }
    this.telemetry.countDecision(decision.route);
    this.publish(ask.subject, tier, decision);
    return { ask, tier, decision, wantsCloud };
  }

  /**
   * Entry point 2: refine a local result for a decision that wants the cloud. The refined payload
   * is published by `job.publish`; a failed call becomes a follow-up `local_fallback`.
   */
  async refine<T>(decided: Decided, job: RefineJob<T>): Promise<void> {
    if (!decided.wantsCloud) return;
    const r = await this.call(decided, job.signal, async (client, options) => {
      const refined = await job.call(client, options);
      this.telemetry.recordCloudLatency(refined.latencyMs);
      return refined.payload;
    });
    if (!r.ok) return;
    this.telemetry.refinementsPublished++;
    await job.publish(r.value);
  }

  /**
   * Entry point 3: an utterance the voice agent could not match (rpc/router/cloud-assist). The
   * text goes to the chat model only when the decision says `cloud`; otherwise, or when the call
   * fails, the reply says why in `declined`. A cancelled call (the requester's signal, or stop())
   * is rethrown: the interrupt is the answer, not a `no_match` nobody asked for.
   */
  async assist(request: CloudAssistRequest, signal: AbortSignal): Promise<CloudAssistReply> {
    signal.throwIfAborted();
    if (!this.running) return { toolCalls: [], declined: 'router_not_running' };
    const ask = assistAsk(request, this.o.config.router.cost.chat_call_usd, () => ++this.anonymous);
    const decided = this.decide(ask);
    if (!decided.wantsCloud) return { toolCalls: [], declined: decided.decision.reason };
    const r = await this.call(decided, signal, async (client, options) => {
      // The registry's definitions are OpenAI function tools already.
      const tools = request.tools as readonly ChatTool[];
      const streamId = request.streamId;
      // The answer's text, fragment by fragment, for the agent to speak while the rest streams.
      const onDelta =
        streamId === undefined
          ? undefined
          : (text: string): void => {
              this.o.bus
                ?.publish('router/assist/delta', { streamId, text }, { source: ASSIST_SOURCE })
                ?.catch(() => undefined);
            };
      const answer = await client.chat(
        { messages: assistMessages(request), tools, ...(onDelta === undefined ? {} : { onDelta }) },
        options,
      );
      this.telemetry.recordCloudLatency(answer.latencyMs);
      return answer;
    });
    if (r.ok) return replyOf(r.value.toolCalls, this.o.logger, r.value.content);
    if (r.err !== undefined && (signal.aborted || this.stopCtl.signal.aborted)) throw r.err;
    return { toolCalls: [], declined: r.reason };
  }

  /**
   * The one path of every cloud call: bounded, charged, timed, cancellable; a failure is counted,
   * logged and published as a follow-up `local_fallback` with the reason from FAILURE_REASONS.
   */
  private async call<T>(
    decided: Decided,
    signal: AbortSignal,
    run: (client: CloudClient, options: CallOptions) => Promise<T>,
  ): Promise<CallResult<T>> {
    const { ask, tier, decision } = decided;
    const client = this.client;
    const cost = this.cost;
    if (client === undefined || cost === undefined) {
      // Stopped between the decision and the call: nothing was sent, nothing more to say.
      const err = new EdgeloomError(ErrorCode.E_CLOUD_ABORTED, 'router not running', { where: 'router' });
      return { ok: false, err, reason: 'cloud_aborted' };
    }
    if (this.inFlight.size >= MAX_CLOUD_CALLS_IN_FLIGHT) {
      this.o.logger.warn({ inFlight: this.inFlight.size, kind: ask.subject.kind }, 'cloud busy: kept local');
      this.followUp(decided, 'cloud_busy');
      return { ok: false, reason: 'cloud_busy' };
    }
    const settled = (async (): Promise<CallResult<T>> => {
      await cost.charge(ask.callUsd);
      this.telemetry.cloudCalls++;
      const { inferenceId: sourceId, correlationId } = ask.subject;
      try {
        const value = await run(client, {
          context: {
            tier,
            reason: decision.reason,
            correlationId,
            sourceId,
            explicitUserRequest: ask.explicitUserRequest,
          },
          budgetMs: this.o.config.router.latency_budget_ms,
          signal: AbortSignal.any([signal, this.stopCtl.signal]),
        });
        return { ok: true, value };
      } catch (thrown) {
        this.telemetry.cloudFailures++;
        const err = toError(thrown);
        const code = failureCode(err);
        this.o.logger.warn(
          { code, err: err.message, correlationId, kind: ask.subject.kind },
          'cloud call failed',
        );
        const reason = failureReason(code);
        this.followUp(decided, reason);
        return { ok: false, err, reason };
      }
    })();
    this.inFlight.add(settled);
    try {
      return await settled;
    } finally {
      this.inFlight.delete(settled);
    }
  }

  /** A second decision for the same item (the cloud could not be used), not counted again. */
  private followUp(decided: Decided, reason: FollowUpReason): void {
    this.publish(decided.ask.subject, decided.tier, { ...decided.decision, route: 'local_fallback', reason });
  }

  private publish(subject: DecisionSubject, tier: PrivacyTier, d: DecisionOutcome): void {
    void this.o.bus.publish('router/decision', routeDecision(subject, tier, d), {
      source: subject.source,
      correlationId: subject.correlationId,
    });
  }
}
