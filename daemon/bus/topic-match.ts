import { EdgeloomError, ErrorCode } from '../errors.js';

/**
 * Topic and pattern rules (MQTT's, minus `$`-topics): levels are separated by `/`, no level is
 * empty, `+` matches exactly one level, `#` matches the remaining levels (zero or more, so `a/#`
 * matches `a`). Published topics carry no wildcards. Validation happens at subscribe time and on
 * the first publish of a topic (the match cache remembers valid topics), never per event.
 */

/** Longest accepted topic or pattern, characters. Real topics are < 100; this stops garbage early. */
export const MAX_TOPIC_LENGTH = 512;

const TOPIC_RE = /^[^/+#\0]+(?:\/[^/+#\0]+)*$/;

/** Throw `E_BUS_INVALID_TOPIC` unless `topic` is a concrete publishable topic. */
export function validateTopic(topic: string): void {
  if (
    typeof topic !== 'string' ||
    topic.length === 0 ||
    topic.length > MAX_TOPIC_LENGTH ||
    !TOPIC_RE.test(topic)
  ) {
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

interface TrieNode<V> {
  readonly literal: Map<string, TrieNode<V>>;
  plus: TrieNode<V> | undefined;
  /** Values whose pattern ends here. */
  readonly here: V[];
  /** Values whose pattern is `<path to here>/#`. */
  readonly rest: V[];
}

function newNode<V>(): TrieNode<V> {
  return { literal: new Map(), plus: undefined, here: [], rest: [] };
}

/**
 * Patterns compiled into a level trie (literal children, one `+` child, values ending in `#`),
 * so matching a topic costs its depth times the wildcard fan-out, not the number of patterns.
 */
export class TopicTrie<V> {
  private readonly root: TrieNode<V> = newNode();
  private count = 0;

  get size(): number {
    return this.count;
  }

  add(levels: readonly string[], value: V): void {
    let node = this.root;
    for (let i = 0; i < levels.length; i++) {
      const level = levels[i]!;
      if (level === '#') {
        node.rest.push(value);
        this.count++;
        return;
      }
      if (level === '+') {
        node.plus ??= newNode();
        node = node.plus;
      } else {
        let next = node.literal.get(level);
        if (next === undefined) {
          next = newNode();
          node.literal.set(level, next);
        }
        node = next;
      }
    }
    node.here.push(value);
    this.count++;
  }

  /** Remove one value; empty branches are pruned so churn does not grow the trie. */
  remove(levels: readonly string[], value: V): boolean {
    const path: TrieNode<V>[] = [this.root];
    let node: TrieNode<V> | undefined = this.root;
    const last = levels.length - 1;
    for (let i = 0; i <= last && node !== undefined; i++) {
      const level = levels[i]!;
      if (level === '#') break;
      node = level === '+' ? node.plus : node.literal.get(level);
      if (node !== undefined) path.push(node);
    }
    if (node === undefined) return false;
    const list = levels[last] === '#' ? node.rest : node.here;
    const at = list.indexOf(value);
    if (at < 0) return false;
    list.splice(at, 1);
    this.count--;
    for (let i = path.length - 1; i > 0; i--) {
      const n = path[i]!;
      if (n.here.length > 0 || n.rest.length > 0 || n.plus !== undefined || n.literal.size > 0) break;
      const parent = path[i - 1]!;
      const level = levels[i - 1]!;
      if (level === '+') parent.plus = undefined;
      else parent.literal.delete(level);
    }
    return true;
  }

  /** Every value whose pattern matches the (valid, wildcard-free) topic. */
  match(topic: string): V[] {
    const out: V[] = [];
    this.walk(this.root, topic.split('/'), 0, out);
    return out;
  }

  private walk(node: TrieNode<V>, levels: readonly string[], depth: number, out: V[]): void {
    for (const v of node.rest) out.push(v);
    if (depth === levels.length) {
      for (const v of node.here) out.push(v);
      return;
    }
    const lit = node.literal.get(levels[depth]!);
    if (lit !== undefined) this.walk(lit, levels, depth + 1, out);
    if (node.plus !== undefined) this.walk(node.plus, levels, depth + 1, out);
  }
}
