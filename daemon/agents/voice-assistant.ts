/**
 * Voice assistant agent: `inference/stt/+` transcripts → local intents → tool calls.
 *
 * A transcript is matched against the configured intents (intents.ts). At or above
 * `minMatchScore` the agent publishes `agent/<id>/intent` (source `local`) and runs the intent's
 * tool with `{slot}` placeholders filled in. Below it, the text (never audio) goes to the router
 * as a `rpc/router/cloud-assist` request (when the cloud-assist tool is wired), whose tool calls
 * are executed through the registry; without it, or when the router declines (it kept the text
 * local, or the cloud failed), a `no_match` intent is published with the best score (source
 * `local`); a cloud answer without any tool call is a `no_match` with source `cloud`.
 *
 * Transcripts come from `inference/stt/+` only: a cloud refinement of one is published on
 * `inference/stt/<mic>/refined`, which this agent does not subscribe to, so an utterance is acted
 * on once.
 *
 * Interrupts: a speech start (`inference/vad/+` kind `start`) or a "stop"/"cancel" utterance
 * aborts the agent's in-flight actions (the cloud call and the tools it started) through their
 * AbortSignal, and is counted in state when something was in flight (or always, for stop words).
 */
import type { CloudAssistContext, CloudAssistReply, CloudAssistRequest } from '../bus/rpc-cloud-assist.js';
import type { IntentEvent, SpeechEvent, Transcript } from '../bus/topics.js';
import type { VoiceConfig } from '../config/index.js';
import { EdgeloomError, ErrorCode, isEdgeloomError } from '../errors.js';
import type { CloudToolGate } from './cloud-tools.js';
import { type CompiledIntent, compileIntents, matchIntent, normalize, substituteSlots } from './intents.js';
import type { AgentAction, AgentDefinition, AgentInput, DecideContext, Decision } from './reducer.js';
import type { ToolDefinition, ToolRegistry } from './tools.js';

/** Utterances that cancel in-flight work instead of being matched. */
export const STOP_WORDS: readonly string[] = [
  'stop',
  'cancel',
  'never mind',
  'nevermind',
  'stop it',
  'cancel that',
];

export const CLOUD_ASSIST_TOOL = 'voice.cloud_assist';

export interface VoiceState {
  readonly utterances: number;
  readonly matched: number;
  readonly noMatch: number;
  readonly cloudRequests: number;
  readonly interrupts: number;
  readonly lastIntent: { readonly intent: string; readonly score: number; readonly text: string } | null;
}

export type VoiceEvent =
  | { readonly type: 'matched'; readonly intent: string; readonly score: number; readonly text: string }
  | { readonly type: 'no_match'; readonly score: number; readonly text: string }
  | { readonly type: 'cloud_requested'; readonly score: number; readonly text: string }
  | {
      readonly type: 'interrupted';
      readonly reason: 'speech_start' | 'stop_word';
      readonly inFlight: number;
    };

export function initialVoiceState(): VoiceState {
  return { utterances: 0, matched: 0, noMatch: 0, cloudRequests: 0, interrupts: 0, lastIntent: null };
}

export function reduceVoice(s: VoiceState, e: VoiceEvent): VoiceState {
  switch (e.type) {
    case 'matched':
      return {
        ...s,
        utterances: s.utterances + 1,
        matched: s.matched + 1,
        lastIntent: { intent: e.intent, score: e.score, text: e.text },
      };
    case 'no_match':
      return { ...s, utterances: s.utterances + 1, noMatch: s.noMatch + 1 };
    case 'cloud_requested':
      return { ...s, utterances: s.utterances + 1, cloudRequests: s.cloudRequests + 1 };
    case 'interrupted':
      return { ...s, interrupts: s.interrupts + 1 };
  }
}

export interface VoiceAgentOptions {
  readonly config: VoiceConfig;
  /** Whether a cloud assistant is wired (the `voice.cloud_assist` tool is registered). */
  readonly cloud: boolean;
  /** Default `voice`. */
  readonly id?: string;
}

export function voiceAgent(o: VoiceAgentOptions): AgentDefinition<VoiceState, VoiceEvent> {
  const intents: CompiledIntent[] = compileIntents(o.config.intents);
  const id = o.id ?? 'voice';
  const intentTopic = `agent/${id}/intent` as const;
  const stopWords = new Set(STOP_WORDS);

  const decide = (_s: VoiceState, input: AgentInput, ctx: DecideContext): Decision<VoiceEvent> => {
    if (input.kind !== 'message') return NONE;
    if (input.env.topic.startsWith('inference/vad/')) {
      const speech = input.env.payload as SpeechEvent;
      if (speech.kind !== 'start' || ctx.inFlightActions === 0) return NONE;
      return {
        events: [{ type: 'interrupted', reason: 'speech_start', inFlight: ctx.inFlightActions }],
        actions: [],
        interrupt: true,
      };
    }
    const t = input.env.payload as Transcript;
    const text = normalize(t.text);
    if (text === '') return NONE;
    if (stopWords.has(text)) {
      return {
        events: [{ type: 'interrupted', reason: 'stop_word', inFlight: ctx.inFlightActions }],
        actions: [],
        interrupt: true,
      };
    }
    const m = matchIntent(intents, t.text);
    const score = m?.score ?? 0;
    if (m !== undefined && score >= o.config.min_match_score) {
      const intent: IntentEvent = { intent: m.intent, slots: m.slots, score, text: t.text, source: 'local' };
      const actions: AgentAction[] = [{ kind: 'publish', topic: intentTopic, payload: intent }];
      if (m.action.tool !== '')
        actions.push({ kind: 'tool', tool: m.action.tool, args: substituteSlots(m.action.args, m.slots) });
      return { events: [{ type: 'matched', intent: m.intent, score, text: t.text }], actions };
    }
    if (o.cloud) {
      const env = input.env;
      const args: CloudAssistArgs = {
        text: t.text,
        topic: env.topic,
        source_id: env.id,
        correlation_id: env.correlationId ?? env.id,
        score,
        min_score: o.config.min_match_score,
        explicit_cloud: (env.tags ?? []).includes(EXPLICIT_CLOUD_TAG),
      };
      return {
        events: [{ type: 'cloud_requested', score, text: t.text }],
        actions: [{ kind: 'tool', tool: CLOUD_ASSIST_TOOL, args }],
      };
    }
    const noMatch: IntentEvent = { intent: 'no_match', slots: {}, score, text: t.text, source: 'local' };
    return {
      events: [{ type: 'no_match', score, text: t.text }],
      actions: [{ kind: 'publish', topic: intentTopic, payload: noMatch }],
    };
  };

  return {
    id,
    capabilities: ['voice', 'intent'],
    subscriptions: [
      // Batched (guaranteed), 64 deep: every utterance counts; a backlog slows the STT stage.
      { pattern: 'inference/stt/+', qos: 'batched', capacity: 64 },
      // Realtime, 16 deep: speech starts are only useful now; a critical one interrupts on arrival.
      { pattern: 'inference/vad/+', qos: 'realtime', capacity: 16, interruptible: true },
    ],
    initialState: initialVoiceState(),
    reduce: reduceVoice,
    decide,
  };
}

const NONE: Decision<VoiceEvent> = { events: [], actions: [] };

/** Envelope tag of an explicit request for the cloud (same as the router's EXPLICIT_CLOUD_TAG). */
const EXPLICIT_CLOUD_TAG = 'explicit_cloud';

/** Arguments of the internal `voice.cloud_assist` tool (only `text` is required). */
export interface CloudAssistArgs {
  readonly text: string;
  readonly topic?: string;
  readonly source_id?: string;
  readonly correlation_id?: string;
  readonly score?: number;
  readonly min_score?: number;
  readonly explicit_cloud?: boolean;
}

/**
 * Asks the router (`rpc/router/cloud-assist`, answered by its cloud gateway); must honour `signal`
 * (an aborted request cancels the router's call too).
 */
export type RequestCloudAssist = (
  request: CloudAssistRequest,
  signal: AbortSignal,
) => Promise<CloudAssistReply>;

/** The tool's own time limit, ms: the cloud round trip plus the tools it calls. */
export const CLOUD_ASSIST_TOOL_TIMEOUT_MS = 20_000;
/** How long the router may take to answer, ms: inside the tool's limit, leaving time for the tools. */
export const CLOUD_ASSIST_REQUEST_TIMEOUT_MS = 15_000;

/**
 * The internal `voice.cloud_assist` tool: sends the text to the router with the tools the
 * cloud may call (`gate`, daemon/agents/cloud-tools.ts: `agents.cloud_tools`), then runs the
 * returned calls through the gate (policy, audit) and the registry (as external calls: internal
 * tools are refused) with the same signal, so an interrupt cancels the whole chain.
 */
export function cloudAssistTool(
  requestAssist: RequestCloudAssist,
  registry: ToolRegistry,
  publishIntent: (intent: IntentEvent) => Promise<void> | undefined,
  gate: CloudToolGate,
): ToolDefinition<CloudAssistArgs> {
  return {
    name: CLOUD_ASSIST_TOOL,
    description: 'Ask the cloud assistant what to do with an utterance the local intents did not match.',
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
      },
      required: ['text'],
      additionalProperties: false,
    },
    timeoutMs: CLOUD_ASSIST_TOOL_TIMEOUT_MS,
    async execute(args, { signal }) {
      const context: CloudAssistContext | undefined =
        args.topic === undefined
          ? undefined
          : {
              topic: args.topic,
              sourceId: args.source_id ?? '',
              correlationId: args.correlation_id ?? args.source_id ?? '',
              score: args.score ?? 0,
              minScore: args.min_score ?? 1,
              explicitCloud: args.explicit_cloud === true,
            };
      const reply = await askRouter(
        requestAssist,
        {
          text: args.text,
          tools: gate.definitions(registry),
          ...(context === undefined ? {} : { context }),
        },
        signal,
      );
      if (reply.declined !== undefined) {
        signal.throwIfAborted();
        // The router kept the text on the device (or the cloud did not answer): the local result stands.
        await publishIntent({
          intent: 'no_match',
          slots: {},
          score: args.score ?? 0,
          text: args.text,
          source: 'local',
        });
        return { calls: [], declined: reply.declined };
      }
      if (reply.intent === undefined && reply.toolCalls.length === 0) {
        // The cloud answered but had nothing to do: no intent either way.
        await publishIntent({ intent: 'no_match', slots: {}, score: 0, text: args.text, source: 'cloud' });
      }
      if (reply.intent !== undefined) {
        await publishIntent({ intent: reply.intent, slots: {}, score: 1, text: args.text, source: 'cloud' });
      }
      const results = await gate.run(registry, reply.toolCalls, {
        signal,
        correlationId: args.correlation_id ?? args.source_id ?? '',
      });
      if (signal.aborted)
        throw new EdgeloomError(ErrorCode.E_TOOL_ABORTED, 'cloud assist cancelled', {
          where: `tool ${CLOUD_ASSIST_TOOL}`,
        });
      return { calls: results };
    },
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
