import { levelHash, levelHashOf, levelStart, scanTopic } from './topic-match.js';

/**
 * The subscription trie, walked without splitting the topic: scanTopic (topic-match.ts) leaves
 * each level's start offset and hash in preallocated arrays, literal children are looked up by
 * that hash (a Smi-keyed Map: no string is created or hashed per level) and the candidate is
 * confirmed with `startsWith` at the level's offset. A miss of the bus's match cache costs one
 * scan plus one lookup per trie node visited, and allocates only the result array.
 */

interface TrieNode<V> {
  /** The literal level that leads here from the parent ('' for the root and `+` children). */
  readonly key: string;
  /** The next literal sibling whose key has the same hash (a collision chain, almost always empty). */
  sameHash: TrieNode<V> | undefined;
  /** Literal children by levelHashOf(key); created on first use. */
  literal: Map<number, TrieNode<V>> | undefined;
  /**
   * When `literal` holds one hash: its chain and hash, checked without a Map lookup (most nodes
   * of a real topic tree, `sensor/camera/front/frame`, have a single literal child).
   */
  sole: TrieNode<V> | undefined;
  soleHash: number;
  plus: TrieNode<V> | undefined;
  /** Values whose pattern ends here. */
  readonly here: V[];
  /** Values whose pattern is `<path to here>/#`. */
  readonly rest: V[];
}

function newNode<V>(key: string): TrieNode<V> {
  return {
    key,
    sameHash: undefined,
    literal: undefined,
    sole: undefined,
    soleHash: 0,
    plus: undefined,
    here: [],
    rest: [],
  };
}

function isEmpty<V>(n: TrieNode<V>): boolean {
  return (
    n.here.length === 0 &&
    n.rest.length === 0 &&
    n.plus === undefined &&
    (n.literal === undefined || n.literal.size === 0)
  );
}

/**
 * `key` equals `topic`'s level at [start, start + len). A loop, not `topic.startsWith(key, start)`:
 * the builtin call was a tenth of the bus's time on a cache miss (`--cpu-prof`), for levels of a
 * few characters.
 */
function sameLevel(key: string, topic: string, start: number, len: number): boolean {
  if (key.length !== len) return false;
  for (let j = 0; j < len; j++) if (key.charCodeAt(j) !== topic.charCodeAt(start + j)) return false;
  return true;
}

function setSole<V>(node: TrieNode<V>): void {
  node.sole = undefined;
  node.soleHash = 0;
  if (node.literal?.size !== 1) return;
  for (const [h, head] of node.literal) {
    node.sole = head;
    node.soleHash = h;
  }
}

/**
 * Patterns compiled into a level trie (literal children, one `+` child, values ending in `#`),
 * so matching a topic costs its depth times the wildcard fan-out, not the number of patterns.
 */
export class TopicTrie<V> {
  private readonly root: TrieNode<V> = newNode('');
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Add a value under a pattern already split and checked by parsePattern. */
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
        node.plus ??= newNode('');
        node = node.plus;
      } else {
        node = this.literalChild(node, level, true)!;
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
      node = level === '+' ? node.plus : this.literalChild(node, level, false);
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
      if (!isEmpty(n)) break;
      const parent = path[i - 1]!;
      if (levels[i - 1] === '+') parent.plus = undefined;
      else this.unlinkLiteral(parent, n);
    }
    return true;
  }

  /**
   * Every value whose pattern matches `topic`, or undefined when the topic breaks the topic rules
   * (the caller raises the error: validation is part of the match, not a second pass).
   */
  match(topic: string): V[] | undefined {
    const out: V[] = [];
    return this.matchInto(topic, out) ? out : undefined;
  }

  /** match() into a caller's array (emptied first); false when the topic breaks the rules. */
  matchInto(topic: string, out: V[]): boolean {
    const n = typeof topic === 'string' ? scanTopic(topic) : 0;
    out.length = 0;
    if (n === 0) return false;
    this.walk(this.root, topic, 0, n, out);
    return true;
  }

  private walk(node: TrieNode<V>, topic: string, depth: number, n: number, out: V[]): void {
    const rest = node.rest;
    for (let i = 0; i < rest.length; i++) out.push(rest[i]!);
    if (depth === n) {
      const here = node.here;
      for (let i = 0; i < here.length; i++) out.push(here[i]!);
      return;
    }
    const literal = node.literal;
    if (literal !== undefined) {
      const h = levelHash[depth]!;
      let child = node.sole !== undefined ? (node.soleHash === h ? node.sole : undefined) : literal.get(h);
      if (child !== undefined) {
        const start = levelStart[depth]!;
        const len = levelStart[depth + 1]! - 1 - start;
        while (child !== undefined && !sameLevel(child.key, topic, start, len)) child = child.sameHash;
        if (child !== undefined) this.walk(child, topic, depth + 1, n, out);
      }
    }
    if (node.plus !== undefined) this.walk(node.plus, topic, depth + 1, n, out);
  }

  /** The literal child for `level`, created when `create` is set. */
  private literalChild(node: TrieNode<V>, level: string, create: boolean): TrieNode<V> | undefined {
    const h = levelHashOf(level);
    let head = node.literal?.get(h);
    for (let c = head; c !== undefined; c = c.sameHash) if (c.key === level) return c;
    if (!create) return undefined;
    node.literal ??= new Map();
    const child = newNode<V>(level);
    child.sameHash = head;
    head = child;
    node.literal.set(h, head);
    setSole(node);
    return child;
  }

  private unlinkLiteral(parent: TrieNode<V>, child: TrieNode<V>): void {
    const literal = parent.literal;
    if (literal === undefined) return;
    const h = levelHashOf(child.key);
    const head = literal.get(h);
    if (head === child) {
      if (child.sameHash === undefined) literal.delete(h);
      else literal.set(h, child.sameHash);
    } else {
      for (let c = head; c !== undefined; c = c.sameHash) {
        if (c.sameHash === child) {
          c.sameHash = child.sameHash;
          break;
        }
      }
    }
    setSole(parent);
  }
}
