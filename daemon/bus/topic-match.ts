import { EdgeloomError, ErrorCode } from '../errors.js';

/**
 * Topic and pattern rules (MQTT's, minus `$`-topics): levels are separated by `/`, no level is
 * empty, `+` matches exactly one level, `#` matches the remaining levels (zero or more, so `a/#`
 * matches `a`). Published topics carry no wildcards. Patterns are checked at subscribe time; a
 * topic is checked by the scan that also finds its levels for the trie (topic-trie.ts), so a
 * publish that misses the match cache pays for one pass over the topic, not two.
 */

/** Longest accepted topic or pattern, characters. Real topics are < 100; this stops garbage early. */
export const MAX_TOPIC_LENGTH = 512;

/** Levels in the longest valid topic (every level one char, plus its separator). */
const MAX_LEVELS = (MAX_TOPIC_LENGTH + 1) >> 1;
/** Start offset of each level of the last scanned topic; entry n is `length + 1` (an end sentinel). */
export const levelStart = new Int32Array(MAX_LEVELS + 1);
/** Hash of each level of the last scanned topic. */
export const levelHash = new Int32Array(MAX_LEVELS);

const FNV_OFFSET = 0x811c9dc5 | 0;
const FNV_PRIME = 0x01000193;
/**
 * Hashes are cut to 30 bits so they stay small integers (Smis) under V8's pointer compression:
 * a larger key would be boxed as a heap number and hashed as one.
 */
const HASH_MASK = 0x3fffffff;

const SLASH = 47;
const PLUS = 43;
const HASH_SIGN = 35;

/** The hash the scan computes for a level, for keys stored at subscribe time. */
export function levelHashOf(level: string): number {
  let h = FNV_OFFSET;
  for (let i = 0; i < level.length; i++) h = Math.imul(h ^ level.charCodeAt(i), FNV_PRIME);
  return h & HASH_MASK;
}

/**
 * Scan a published topic into `levelStart`/`levelHash`. Returns its number of levels, or 0 when
 * it breaks the topic rules (empty, too long, an empty level, `+`, `#` or NUL anywhere). The
 * arrays are overwritten by the next scan: read them before anything else scans a topic.
 */
export function scanTopic(topic: string): number {
  const len = topic.length;
  // Written so that a non-string (no numeric length) fails too.
  if (!(len > 0 && len <= MAX_TOPIC_LENGTH)) return 0;
  let n = 0;
  let start = 0;
  let h = FNV_OFFSET;
  for (let i = 0; i < len; i++) {
    const c = topic.charCodeAt(i);
    if (c === SLASH) {
      if (i === start) return 0;
      levelStart[n] = start;
      levelHash[n] = h & HASH_MASK;
      n++;
      start = i + 1;
      h = FNV_OFFSET;
    } else if (c === PLUS || c === HASH_SIGN || c === 0) {
      return 0;
    } else {
      h = Math.imul(h ^ c, FNV_PRIME);
    }
  }
  if (start === len) return 0;
  levelStart[n] = start;
  levelHash[n] = h & HASH_MASK;
  levelStart[n + 1] = len + 1;
  return n + 1;
}

/** Throw `E_BUS_INVALID_TOPIC` unless `topic` is a concrete publishable topic. */
export function validateTopic(topic: string): void {
  if (typeof topic !== 'string' || scanTopic(topic) === 0) {
    throw new EdgeloomError(
      ErrorCode.E_BUS_INVALID_TOPIC,
      `invalid topic ${JSON.stringify(String(topic).slice(0, 80))}: needs 1..${MAX_TOPIC_LENGTH} chars, ` +
        `'/'-separated non-empty levels, no '+', '#' or NUL`,
      { where: 'bus.publish' },
    );
  }
}

/** Split a pattern into levels, throwing `E_BUS_INVALID_PATTERN` when it breaks the rules above. */
export function parsePattern(pattern: string): string[] {
  const fail = (why: string): never => {
    throw new EdgeloomError(
      ErrorCode.E_BUS_INVALID_PATTERN,
      `invalid pattern ${JSON.stringify(String(pattern).slice(0, 80))}: ${why}`,
      { where: 'bus.subscribe' },
    );
  };
  if (typeof pattern !== 'string' || pattern.length === 0) fail('empty');
  if (pattern.length > MAX_TOPIC_LENGTH) fail(`longer than ${MAX_TOPIC_LENGTH} chars`);
  if (pattern.includes('\0')) fail('contains NUL');
  const levels = pattern.split('/');
  for (let i = 0; i < levels.length; i++) {
    const level = levels[i]!;
    if (level.length === 0) fail(`level ${i} is empty`);
    if (level === '#') {
      if (i !== levels.length - 1) fail("'#' must be the last level");
    } else if (level !== '+' && (level.includes('+') || level.includes('#'))) {
      fail(`wildcard inside level ${i} ('+' and '#' must stand alone)`);
    }
  }
  return levels;
}

/** Reference semantics, kept for tests and one-off checks (the bus uses the trie). */
export function patternMatches(pattern: string, topic: string): boolean {
  const p = pattern.split('/');
  const t = topic.split('/');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '#') return true;
    if (i >= t.length) return false;
    if (p[i] !== '+' && p[i] !== t[i]) return false;
  }
  return p.length === t.length;
}
