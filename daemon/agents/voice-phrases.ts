/** Words and phrases the voice agent recognises before any intent: stop words, wake and consent phrases. */
import { normalize } from './intents.js';

/** Utterances that cancel in-flight work instead of being matched. */
export const STOP_WORDS: readonly string[] = [
  'stop',
  'cancel',
  'never mind',
  'nevermind',
  'stop it',
  'cancel that',
];

/** The phrase's words at the start of `text` (punctuation and case aside): the rest, or undefined. */
export function afterPhrase(text: string, phrase: string): string | undefined {
  const want = normalize(phrase).split(' ').filter(Boolean);
  if (want.length === 0) return undefined;
  const words = text.split(/\s+/).filter(Boolean);
  let i = 0;
  for (const w of want) {
    while (i < words.length && normalize(words[i]!) === '') i++;
    if (i >= words.length || normalize(words[i]!) !== w) return undefined;
    i++;
  }
  return words
    .slice(i)
    .join(' ')
    .replace(/^[\s,.:;!?-]+/, '');
}
