/**
 * Voice assistant agent: `inference/stt/+` transcripts → local intents → tool calls.
 *
 * A transcript is matched against the configured intents (intents.ts). At or above
 * `minMatchScore` the agent publishes `agent/<id>/intent` (source `local`) and runs the intent's
 * tool with `{slot}` placeholders filled in. Below it, the text (never audio) goes to the optional
 * `cloudAssist`, whose tool calls are executed through the registry; without one, a `no_match`
 * intent is published with the best score.
 *
 * Interrupts: a speech start (`inference/vad/+` kind `start`) or a "stop"/"cancel" utterance
 * aborts the agent's in-flight actions (the cloud call and the tools it started) through their
 * AbortSignal, and is counted in state when something was in flight (or always, for stop words).
 */
import type { IntentEvent, SpeechEvent, Transcript } from '../bus/topics.js';
import type { VoiceConfig } from '../config/index.js';
import { EdgeloomError } from '../errors.js';
import { type CompiledIntent, compileIntents, matchIntent, normalize, substituteSlots } from './intents.js';
import type { AgentAction, AgentDefinition, AgentInput, DecideContext, Decision } from './reducer.js';
import type { FunctionDefinition, ToolDefinition, ToolRegistry } from './tools.js';

/** Utterances that cancel in-flight work instead of being matched. */
export const STOP_WORDS: readonly string[] = [
  'stop',
  'cancel',
  'never mind',
  'nevermind',
  'stop it',
  'cancel that',
];

/** A tool call the cloud model asked for (OpenAI function name, parsed arguments). */
export interface CloudToolCall {
  readonly name: string;
  readonly arguments: unknown;
}

export interface CloudAssistReply {
  readonly toolCalls: readonly CloudToolCall[];
  /** Intent name the model reports, when it does; published with source `cloud`. */
  readonly intent?: string;
}

/** Sends the transcript TEXT (never audio) with the tool definitions; must honour `signal`. */
export type CloudAssist = (
  text: string,
  tools: FunctionDefinition[],
  signal: AbortSignal,
) => Promise<CloudAssistReply>;

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
  const intentTopic = `agent/${id}/intent`;
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
      return {
        events: [{ type: 'cloud_requested', score, text: t.text }],
        actions: [{ kind: 'tool', tool: CLOUD_ASSIST_TOOL, args: { text: t.text } }],
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

/**
 * The internal `voice.cloud_assist` tool: sends the text to `cloudAssist` with the registry's
 * public tools, then runs the returned calls (as external calls: internal tools are refused)
 * with the same signal, so an interrupt cancels the whole chain.
 */
export function cloudAssistTool(
  cloudAssist: CloudAssist,
  registry: ToolRegistry,
  publishIntent: (intent: IntentEvent) => Promise<void> | undefined,
): ToolDefinition<{ text: string }> {
  return {
    name: CLOUD_ASSIST_TOOL,
    description: 'Ask the cloud assistant what to do with an utterance the local intents did not match.',
    internal: true,
    parameters: {
      type: 'object',
      properties: { text: { type: 'string', minLength: 1, maxLength: 2000 } },
      required: ['text'],
      additionalProperties: false,
    },
    // Cloud round trip plus the tools it calls.
    timeoutMs: 20_000,
    async execute(args, { signal }) {
      const reply = await cloudAssist(args.text, registry.asFunctionDefinitions(), signal);
      if (reply.intent !== undefined) {
        await publishIntent({ intent: reply.intent, slots: {}, score: 1, text: args.text, source: 'cloud' });
      }
      const results = [];
      for (const call of reply.toolCalls) {
        signal.throwIfAborted();
        const tool = registry.fromFunctionName(call.name);
        if (tool === undefined) {
          results.push({ tool: call.name, ok: false, code: 'E_TOOL_UNKNOWN' });
          continue;
        }
        const r = await registry.execute(tool, call.arguments, {
          signal,
          external: true,
          source: 'agent.voice.cloud',
        });
        results.push({ tool, ok: r.ok, ...(r.error ? { code: r.error.code } : {}) });
      }
      if (signal.aborted)
        throw new EdgeloomError('E_TOOL_ABORTED', 'cloud assist cancelled', {
          where: `tool ${CLOUD_ASSIST_TOOL}`,
        });
      return { calls: results };
    },
  };
}
