/**
 * Voice assistant agent (issue #14): transcripts → one action per utterance → local intents and
 * skills, or the conversation loop (voice-conversation.ts); answers spoken (`action/say`) and shown.
 *
 * Act once. A local transcript (`inference/stt/+`) is published at once by the STT stage (the
 * immediate feedback). When a cloud refinement may follow (cloud assist wired, `refine_wait_ms`
 * > 0), the agent holds the utterance (`heard`) and acts once: on the refinement
 * (`inference/stt/+/refined`, naming it in `refines`) if it comes within the wait; on the local
 * text when the router's decision for it (`router/decision`) says no cloud, or when the wait ends.
 * A refinement arriving later is ignored here (it is published on MQTT for information).
 *
 * Not every sound is a request. With `barge_in` other than `speech`, a transcript whose segment
 * overlaps the assistant's own playback (`action/speaking`) is its own voice, ignored (stop words
 * excepted under `stop_word`). With a wake phrase (wake mode `wake_word` without a wake-word
 * model), an utterance must start with the phrase unless a listening window is open
 * (`action/listen`: wake word, push-to-talk, or the follow-up window this agent opens after an
 * answer). An utterance starting with `consent_phrase` is an explicit request for the cloud.
 *
 * Interrupts: a speech start while the assistant speaks (barge_in `speech`) or while an answer is
 * in flight, or a "stop"/"cancel" utterance, aborts the agent's in-flight actions (the stream,
 * the tools) through their AbortSignal — on arrival, since the VAD subscription is
 * `interruptible` — and publishes `action/silence` for the TTS actuator.
 */
import type { Envelope } from '../bus/envelope.js';
import type {
  IntentEvent,
  ListenWindow,
  RouteDecision,
  SpeakingEvent,
  SpeechEvent,
  ToolResult,
  Transcript,
  WakeDetection,
} from '../bus/topics.js';
import type { VoiceConfig } from '../config/index.js';
import { type CompiledIntent, compileIntents, matchIntent, normalize, substituteSlots } from './intents.js';
import type { AgentAction, AgentDefinition, AgentInput, DecideContext, Decision } from './reducer.js';
import { CLOUD_ASSIST_TOOL, type CloudAssistArgs, type ConversationResult } from './voice-conversation.js';
import { STOP_WORDS, wordSimilarity } from './voice-phrases.js';
import {
  INITIAL_VOICE_WORKING,
  initialVoiceState,
  type PendingUtterance,
  type VoiceEvent,
  type VoiceState,
  type VoiceWorking,
  voiceReducer,
} from './voice-state.js';
import { stripWakePhrase } from './wake-phrase.js';

export { CLOUD_ASSIST_TOOL } from './voice-conversation.js';
export { STOP_WORDS } from './voice-phrases.js';
export type { VoiceEvent, VoiceState, VoiceWorking } from './voice-state.js';
export { initialVoiceState, reduceVoice } from './voice-state.js';

export interface VoiceAgentOptions {
  readonly config: VoiceConfig;
  /** Whether a cloud assistant is wired (the `voice.cloud_assist` tool is registered). */
  readonly cloud: boolean;
  /** Default `voice`. */
  readonly id?: string;
  /** The agent's component name: its tool calls' results come back with it as source. */
  readonly source?: string;
  /** An utterance must start with this phrase outside a listening window (wake phrase fallback). */
  readonly wakePhrase?: string;
  /** Upper bound of the refinement wait, ms (router.latency_budget_ms). */
  readonly latencyBudgetMs?: number;
}

/** Envelope tag of an explicit request for the cloud (same as the router's EXPLICIT_CLOUD_TAG). */
const EXPLICIT_CLOUD_TAG = 'explicit_cloud';
const NONE: Decision<VoiceEvent, VoiceWorking> = { events: [], actions: [] };
const REFINE_TIMER = 'refine';
const IDLE_TIMER = 'idle';

export function voiceAgent(o: VoiceAgentOptions): AgentDefinition<VoiceState, VoiceEvent, VoiceWorking> {
  const c = o.config;
  const intents: CompiledIntent[] = compileIntents(c.intents);
  const id = o.id ?? 'voice';
  const source = o.source ?? `agent.${id}`;
  const intentTopic = `agent/${id}/intent` as const;
  const answerTopic = `agent/${id}/answer` as const;
  const stopWords = new Set(STOP_WORDS);
  const refineWaitMs = o.cloud ? Math.min(c.refine_wait_ms, o.latencyBudgetMs ?? c.refine_wait_ms) : 0;
  const idleMs = c.conversation.idle_forget_s * 1000;
  const followUpMs = c.conversation.follow_up_s * 1000;

  /** The conversation an utterance now belongs to: the current one unless idle, else a new one. */
  const conversationFor = (
    s: VoiceState,
    nowMs: number,
  ): { id: string; turns: VoiceState['conversation'] } => {
    const cur = s.conversation;
    if (cur !== null && nowMs - cur.lastMs < idleMs) return { id: cur.id, turns: cur };
    return { id: `conversation-${s.conversations + 1}`, turns: null };
  };

  /** One utterance, acted on once: a local intent (and its tool), the conversation loop, or no_match. */
  const act = (
    s: VoiceState,
    u: PendingUtterance,
    text: string,
    ctx: DecideContext,
  ): Decision<VoiceEvent, VoiceWorking> => {
    ctx.cancelTimer(REFINE_TIMER);
    const m = u.explicitCloud ? undefined : matchIntent(intents, text);
    const score = m?.score ?? 0;
    if (m !== undefined && score >= c.min_match_score) {
      const intent: IntentEvent = { intent: m.intent, slots: m.slots, score, text, source: 'local' };
      const actions: AgentAction[] = [{ kind: 'publish', topic: intentTopic, payload: intent }];
      if (m.action.tool !== '')
        actions.push({ kind: 'tool', tool: m.action.tool, args: substituteSlots(m.action.args, m.slots) });
      return {
        events: [{ type: 'matched', intent: m.intent, score, text, utteranceId: u.id, atMs: u.atMs }],
        actions,
      };
    }
    if (o.cloud) {
      const conv = conversationFor(s, ctx.nowMs);
      const history = (conv.turns?.turns ?? []).flatMap((t) => [
        { role: 'user' as const, content: t.user },
        { role: 'assistant' as const, content: t.assistant },
      ]);
      const args: CloudAssistArgs = {
        text,
        topic: u.topic,
        source_id: u.id,
        correlation_id: u.correlationId,
        score,
        min_score: c.min_match_score,
        explicit_cloud: u.explicitCloud,
        conversation_id: conv.id,
        history,
        at_ms: u.atMs,
      };
      ctx.setTimer(IDLE_TIMER, ctx.nowMs + idleMs);
      return {
        events: [
          {
            type: 'cloud_requested',
            score,
            text,
            utteranceId: u.id,
            conversationId: conv.id,
            atMs: ctx.nowMs,
          },
        ],
        actions: [{ kind: 'tool', tool: CLOUD_ASSIST_TOOL, args }],
      };
    }
    const noMatch: IntentEvent = { intent: 'no_match', slots: {}, score, text, source: 'local' };
    return {
      events: [{ type: 'no_match', score, text, utteranceId: u.id }],
      actions: [{ kind: 'publish', topic: intentTopic, payload: noMatch }],
    };
  };

  const interrupt = (
    reason: 'speech_start' | 'stop_word',
    ctx: DecideContext,
  ): Decision<VoiceEvent, VoiceWorking> => {
    return {
      events: [{ type: 'interrupted', reason, inFlight: ctx.inFlightActions }],
      actions: [
        {
          kind: 'publish',
          topic: 'action/silence',
          payload: { reason: reason === 'speech_start' ? 'barge_in' : 'stop_word' },
        },
      ],
      interrupt: true,
    };
  };

  const onSpeech = (
    env: Envelope,
    ctx: DecideContext,
    w: VoiceWorking,
  ): Decision<VoiceEvent, VoiceWorking> => {
    const speech = env.payload as SpeechEvent;
    if (speech.kind !== 'start') return NONE;
    const speaking = w.speakingSinceMs !== null;
    // Barge-in: speech over the assistant's own voice. Otherwise only a busy assistant is interrupted.
    if (speaking) return c.barge_in === 'speech' ? interrupt('speech_start', ctx) : NONE;
    if (ctx.inFlightActions === 0 || c.barge_in === 'off') return NONE;
    return interrupt('speech_start', ctx);
  };

  const onTranscript = (
    s: VoiceState,
    env: Envelope,
    ctx: DecideContext,
    w: VoiceWorking,
  ): Decision<VoiceEvent, VoiceWorking> => {
    const t = env.payload as Transcript;
    const said = normalize(t.text);
    if (said === '') return NONE;
    if (stopWords.has(said)) return interrupt('stop_word', ctx);
    // Own voice: the segment overlaps playback (current or last), and speech is not a barge-in here.
    const segEnd = t.segmentStartMs + t.durationMs;
    const overlaps =
      (w.speakingSinceMs !== null && segEnd > w.speakingSinceMs) ||
      (t.segmentStartMs < w.lastSpokeEndMs && segEnd > w.lastSpokeStartMs);
    if (overlaps && c.barge_in !== 'speech')
      return { events: [{ type: 'ignored', reason: 'own_voice', text: t.text }], actions: [] };
    let text = t.text;
    const listening = w.listenUntilMs > 0 && ctx.nowMs <= w.listenUntilMs;
    if (o.wakePhrase !== undefined && o.wakePhrase !== '' && !listening) {
      const rest = stripWakePhrase(text, o.wakePhrase);
      if (rest === undefined)
        return { events: [{ type: 'ignored', reason: 'no_wake_phrase', text: t.text }], actions: [] };
      text = rest;
    }
    // The phrase or the wake word just detected may still lead an utterance said in a window
    // ("hey jarvis, what time is it" in one breath): not part of the request.
    for (const lead of [w.wakeWord, o.wakePhrase ?? ''])
      if (lead !== '') text = stripWakePhrase(text, lead) ?? text;
    if (normalize(text) === '') return openWindow(ctx, 'wake_word');
    // Consent given by a button (voice.ask_cloud) covers this one utterance.
    const consentGiven = w.consentUntilMs > 0 && ctx.nowMs <= w.consentUntilMs;
    let explicit = consentGiven || (env.tags ?? []).includes(EXPLICIT_CLOUD_TAG);
    const consented = c.consent_phrase === '' ? undefined : stripWakePhrase(text, c.consent_phrase);
    if (consented !== undefined && normalize(consented) !== '') {
      text = consented;
      explicit = true;
    }
    const u: PendingUtterance = {
      id: env.id,
      text,
      topic: env.topic,
      correlationId: env.correlationId ?? env.id,
      explicitCloud: explicit,
      // The end of the speech, from the audio's own timeline: the same in every replay.
      atMs: segEnd,
    };
    // The consent is used up by this utterance.
    const used = consentGiven ? { working: { ...w, consentUntilMs: 0 } } : {};
    if (refineWaitMs <= 0) return { ...act(s, u, text, ctx), ...used };
    // One utterance is held at a time: one still waiting is acted on now, on its local text.
    const before = s.pending === null ? NONE : act(s, s.pending, s.pending.text, ctx);
    ctx.setTimer(REFINE_TIMER, ctx.nowMs + refineWaitMs);
    return { events: [...before.events, { type: 'heard', utterance: u }], actions: before.actions, ...used };
  };

  /** A listening window opened by the agent itself (the follow-up after an answer). */
  const openWindow = (
    ctx: DecideContext,
    reason: 'wake_word' | 'follow_up',
  ): Decision<VoiceEvent, VoiceWorking> => {
    if (followUpMs === 0) return NONE;
    return {
      events: [],
      actions: [
        { kind: 'publish', topic: 'action/listen', payload: { reason, untilMs: ctx.nowMs + followUpMs } },
      ],
    };
  };

  /** A tool this agent called has answered: the conversation's turn, or a skill's sentence to say. */
  const onToolResult = (
    s: VoiceState,
    env: Envelope,
    ctx: DecideContext,
  ): Decision<VoiceEvent, VoiceWorking> => {
    const r = env.payload as ToolResult;
    if (env.source !== source || !r.ok) return NONE;
    if (r.tool === CLOUD_ASSIST_TOOL) {
      const c2 = r.result as ConversationResult;
      if (c2.answer === '') return NONE;
      ctx.setTimer(IDLE_TIMER, ctx.nowMs + idleMs);
      const answered: VoiceEvent = {
        type: 'answered',
        conversationId: c2.conversation_id,
        user: c2.user,
        assistant: c2.answer,
        // The utterance's time, not the answer's arrival: a replay folds to the same state.
        atMs: c2.at_ms ?? s.conversation?.lastMs ?? 0,
      };
      return { events: [answered], actions: openWindow(ctx, 'follow_up').actions };
    }
    const say = (r.result as { say?: unknown } | null)?.say;
    if (typeof say !== 'string' || say.trim() === '') return NONE;
    const conv = conversationFor(s, ctx.nowMs);
    ctx.setTimer(IDLE_TIMER, ctx.nowMs + idleMs);
    const utteranceId = `${id}:skill:${s.answers + 1}`;
    return {
      events: [
        {
          type: 'answered',
          conversationId: conv.id,
          user: s.lastIntent?.text ?? '',
          assistant: say,
          atMs: s.lastIntent?.atMs ?? 0,
        },
      ],
      actions: [
        {
          kind: 'publish',
          topic: 'action/say',
          payload: { text: say, utteranceId, conversationId: conv.id, final: true, source: 'skill' },
        },
        { kind: 'publish', topic: answerTopic, payload: { text: say, final: true, conversationId: conv.id } },
        ...openWindow(ctx, 'follow_up').actions,
      ],
    };
  };

  const decide = (
    s: VoiceState,
    input: AgentInput,
    ctx: DecideContext,
    w: VoiceWorking,
  ): Decision<VoiceEvent, VoiceWorking> => {
    if (input.kind === 'timer') {
      if (input.name === REFINE_TIMER && s.pending !== null) return act(s, s.pending, s.pending.text, ctx);
      if (input.name === IDLE_TIMER && s.conversation !== null && ctx.nowMs - s.conversation.lastMs >= idleMs)
        return {
          events: [{ type: 'conversation_forgotten', conversationId: s.conversation.id }],
          actions: [],
        };
      return NONE;
    }
    const env = input.env;
    const topic = env.topic;
    if (topic === 'action/speaking') {
      const p = env.payload as SpeakingEvent;
      if (p.state === 'start') return { ...NONE, working: { ...w, speakingSinceMs: ctx.nowMs } };
      const ended: VoiceWorking = {
        ...w,
        speakingSinceMs: null,
        lastSpokeStartMs: w.speakingSinceMs ?? ctx.nowMs,
        lastSpokeEndMs: ctx.nowMs,
      };
      // The follow-up window counts from the end of the answer's playback.
      const inConversation = p.conversationId !== undefined && p.conversationId === s.conversation?.id;
      return inConversation
        ? { ...openWindow(ctx, 'follow_up'), working: ended }
        : { ...NONE, working: ended };
    }
    if (topic === 'action/listen') {
      const p = env.payload as ListenWindow;
      const consentUntilMs = p.reason === 'consent' ? p.untilMs : w.consentUntilMs;
      return {
        ...NONE,
        working: { ...w, listenUntilMs: Math.max(w.listenUntilMs, p.untilMs), consentUntilMs },
      };
    }
    if (topic.startsWith('inference/vad/')) return onSpeech(env, ctx, w);
    if (topic.startsWith('inference/wake/'))
      return { ...NONE, working: { ...w, wakeWord: (env.payload as WakeDetection).word } };
    if (topic.startsWith('tool/')) return onToolResult(s, env, ctx);
    if (topic === 'router/decision') {
      const d = env.payload as RouteDecision;
      const p = s.pending;
      if (p === null || d.inferenceId !== p.id || d.kind !== 'transcript') return NONE;
      // No refinement will come: act on the local text now instead of waiting out the timer.
      return d.route === 'cloud' || d.route === 'hybrid' ? NONE : act(s, p, p.text, ctx);
    }
    if (topic.endsWith('/refined')) {
      const t = env.payload as Transcript;
      const p = s.pending;
      if (p !== null && t.refines === p.id) {
        // A refinement that shares too few words with what was heard is another sentence, not a
        // better hearing of this one: the local text stands (a cloud cannot put words in a mouth).
        const alike = normalize(t.text) !== '' && wordSimilarity(p.text, t.text) >= c.refine_min_similarity;
        const decided = act(s, p, alike ? t.text : p.text, ctx);
        return alike
          ? decided
          : {
              ...decided,
              events: [{ type: 'ignored', reason: 'unlike_refinement', text: t.text }, ...decided.events],
            };
      }
      return { events: [{ type: 'ignored', reason: 'late_refinement', text: t.text }], actions: [] };
    }
    return onTranscript(s, env, ctx, w);
  };

  return {
    id,
    capabilities: ['voice', 'intent', 'conversation'],
    subscriptions: [
      // Batched (guaranteed), 64 deep: every utterance counts; a backlog slows the STT stage.
      { pattern: 'inference/stt/+', qos: 'batched', capacity: 64 },
      { pattern: 'inference/stt/+/refined', qos: 'batched', capacity: 16 },
      // Realtime, 16 deep: speech starts are only useful now; a critical one interrupts on arrival.
      { pattern: 'inference/vad/+', qos: 'realtime', capacity: 16, interruptible: true },
      // The router's decisions, thinned to the ones for a held utterance in decide; 64 deep, newest kept.
      { pattern: 'router/decision', qos: 'realtime', capacity: 64 },
      // Realtime (drop-oldest, never blocks): the publisher is this agent's own action run.
      { pattern: 'tool/+/result', qos: 'realtime', capacity: 16 },
      { pattern: 'action/speaking', qos: 'realtime', capacity: 16 },
      { pattern: 'action/listen', qos: 'realtime', capacity: 16 },
      // The word a wake-word model heard, to take it off the transcript that follows.
      { pattern: 'inference/wake/+', qos: 'realtime', capacity: 4 },
    ],
    initialState: initialVoiceState(),
    reduce: voiceReducer(c.conversation.context_tokens),
    decide,
    working: { initial: INITIAL_VOICE_WORKING, snapshotIntervalMs: 10_000 },
    onStart(state, ctx) {
      // A held utterance survives a restart: act on it when its wait is over (at once if past).
      if (state.pending !== null) ctx.setTimer(REFINE_TIMER, state.pending.atMs + refineWaitMs);
      if (state.conversation !== null) ctx.setTimer(IDLE_TIMER, state.conversation.lastMs + idleMs);
    },
  };
}
