/**
 * The wake phrase on a transcript (issue #14): without a wake-word model, an utterance is for the
 * assistant when it starts with `agents.voice.wake.phrase` ("hey edgeloom"). Speech-to-text writes
 * the phrase in many ways — "Hey, edgeloom:", "hey Edgeloom!", "Hey edge loom," — so the match
 * ignores case, punctuation and the spaces inside words of the phrase.
 */

/** Lower-case letters and digits only: the form both sides are compared in. */
function squash(s: string): string {
  return s.toLowerCase().replace(/[^\p{L}\p{N}]+/gu, '');
}

/**
 * The rest of `text` after a leading `phrase`, without the punctuation and spaces that follow it
 * ("Hey, edgeloom: what time is it" → "what time is it"; "" when the phrase is all there is), or
 * undefined when `text` does not start with the phrase. The phrase must end at a word boundary:
 * "hey edgeloomish" does not start with "hey edgeloom". An empty phrase matches nothing.
 */
export function stripWakePhrase(text: string, phrase: string): string | undefined {
  const want = squash(phrase);
  if (want === '') return undefined;
  let matched = 0;
  let i = 0;
  // Walk the text, consuming letters and digits against the phrase and skipping everything else.
  for (; i < text.length && matched < want.length; i++) {
    const ch = text[i]!;
    const c = squash(ch);
    if (c === '') continue;
    if (c !== want.slice(matched, matched + c.length)) return undefined;
    matched += c.length;
  }
  if (matched < want.length) return undefined;
  const rest = text.slice(i);
  if (/^[\p{L}\p{N}]/u.test(rest)) return undefined;
  return rest.replace(/^[^\p{L}\p{N}]+/u, '').trim();
}
