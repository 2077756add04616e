/** `agents.voice` keys of the conversation loop, barge-in and act-once (issue #14). */
import { enm, int, num, obj, str } from './builder.js';

export const voiceConversationKeys = {
  refine_wait_ms: int({
    description:
      'How long an utterance waits for its cloud refinement before the agent acts on the local transcript, ms (at most router.latency_budget_ms; 0 = act on the local text at once). A refinement arriving later is published for information and never acts.',
    default: 1500,
    minimum: 0,
    maximum: 60_000,
  }),
  refine_min_similarity: num({
    description:
      'A refinement is acted on only when at least this share of its words match the local transcript (word edit distance, 0..1): one that shares fewer is another sentence (a lying or confused cloud), and the local text stands.',
    default: 0.5,
    minimum: 0,
    maximum: 1,
  }),
  barge_in: enm({
    description:
      'What interrupts the assistant while it speaks: `speech` (any speech start: silences the TTS and cancels the answer and its tools), `stop_word` (only a "stop"/"cancel" utterance; other speech overlapping playback is taken for its own voice and ignored: a speaker next to the microphone), `off` (nothing; speech overlapping playback is ignored).',
    values: ['speech', 'stop_word', 'off'],
    default: 'speech',
  }),
  consent_phrase: str({
    description:
      'An utterance starting with this phrase is an explicit request for the cloud (its text may leave under `private`; audio never does). Empty = no phrase.',
    default: 'ask the cloud',
    maxLength: 64,
  }),
  conversation: obj('The conversation loop for utterances no local intent matches.', {
    max_steps: int({
      description:
        'Rounds with the model per utterance at most (each may call tools whose results go back to it).',
      default: 4,
      minimum: 1,
      maximum: 16,
    }),
    context_tokens: int({
      description:
        'Earlier turns kept as context, estimated tokens (about 4 characters each); older turns are dropped.',
      default: 1024,
      minimum: 0,
      maximum: 32_768,
    }),
    idle_forget_s: int({
      description: 'The conversation is forgotten after this long without a turn, seconds.',
      default: 300,
      minimum: 1,
    }),
    follow_up_s: int({
      description:
        'After an answer, the next utterance within this time continues the conversation without the wake word, seconds (0 = no follow-up window).',
      default: 8,
      minimum: 0,
      maximum: 120,
    }),
  }),
};
