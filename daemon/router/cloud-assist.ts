/**
 * The router's chat path: the `CloudAssist` function the voice agent calls for an utterance its
 * local intents did not match. Same rules as every other cloud call:
 *
 * 1. The policy (`decide()`, kind `intent`) is asked with what is known: the local match score
 *    against `min_match_score`, derived data only (the transcript TEXT; audio never goes this
 *    way), the privacy tier of the transcript's topic (`inference/stt/<mic>`: sensors.mic.privacy
 *    and the overrides, run-time changes included), the cost cap and the breaker. The decision is
 *    published on `router/decision` like the stage's own.
 * 2. Only for `cloud` (or `hybrid`) does the text go to `/chat/completions`, through the one
 *    egress (privacy guard + audit log), with the tool registry's function definitions; the call
 *    streams and the tool calls are collected from the stream.
 * 3. Anything else (privacy, cloud disabled, breaker open, cost cap, a failed or timed-out call)
 *    returns no tool calls with the reason in `declined`, and the agent publishes `no_match`.
 *
 * The AbortSignal the agent passes (a new speech start or a "stop" utterance aborts it) and the
 * stage's stop both cancel the call mid-stream; the cancellation is rethrown so the agent's tool
 * reports `E_TOOL_ABORTED` rather than a `no_match` nobody asked for.
 */

import type { PrivacyTier, RouteDecision } from '../bus/topics.js';
import type { EventBus } from '../bus/types.js';
import type { CloudConfig, RouterConfig } from '../config/index.js';
import { ErrorCode, isEdgeloomError, toError } from '../errors.js';
import type { Logger } from '../log.js';
import type { ChatMessage, ChatTool } from './cloud-api.js';
import { decide, type PolicyDecision } from './policy.js';
import type { RouterChatPath } from './router.js';

/** A tool call the cloud model asked for (OpenAI function name, parsed arguments). */
export interface CloudToolCall {
  readonly name: string;
  readonly arguments: unknown;
}

export interface CloudAssistReply {
  readonly toolCalls: readonly CloudToolCall[];
  /** Intent name the model reports, when it does; published with source `cloud`. */
  readonly intent?: string;
  /**
   * Set when the text did not go to the cloud or no answer came back (the router's reason code,
   * e.g. `privacy_local_only`, `cloud_disabled`, `cloud_timeout`): the agent publishes `no_match`.
   */
  readonly declined?: string;
}

/** Where an utterance came from, so the router can apply the transcript's privacy tier. */
export interface CloudAssistContext {
  /** The transcript's bus topic, e.g. `inference/stt/mic`. */
  readonly topic: string;
  /** The transcript envelope's id. */
  readonly sourceId: string;
  readonly correlationId: string;
  /** Best local intent score, 0..1, and the score an intent needs (`agents.voice.min_match_score`). */
  readonly score: number;
  readonly minScore: number;
  /** The transcript was tagged `explicit_cloud` (the user asked for the cloud). */
  readonly explicitCloud: boolean;
}

/**
 * What the voice agent calls for an utterance its intents did not match (agents/voice-assistant.ts).
 * Sends the transcript TEXT (never audio) with the tool definitions; must honour `signal`.
 * `context` is given by the voice agent (absent only for callers outside it).
 */
export type CloudAssist = (
  text: string,
  tools: readonly ChatTool[],
  signal: AbortSignal,
  context?: CloudAssistContext,
) => Promise<CloudAssistReply>;

/** Model id the intent decisions carry (the local template matcher). */
export const INTENT_MODEL_ID = 'voice-intents';
/** Topic assumed for an utterance without context (the default microphone's transcripts). */
export const DEFAULT_STT_TOPIC = 'inference/stt/mic';
/** Tool calls taken from one answer; more are ignored (a model looping on calls). */
export const MAX_TOOL_CALLS = 8;

export const SYSTEM_PROMPT =
  'You are the voice assistant of a small home device. The user said the text below. ' +
  'When one of the tools carries out the request, call it with exact arguments. ' +
  'When none fits, answer in one short sentence without calling a tool.';

export interface CloudAssistOptions {
  /** The router stage (or anything that hands out its shared chat pieces once started). */
  readonly router: { chatPath(): RouterChatPath | undefined };
  readonly bus: EventBus;
  readonly config: { readonly router: RouterConfig; readonly cloud: CloudConfig };
  readonly logger: Logger;
  /** Budget of one chat call, retries included, ms; default `router.latency_budget_ms`. */
  readonly budgetMs?: number;
  /** The system message; default SYSTEM_PROMPT. */
  readonly systemPrompt?: string;
}

/** Build the voice agent's `cloudAssist` on the router's policy, breaker, cost cap and egress. */
export function createCloudAssist(o: CloudAssistOptions): CloudAssist {
  const { router: routerConfig, cloud } = o.config;
  const budgetMs = o.budgetMs ?? routerConfig.latency_budget_ms;
  const log = o.logger.child({ part: 'cloud-assist' });
  let anonymous = 0;

  const publish = (
    sourceId: string,
    correlationId: string,
    tier: PrivacyTier,
    d: PolicyDecision | (Omit<PolicyDecision, 'reason'> & { reason: string }),
  ): void => {
    const payload: RouteDecision = {
      inferenceId: sourceId,
      kind: 'intent',
      modelId: INTENT_MODEL_ID,
      route: d.route,
      reason: d.reason,
      numbers: d.numbers,
      tier,
    };
    void o.bus.publish('router/decision', payload, { source: 'router.cloud-assist', correlationId });
  };

  return async (text, tools, signal, context) => {
    signal.throwIfAborted();
    const path = o.router.chatPath();
    if (path === undefined) return { toolCalls: [], declined: 'router_not_running' };
    const sourceId = context?.sourceId || `cloud-assist-${++anonymous}`;
    const correlationId = context?.correlationId || sourceId;
    const tier = path.tierFor(context?.topic ?? DEFAULT_STT_TOPIC);
    const explicitUserRequest = context?.explicitCloud === true;
    const callUsd = routerConfig.cost.chat_call_usd;
    const decision = decide({
      kind: 'intent',
      modelId: INTENT_MODEL_ID,
      // The local matcher ran: its answer is no_match with this score.
      localAvailable: true,
      confidence: context?.score ?? 0,
      threshold: context?.minScore ?? 1,
      // The agent only asks below its threshold, where no band applies.
      hybridBand: 0,
      cloudData: 'derived',
      tier,
      explicitUserRequest,
      latencyBudgetMs: routerConfig.latency_budget_ms,
      cost: {
        spentTodayUsd: path.cost.spentTodayUsd(),
        dailyCapUsd: routerConfig.cost.daily_cap_usd,
        callUsd,
      },
      cloud: { enabled: cloud.enabled, breaker: path.breaker.state(), p50LatencyMs: path.telemetry.p50Ms() },
    });
    path.telemetry.countDecision(decision.route);
    publish(sourceId, correlationId, tier, decision);
    if (decision.route !== 'cloud' && decision.route !== 'hybrid') {
      return { toolCalls: [], declined: decision.reason };
    }

    await path.cost.charge(callUsd);
    path.telemetry.cloudCalls++;
    const messages: ChatMessage[] = [
      { role: 'system', content: o.systemPrompt ?? SYSTEM_PROMPT },
      { role: 'user', content: text },
    ];
    try {
      const r = await path.client.chat(
        // The registry's definitions are OpenAI function tools already.
        { messages, tools: tools as readonly ChatTool[] },
        {
          context: { tier, reason: decision.reason, correlationId, sourceId, explicitUserRequest },
          budgetMs,
          signal: AbortSignal.any([signal, path.stopSignal]),
        },
      );
      path.telemetry.recordCloudLatency(r.latencyMs);
      return replyOf(r.toolCalls, log);
    } catch (thrown) {
      path.telemetry.cloudFailures++;
      const err = toError(thrown);
      const code = isEdgeloomError(err) ? err.code : ErrorCode.E_UNKNOWN;
      const reason = failureReason(code);
      log.warn({ code, err: err.message, correlationId }, 'cloud assist failed');
      // A follow-up decision for the same utterance (not counted again in the stats).
      publish(sourceId, correlationId, tier, { ...decision, route: 'local_fallback', reason });
      // Cancelled: the agent's interrupt (or our stop) is the answer, not a no_match.
      if (signal.aborted || path.stopSignal.aborted) throw err;
      return { toolCalls: [], declined: reason };
    }
  };
}

function failureReason(code: ErrorCode): string {
  switch (code) {
    case ErrorCode.E_CLOUD_TIMEOUT:
      return 'cloud_timeout';
    case ErrorCode.E_CLOUD_ABORTED:
      return 'cloud_aborted';
    case ErrorCode.E_CLOUD_BREAKER_OPEN:
      return 'breaker_open';
    case ErrorCode.E_PRIVACY_VIOLATION:
      return 'privacy_refused';
    default:
      return 'cloud_failed';
  }
}

/**
 * The streamed tool calls as the agent's calls. Arguments that are not JSON are passed on as
 * the raw text: the registry's schema check then refuses the call with `E_TOOL_INVALID_ARGS`,
 * visible on `tool/<name>/result`, instead of the call silently vanishing here.
 */
function replyOf(calls: readonly { name: string; arguments: string }[], log: Logger): CloudAssistReply {
  if (calls.length > MAX_TOOL_CALLS)
    log.warn({ calls: calls.length, kept: MAX_TOOL_CALLS }, 'cloud answer has too many tool calls');
  const toolCalls: CloudToolCall[] = calls.slice(0, MAX_TOOL_CALLS).map((c) => {
    let args: unknown = c.arguments;
    try {
      args = JSON.parse(c.arguments === '' ? '{}' : c.arguments);
    } catch {
      // kept as text, see above
    }
    return { name: c.name, arguments: args };
  });
  return toolCalls.length > 0 ? { toolCalls, intent: 'cloud_assist' } : { toolCalls };
}
