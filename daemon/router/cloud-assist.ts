/**
 * What is particular to the cloud-assist path (the gateway's `assist`, answering
 * `rpc/router/cloud-assist` for the voice agent) under the same rules as every other cloud call:
 *
 * 1. The policy (kind `intent`) is asked with what is known: the local match score against
 *    `min_match_score`, derived data only (the transcript TEXT; audio never goes this way), the
 *    privacy tier of the transcript's topic (`inference/stt/<mic>`: sensors.mic.privacy and the
 *    overrides, run-time changes included), the cost cap and the breaker (`assistAsk`).
 * 2. Only for `cloud` or `hybrid` does the text go to `/chat/completions` (`assistMessages`), through the one
 *    egress, with the tool definitions the agent offers; the call streams and the tool calls are
 *    collected from the stream (`replyOf`).
 * 3. Anything else returns no tool calls with the reason in `declined`, and the agent publishes
 *    `no_match`.
 */
import type { CloudAssistReply, CloudAssistRequest, CloudToolCall } from '../bus/rpc-cloud-assist.js';
import type { Logger } from '../log.js';
import type { ChatMessage } from './cloud-api.js';
import type { DecisionAsk } from './decisions.js';

/** Model id the intent decisions carry (the local template matcher). */
export const INTENT_MODEL_ID = 'voice-intents';
/** Topic assumed for an utterance without context (the default microphone's transcripts). */
export const DEFAULT_STT_TOPIC = 'inference/stt/mic';
/** Envelope source of the intent decisions. */
export const ASSIST_SOURCE = 'router.cloud-assist';
/** Tool calls taken from one answer; more are ignored (a model looping on calls). */
export const MAX_TOOL_CALLS = 8;

export const SYSTEM_PROMPT =
  'You are the voice assistant of a small home device; your answers are spoken aloud. ' +
  'When one of the tools carries out the request or gives you what you need, call it with exact ' +
  'arguments; its result comes back to you. Answer in one to three short plain sentences, ' +
  'without markup.';

/** The policy question for an unmatched utterance; `anonymous` numbers one without a context. */
export function assistAsk(
  request: CloudAssistRequest,
  callUsd: number,
  anonymous: () => number,
): DecisionAsk {
  const c = request.context;
  const inferenceId = c?.sourceId || `cloud-assist-${anonymous()}`;
  return {
    subject: {
      inferenceId,
      correlationId: c?.correlationId || inferenceId,
      kind: 'intent',
      modelId: INTENT_MODEL_ID,
      source: ASSIST_SOURCE,
    },
    topic: c?.topic ?? DEFAULT_STT_TOPIC,
    // The local matcher ran: its answer is no_match with this score.
    localAvailable: true,
    confidence: c?.score ?? 0,
    threshold: c?.minScore ?? 1,
    // The agent only asks below its threshold, where no band applies.
    hybridBand: 0,
    cloudData: 'derived',
    explicitUserRequest: c?.explicitCloud === true,
    callUsd,
  };
}

/** Earlier turns, the utterance, then this turn's tool calls and results, after the system prompt. */
export function assistMessages(request: CloudAssistRequest): ChatMessage[] {
  return [
    { role: 'system', content: SYSTEM_PROMPT },
    ...(request.history ?? []),
    { role: 'user', content: request.text },
    ...(request.steps ?? []),
  ];
}

/**
 * The streamed tool calls as the agent's calls. Arguments that are not JSON are passed on as
 * the raw text: the registry's schema check then refuses the call with `E_TOOL_INVALID_ARGS`,
 * visible on `tool/<name>/result`, instead of the call silently vanishing here.
 */
export function replyOf(
  calls: readonly { id?: string; name: string; arguments: string }[],
  log: Logger,
  content = '',
): CloudAssistReply {
  if (calls.length > MAX_TOOL_CALLS)
    log.warn({ calls: calls.length, kept: MAX_TOOL_CALLS }, 'cloud answer has too many tool calls');
  const toolCalls: CloudToolCall[] = calls.slice(0, MAX_TOOL_CALLS).map((c) => {
    let args: unknown = c.arguments;
    try {
      args = JSON.parse(c.arguments === '' ? '{}' : c.arguments);
    } catch {
      // kept as text, see above
    }
    return { ...(c.id ? { id: c.id } : {}), name: c.name, arguments: args };
  });
  const text = content.trim() === '' ? {} : { content: content.trim() };
  return toolCalls.length > 0 ? { toolCalls, intent: 'cloud_assist', ...text } : { toolCalls, ...text };
}
