/**
 * The conversation loop (issue #14, seed 000's interrupt-capable tool-calling loop): the internal
 * `voice.cloud_assist` tool the voice agent calls for an utterance no local intent matched.
 *
 * Each round asks the router (`rpc/router/cloud-assist`: policy, privacy tier, breaker, cost cap,
 * the one egress) with the conversation's earlier turns, the utterance and this turn's steps so
 * far. The answer streams back on `router/assist/delta`; it is cut into sentences as it comes
 * (sentence-stream.ts), each one queued for speech at once (`action/say`) and shown
 * (`agent/<id>/answer`, final false), then the whole answer once (final true). Tool calls run
 * through the cloud tool gate (`agents.cloud_tools`: allow-list, audit, rate) and their results go
 * back to the model as `tool` messages, for at most `maxSteps` rounds. The agent's AbortSignal
 * runs through everything: a barge-in cancels the stream, the tools in flight and the rest.
 *
 * The tool's result (`ConversationResult`) comes back to the agent on `tool/voice.cloud_assist/
 * result`, which folds the turn into its conversation state.
 */
import type {
  CloudAssistContext,
  CloudAssistReply,
  CloudAssistRequest,
  ConversationMessage,
} from '../bus/rpc-cloud-assist.js';
import type { IntentEvent } from '../bus/topics.js';
import type { EventBus } from '../bus/types.js';
import { EdgeloomError, ErrorCode, isEdgeloomError } from '../errors.js';
import type { CloudToolGate } from './cloud-tools.js';
import { SentenceStream } from './sentence-stream.js';
import type { ToolDefinition, ToolRegistry } from './tools.js';

export const CLOUD_ASSIST_TOOL = 'voice.cloud_assist';

/** How long the router may take to answer one round, ms (the tool's limit leaves room for tools). */
export const CLOUD_ASSIST_REQUEST_TIMEOUT_MS = 15_000;
/** Time per round for the tool's own limit, ms: the round trip plus the tools it calls. */
export const CLOUD_ASSIST_ROUND_MS = 20_000;

/** Arguments of `voice.cloud_assist` (only `text` is required). */
export interface CloudAssistArgs {
  readonly text: string;
  readonly topic?: string;
  readonly source_id?: string;
  readonly correlation_id?: string;
  readonly score?: number;
  readonly min_score?: number;
  readonly explicit_cloud?: boolean;
  readonly conversation_id?: string;
  /** Earlier turns, oldest first, as user/assistant messages. */
  readonly history?: readonly { readonly role: 'user' | 'assistant'; readonly content: string }[];
  /** The utterance's time, ms, handed back in the result (the turn's time in the agent's state). */
  readonly at_ms?: number;
}

/** What the tool returns: the agent folds it into the conversation (`answered`). */
export interface ConversationResult {
  readonly conversation_id: string;
  readonly user: string;
  readonly answer: string;
  readonly rounds: number;
  readonly calls: readonly { readonly tool: string; readonly ok: boolean; readonly code?: string }[];
  readonly declined?: string;
  readonly at_ms?: number;
}

/** Asks the router; must honour `signal` (an aborted request cancels the router's call too). */
export type RequestCloudAssist = (
  request: CloudAssistRequest,
  signal: AbortSignal,
) => Promise<CloudAssistReply>;

export interface ConversationToolOptions {
  readonly bus: EventBus;
  readonly registry: ToolRegistry;
  readonly gate: CloudToolGate;
  readonly requestAssist: RequestCloudAssist;
  /** Rounds with the model at most (config `agents.voice.conversation.max_steps`). */
  readonly maxSteps: number;
  /** The agent's id (`agent/<id>/intent`, `agent/<id>/answer`) and envelope source. */
  readonly agentId: string;
  readonly source: string;
}

/** Said when the model still asks for tools after the last round. */
export const OUT_OF_STEPS_ANSWER = 'Sorry, I could not finish that.';

export function conversationTool(o: ConversationToolOptions): ToolDefinition<CloudAssistArgs> {
  const intentTopic = `agent/${o.agentId}/intent` as const;
  const answerTopic = `agent/${o.agentId}/answer` as const;
  let streams = 0;
  const publishIntent = async (intent: IntentEvent): Promise<void> => {
    await o.bus.publish(intentTopic, intent, { source: o.source });
  };
  return {
    name: CLOUD_ASSIST_TOOL,
    description: 'Ask the cloud assistant about an utterance the local intents did not match.',
    internal: true,
    parameters: {
      type: 'object',
      properties: {
        text: { type: 'string', minLength: 1, maxLength: 2000 },
        topic: { type: 'string', minLength: 1, maxLength: 256 },
        source_id: { type: 'string', maxLength: 256 },
        correlation_id: { type: 'string', maxLength: 256 },
        score: { type: 'number', minimum: 0, maximum: 1 },
        min_score: { type: 'number', minimum: 0, maximum: 1 },
        explicit_cloud: { type: 'boolean' },
        conversation_id: { type: 'string', maxLength: 64 },
        at_ms: { type: 'number' },
        history: {
          type: 'array',
          maxItems: 64,
          items: {
            type: 'object',
            properties: {
              role: { type: 'string', enum: ['user', 'assistant'] },
              content: { type: 'string', maxLength: 8000 },
            },
            required: ['role', 'content'],
            additionalProperties: false,
          },
        },
      },
      required: ['text'],
      additionalProperties: false,
    },
    timeoutMs: o.maxSteps * CLOUD_ASSIST_ROUND_MS,
    async execute(args, { signal }) {
      const conversationId = args.conversation_id ?? 'conversation';
      const correlationId = args.correlation_id ?? args.source_id ?? '';
      const streamId = `${o.agentId}:${++streams}`;
      const context: CloudAssistContext | undefined =
        args.topic === undefined
          ? undefined
          : {
              topic: args.topic,
              sourceId: args.source_id ?? '',
              correlationId,
              score: args.score ?? 0,
              minScore: args.min_score ?? 1,
              explicitCloud: args.explicit_cloud === true,
            };
      // Sentences are spoken and shown as they complete; the last one is marked final below.
      let said = 0;
      const say = (text: string, final: boolean): void => {
        said++;
        void o.bus
          .publish(
            'action/say',
            { text, utteranceId: `${streamId}:${said}`, conversationId, final, source: 'answer' },
            { source: o.source, correlationId },
          )
          ?.catch(() => undefined);
        void o.bus
          .publish(answerTopic, { text, final: false, conversationId }, { source: o.source, correlationId })
          ?.catch(() => undefined);
      };
      // After the reply, its own text is authoritative: fragments still queued are not pushed again.
      let finished = false;
      // Each sentence is queued for speech as soon as it is complete; the last one (the rest of
      // the text at the end) carries `final`.
      const sentences = new SentenceStream((text, last) => say(text, last));
      const deltas = o.bus.subscribe(
        'router/assist/delta',
        (env) => {
          if (env.payload.streamId === streamId && !finished && !signal.aborted)
            sentences.push(env.payload.text);
        },
        { component: `${o.source}.stream`, qos: 'batched', queueCapacity: 1024 },
      );
      const steps: ConversationMessage[] = [];
      // Calls made for this utterance: the same call asked again in a later round is refused.
      const seen = new Set<string>();
      const calls: ConversationResult['calls'][number][] = [];
      let answer = '';
      let rounds = 0;
      try {
        for (;;) {
          rounds++;
          const reply = await askRouter(
            o.requestAssist,
            {
              text: args.text,
              tools: o.gate.definitions(o.registry),
              history: args.history ?? [],
              steps,
              streamId,
              ...(context === undefined ? {} : { context }),
            },
            signal,
          );
          signal.throwIfAborted();
          if (reply.declined !== undefined) {
            if (rounds === 1) {
              // The router kept the text on the device (or the cloud did not answer): the local result stands.
              await publishIntent({
                intent: 'no_match',
                slots: {},
                score: args.score ?? 0,
                text: args.text,
                source: 'local',
              });
              return result(args.at_ms, conversationId, args.text, '', rounds, calls, reply.declined);
            }
            answer = OUT_OF_STEPS_ANSWER;
            break;
          }
          if (rounds === 1) {
            const intent =
              reply.intent ??
              (reply.content !== undefined && reply.toolCalls.length === 0 ? 'answer' : 'no_match');
            await publishIntent({
              intent,
              slots: {},
              score: intent === 'no_match' ? 0 : 1,
              text: args.text,
              source: 'cloud',
            });
          }
          if (reply.toolCalls.length === 0) {
            answer = reply.content ?? '';
            break;
          }
          if (rounds >= o.maxSteps) {
            answer = reply.content ?? OUT_OF_STEPS_ANSWER;
            break;
          }
          const outcomes = await o.gate.run(o.registry, reply.toolCalls, {
            signal,
            correlationId,
            alreadyRan: calls.filter((c) => c.ok).length,
            seen,
          });
          signal.throwIfAborted();
          // The model sees its own calls and what each gave, in its own ids.
          const ids = reply.toolCalls.map((c, i) => c.id ?? `call_${rounds}_${i}`);
          steps.push({
            role: 'assistant',
            content: reply.content ?? '',
            tool_calls: reply.toolCalls.map((c, i) => ({
              id: ids[i]!,
              type: 'function',
              function: { name: c.name, arguments: JSON.stringify(c.arguments ?? {}) },
            })),
          });
          outcomes.forEach((r, i) => {
            calls.push({ tool: r.tool, ok: r.ok, ...(r.code === undefined ? {} : { code: r.code }) });
            steps.push({
              role: 'tool',
              tool_call_id: ids[i]!,
              content: JSON.stringify(r.ok ? (r.result ?? null) : { error: r.code ?? 'failed' }),
            });
          });
        }
        if (answer === '' && calls.length === 0)
          return result(args.at_ms, conversationId, args.text, '', rounds, calls);
        finished = true;
        sentences.finish(answer);
        await o.bus.publish(answerTopic, { text: answer, final: true, conversationId }, { source: o.source });
        return result(args.at_ms, conversationId, args.text, answer, rounds, calls);
      } catch (err) {
        if (signal.aborted)
          throw new EdgeloomError(ErrorCode.E_TOOL_ABORTED, 'conversation cancelled', {
            where: `tool ${CLOUD_ASSIST_TOOL}`,
            cause: err,
          });
        throw err;
      } finally {
        await deltas.unsubscribe();
      }
    },
  };
}

function result(
  atMs: number | undefined,
  conversationId: string,
  user: string,
  answer: string,
  rounds: number,
  calls: ConversationResult['calls'],
  declined?: string,
): ConversationResult {
  return {
    ...(atMs === undefined ? {} : { at_ms: atMs }),
    conversation_id: conversationId,
    user,
    answer,
    rounds,
    calls,
    ...(declined === undefined ? {} : { declined }),
  };
}

/**
 * The router's answer; a router that is not there to answer (not running, the bus closing or
 * full) is a decline like any other, so the local `no_match` stands. The caller's own abort is
 * rethrown: the interrupt is the answer.
 */
async function askRouter(
  requestAssist: RequestCloudAssist,
  request: CloudAssistRequest,
  signal: AbortSignal,
): Promise<CloudAssistReply> {
  try {
    return await requestAssist(request, signal);
  } catch (err) {
    const unanswered =
      isEdgeloomError(err, ErrorCode.E_BUS_TIMEOUT) ||
      isEdgeloomError(err, ErrorCode.E_BUS_CLOSED) ||
      isEdgeloomError(err, ErrorCode.E_BUS_BACKPRESSURE);
    if (signal.aborted || !unanswered) throw err;
    return { toolCalls: [], declined: 'router_not_running' };
  }
}
