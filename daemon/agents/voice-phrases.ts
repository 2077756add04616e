/**
 * Words the voice agent recognises before any intent (stop words), and how alike two hearings of
 * one utterance are. Phrases at the start of an utterance: wake-phrase.ts (`stripWakePhrase`).
 */
import { levenshtein, words } from './intents.js';

/** Utterances that cancel in-flight work instead of being matched. */
export const STOP_WORDS: readonly string[] = [
  'stop',
  'cancel',
  'never mind',
  'nevermind',
  'stop it',
  'cancel that',
];

/**
 * How alike two transcripts of the same audio are, 0..1: one minus the word-level edit distance
 * over the longer one's length (words normalised; a word counts as the same when equal). A cloud
 * refinement is a better hearing of the same words; one that shares few of them is not a
 * refinement but a different sentence (a lying or confused cloud), and is not acted on.
 */
export function wordSimilarity(a: string, b: string): number {
  const x = words(a);
  const y = words(b);
  const n = Math.max(x.length, y.length);
  return n === 0 ? 1 : 1 - levenshtein(x, y) / n;
}
