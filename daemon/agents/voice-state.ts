/**
 * The voice agent's event-sourced state (voice-assistant.ts decides, this folds): counters, the
 * utterance waiting for its cloud refinement (a refinement for anything else is late and never
 * acts), and the conversation — recent turns kept within a
 * token budget, forgotten after an idle time or by `forget` (which deletes the log).
 */

/** One exchange of a conversation, as the model will see it again on the next turn. */
export interface Turn {
  readonly user: string;
  readonly assistant: string;
  readonly atMs: number;
}

export interface Conversation {
  readonly id: string;
  readonly turns: readonly Turn[];
  /** Clock ms of the last activity (request or answer): the idle time counts from here. */
  readonly lastMs: number;
}

/** A local transcript held back while its cloud refinement may still come (act once, on the best text). */
export interface PendingUtterance {
  /** The local transcript's envelope id (a refinement names it in `refines`). */
  readonly id: string;
  readonly text: string;
  readonly topic: string;
  readonly correlationId: string;
  readonly explicitCloud: boolean;
  /** When the speech ended (segment start + duration), ms: a replay gives the same value every run. */
  readonly atMs: number;
}

export interface VoiceState {
  readonly utterances: number;
  readonly matched: number;
  readonly noMatch: number;
  readonly cloudRequests: number;
  readonly interrupts: number;
  readonly answers: number;
  /** Utterances and refinements not acted on: own voice, no wake phrase, late or unlike refinements. */
  readonly ignored: number;
  readonly lastIntent: {
    readonly intent: string;
    readonly score: number;
    readonly text: string;
    /** The utterance's time, ms (absent in logs from before it was kept). */
    readonly atMs?: number;
  } | null;
  readonly pending: PendingUtterance | null;
  readonly conversation: Conversation | null;
  /** Conversations started so far: numbers the next one's id. */
  readonly conversations: number;
}

/** What the agent knows between inputs without a log entry: its own playback and listening windows. */
export interface VoiceWorking {
  /** Clock ms the current playback started; null when silent. */
  readonly speakingSinceMs: number | null;
  /** The last finished playback, clock ms (own-voice guard: the mic hears it with a delay). */
  readonly lastSpokeStartMs: number;
  readonly lastSpokeEndMs: number;
  /** Transcripts are taken without the wake phrase until then, clock ms. */
  readonly listenUntilMs: number;
  /** The next utterance before then is an explicit request for the cloud (voice.ask_cloud), clock ms. */
  readonly consentUntilMs: number;
  /** The last wake word detected ('' before any): taken off the start of a transcript. */
  readonly wakeWord: string;
}

export const INITIAL_VOICE_WORKING: VoiceWorking = {
  speakingSinceMs: null,
  lastSpokeStartMs: 0,
  lastSpokeEndMs: 0,
  listenUntilMs: 0,
  consentUntilMs: 0,
  wakeWord: '',
};

export type IgnoreReason = 'own_voice' | 'no_wake_phrase' | 'late_refinement' | 'unlike_refinement';

export type VoiceEvent =
  | { readonly type: 'heard'; readonly utterance: PendingUtterance }
  | {
      readonly type: 'matched';
      readonly intent: string;
      readonly score: number;
      readonly text: string;
      readonly utteranceId?: string;
      readonly atMs?: number;
    }
  | {
      readonly type: 'no_match';
      readonly score: number;
      readonly text: string;
      readonly utteranceId?: string;
    }
  | {
      readonly type: 'cloud_requested';
      readonly score: number;
      readonly text: string;
      readonly utteranceId?: string;
      readonly conversationId?: string;
      readonly atMs?: number;
    }
  | {
      readonly type: 'answered';
      readonly conversationId: string;
      readonly user: string;
      readonly assistant: string;
      readonly atMs: number;
    }
  | { readonly type: 'conversation_forgotten'; readonly conversationId: string }
  | { readonly type: 'ignored'; readonly reason: IgnoreReason; readonly text: string }
  | {
      readonly type: 'interrupted';
      readonly reason: 'speech_start' | 'stop_word';
      readonly inFlight: number;
    };

export function initialVoiceState(): VoiceState {
  return {
    utterances: 0,
    matched: 0,
    noMatch: 0,
    cloudRequests: 0,
    interrupts: 0,
    answers: 0,
    ignored: 0,
    lastIntent: null,
    pending: null,
    conversation: null,
    conversations: 0,
  };
}

/** Rough tokens of a text for the context budget: ~4 characters a token (English, BPE models). */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

/** Newest turns that fit `budgetTokens` (at least the newest one, so a long answer is still context). */
export function turnsWithin(turns: readonly Turn[], budgetTokens: number): readonly Turn[] {
  let used = 0;
  let from = turns.length;
  while (from > 0) {
    const t = turns[from - 1]!;
    const cost = estimateTokens(t.user) + estimateTokens(t.assistant);
    if (from < turns.length && used + cost > budgetTokens) break;
    used += cost;
    from--;
  }
  return from === 0 ? turns : turns.slice(from);
}

/** The fold, for a given context budget (config `agents.voice.conversation.context_tokens`). */
export function voiceReducer(contextTokens: number) {
  return (s: VoiceState, e: VoiceEvent): VoiceState => {
    // Acting on an utterance clears it from pending when it is the one waiting. (A refinement
    // that comes later finds nothing pending for it: that is how it is recognised as late.)
    const settle = (id: string | undefined): Pick<VoiceState, 'pending'> => ({
      pending: s.pending !== null && s.pending.id === id ? null : s.pending,
    });
    switch (e.type) {
      case 'heard':
        return { ...s, pending: e.utterance };
      case 'matched':
        return {
          ...s,
          ...settle(e.utteranceId),
          utterances: s.utterances + 1,
          matched: s.matched + 1,
          lastIntent: {
            intent: e.intent,
            score: e.score,
            text: e.text,
            ...(e.atMs === undefined ? {} : { atMs: e.atMs }),
          },
        };
      case 'no_match':
        return { ...s, ...settle(e.utteranceId), utterances: s.utterances + 1, noMatch: s.noMatch + 1 };
      case 'cloud_requested': {
        const same = s.conversation !== null && s.conversation.id === e.conversationId;
        const conversation: Conversation | null =
          e.conversationId === undefined
            ? s.conversation
            : {
                id: e.conversationId,
                turns: same ? s.conversation!.turns : [],
                lastMs: e.atMs ?? s.conversation?.lastMs ?? 0,
              };
        return {
          ...s,
          ...settle(e.utteranceId),
          utterances: s.utterances + 1,
          cloudRequests: s.cloudRequests + 1,
          conversation,
          conversations: same || e.conversationId === undefined ? s.conversations : s.conversations + 1,
        };
      }
      case 'answered': {
        const turn: Turn = { user: e.user, assistant: e.assistant, atMs: e.atMs };
        const same = s.conversation !== null && s.conversation.id === e.conversationId;
        const turns = turnsWithin([...(same ? s.conversation!.turns : []), turn], contextTokens);
        return {
          ...s,
          answers: s.answers + 1,
          conversation: { id: e.conversationId, turns, lastMs: e.atMs },
          conversations: same ? s.conversations : s.conversations + 1,
        };
      }
      case 'conversation_forgotten':
        return s.conversation?.id === e.conversationId ? { ...s, conversation: null } : s;
      case 'ignored':
        return { ...s, ignored: s.ignored + 1 };
      case 'interrupted':
        return { ...s, interrupts: s.interrupts + 1 };
    }
  };
}

/** The fold at the default context budget (1024 tokens), for callers without a config. */
export const reduceVoice = voiceReducer(1024);
