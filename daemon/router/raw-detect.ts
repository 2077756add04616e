/**
 * The egress guard's second line (egress.ts): does a text value, declared derived, actually hold
 * raw media? Structure decides first (egress-shape.ts: only declared fields leave, raw fields only
 * under `public`); this catches a bug, or a prompt-injected tool, that writes audio samples or an
 * image into a text field. It looks for:
 *
 * - control characters other than tab and line breaks: binary bytes decoded as text;
 * - media signatures: a WAV header, JPEG/PNG magic in base64, `data:image/` and `data:audio/` URLs;
 * - 64 or more hex digits in a row, or 32 or more hex byte pairs separated by spaces, colons...;
 * - 32 or more numbers in a row (a JSON sample array, a CSV of samples, floats);
 * - base64 or base64url: a token of 96 or more characters of its alphabet, or tokens of 32 or
 *   more adding up to 128 (base64 broken into lines), whatever the alignment (a shifted or
 *   headerless encoding has no signature to find).
 *
 * Thresholds: 64 samples (4 ms of audio at 16 kHz) produce 256 hex digits, 171 base64 characters
 * or 64 numbers, all past these bounds; ordinary sentences have no word of 40 letters and no run
 * of 32 numbers. A false positive costs a refused cloud call (the local result stands); a false
 * negative would be a leak. Linear time: tokens are counted, no backtracking regular expressions.
 */

/** Why `text` counts as raw media, or undefined when it reads as ordinary text. */
export function rawMediaIn(text: string): string | undefined {
  if (hasBinaryCharacters(text)) return 'binary characters';
  for (const sig of TEXT_SIGNATURES) if (text.includes(sig)) return `media signature ${sig}`;
  if (/RIFF[\s\S]{4}WAVE/.test(text)) return 'a WAV header';
  if (/[0-9a-fA-F]{64}/.test(text)) return 'a hex run';
  if (longestRun(text.split(/[\s,;:.-]+/), (t) => /^[0-9a-fA-F]{2}$/.test(t)) >= 32) return 'hex byte pairs';
  if (longestRun(text.split(/[\s,;[\](){}]+/), isNumber) >= 32) return 'a run of numbers';
  const tokens = text.split(/[^A-Za-z0-9+/=_-]+/);
  if (tokens.some((t) => t.length >= 96)) return 'a base64 run';
  const long = tokens.filter((t) => t.length >= 32);
  if (long.reduce((n, t) => n + t.length, 0) >= 128) return 'base64 lines';
  return undefined;
}

/** Signatures of media as they start in base64 (RIFF → UklGR, FF D8 FF → /9j/, PNG → iVBORw0KGgo). */
const TEXT_SIGNATURES: readonly string[] = [
  'UklGR',
  '/9j/',
  '\\/9j\\/',
  'iVBORw0KGgo',
  'data:image/',
  'data:audio/',
];

/** C0 controls other than tab, LF and CR; DEL; C1 controls. */
function hasBinaryCharacters(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) || (c >= 0x7f && c <= 0x9f)) return true;
  }
  return false;
}

const NUMBER = /^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/;
function isNumber(token: string): boolean {
  return NUMBER.test(token);
}

/** The longest run of consecutive tokens that pass `test` (empty tokens are skipped). */
function longestRun(tokens: readonly string[], test: (t: string) => boolean): number {
  let best = 0;
  let run = 0;
  for (const t of tokens) {
    if (t === '') continue;
    run = test(t) ? run + 1 : 0;
    if (run > best) best = run;
  }
  return best;
}
