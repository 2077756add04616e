/**
 * Local intent matching: templates with alternatives and slots, scored 0..1 against a transcript.
 *
 * Template syntax: words; `(on|off)` alternatives (an alternative may be several words or empty:
 * `(please|)`); `{room}` a slot capturing 1..MAX_SLOT_WORDS words; a typed slot `{n:number}` or
 * `{seconds:duration}` captures 1..MAX_TYPED_SLOT_WORDS words that parse as its type
 * (skills/spoken-numbers.ts: "twenty one", "an hour and a half") and holds the parsed number
 * (a duration in seconds). Alternatives are expanded into variants when the template is compiled
 * (bounded by MAX_VARIANTS). A key word `[weather]` must be heard: it matches the same word or a
 * near typo (cost ≤ KEY_WORD_MAX_COST) and is never missing or replaced by another word, so a
 * short template cannot catch a question one word away ("what's the news" is not "what's the
 * [weather]"). Templates without key words score as before.
 *
 * Score: a word-level edit distance between the variant and the normalised text (dynamic
 * programming, like Levenshtein on words) where
 *   - a slot consumes 1..3 words at cost 0, or is missing at cost 1;
 *   - a template word against a different text word costs the character-level Levenshtein distance
 *     divided by the longer length, except that words shorter than 4 characters cost 1 when they
 *     differ at all (on/off, a/the carry meaning a character distance would blur);
 *   - an extra text word or a missing template word costs 1.
 * score = 1 − cost / alignment length (operations on the cheapest path), so an exact match scores
 * 1, one typo in five words ≈ 0.95, one extra word in six ≈ 0.83, and unrelated text near 0.
 */
import type { IntentConfig } from '../config/index.js';
import { EdgeloomError, ErrorCode } from '../errors.js';
import { parseSpokenDuration, parseSpokenNumber } from './skills/spoken-numbers.js';

export const MAX_SLOT_WORDS = 3;
/** Words a typed slot may span ("one hour twenty five minutes and thirty seconds" is 8). */
export const MAX_TYPED_SLOT_WORDS = 10;
/**
 * Longest utterance matched, words. A command is a sentence; the alignment costs
 * words × tokens × variants, so a 20 000-word text (a cloud's, or a stuck decoder's) would hold
 * the event loop for most of a second. Longer texts match no intent (and may go to the cloud).
 */
export const MAX_MATCH_WORDS = 64;
/** Variants one template may expand to; more is a config error (the alternatives multiply). */
export const MAX_VARIANTS = 256;
/** Largest word cost a key word accepts: one edit in 3+ letters ("timers", "wether"), not a new word. */
export const KEY_WORD_MAX_COST = 0.34;

/** What a slot captures: any 1..3 words (kept as text), or words that parse as a number or a duration. */
export type SlotType = 'word' | 'number' | 'duration';
const SLOT_TYPES: ReadonlySet<string> = new Set<SlotType>(['word', 'number', 'duration']);

/** A captured slot: the words (word slots), or the parsed number (number; duration in seconds). */
export type SlotValue = string | number;

type Token =
  /** `key`: written `[word]`, it must be heard (a near typo allowed), never missing or swapped. */
  | { readonly kind: 'word'; readonly word: string; readonly key?: boolean }
  | { readonly kind: 'slot'; readonly name: string; readonly type: SlotType };

/** Parsers of the typed slots; a parse must use every word of the span. */
const PARSERS: Readonly<Record<Exclude<SlotType, 'word'>, (ws: readonly string[]) => number | undefined>> = {
  number: parseSpokenNumber,
  duration: parseSpokenDuration,
};

export interface CompiledIntent {
  readonly name: string;
  readonly action: IntentConfig['action'];
  /** Every variant of every template. */
  readonly variants: readonly { readonly template: string; readonly tokens: readonly Token[] }[];
}

export interface IntentMatch {
  readonly intent: string;
  readonly score: number;
  readonly slots: Readonly<Record<string, SlotValue>>;
  readonly template: string;
  readonly action: IntentConfig['action'];
}

/**
 * Lowercase, drop apostrophes, punctuation to spaces, collapse whitespace. A decimal point between
 * digits stays (`2.5`), a thousands comma goes (`1,000` → `1000`): the number slots read them.
 */
export function normalize(text: string): string {
  return text
    .toLowerCase()
    .replace(/['’]/g, '')
    .replace(/(\d),(?=\d{3}(?!\d))/g, '$1')
    .replace(/(?:(?<!\d)\.|\.(?!\d)|[^\p{L}\p{N}.])+/gu, ' ')
    .trim();
}

export function words(text: string): string[] {
  const n = normalize(text);
  return n === '' ? [] : n.split(' ');
}

/** Expand one template into its variants; throws E_INTENT_TEMPLATE naming `where`. */
export function compileTemplate(template: string, where: string): Token[][] {
  const fail = (msg: string): never => {
    throw new EdgeloomError(ErrorCode.E_INTENT_TEMPLATE, `${where}: ${msg} in "${template}"`, { where });
  };
  // Split into parts: literal text, (a|b) groups, {slot}s.
  let variants: Token[][] = [[]];
  const re = /\(([^()]*)\)|\{([^{}]*)\}|([^(){}]+)|([(){}])/g;
  for (const m of template.matchAll(re)) {
    const [, group, slot, literal, stray] = m;
    let options: Token[][];
    if (stray !== undefined) return fail(`unbalanced '${stray}'`);
    if (group !== undefined) options = group.split('|').map((g) => literalTokens(g, fail));
    else if (slot !== undefined) {
      const [name = '', type = 'word', ...rest] = slot.split(':').map((p) => p.trim());
      if (!/^[a-z_][a-z0-9_]*$/i.test(name)) return fail(`bad slot name '{${slot}}'`);
      if (rest.length > 0 || !SLOT_TYPES.has(type))
        return fail(`unknown slot type in '{${slot}}' (word, number or duration)`);
      options = [[{ kind: 'slot', name, type: type as SlotType }]];
    } else options = [literalTokens(literal ?? '', fail)];
    const next: Token[][] = [];
    for (const v of variants) for (const o of options) next.push([...v, ...o]);
    if (next.length > MAX_VARIANTS) return fail(`more than ${MAX_VARIANTS} variants`);
    variants = next;
  }
  for (const v of variants) if (v.length === 0) fail('empty variant');
  return variants;
}

/** Words of a literal part; `[a b]` marks key words. */
function literalTokens(text: string, fail: (msg: string) => never): Token[] {
  const out: Token[] = [];
  for (const m of text.matchAll(/\[([^[\]]*)\]|([^[\]]+)|([[\]])/g)) {
    const [, key, plain, stray] = m;
    if (stray !== undefined) return fail(`unbalanced '${stray}'`);
    if (key !== undefined && words(key).length === 0) return fail('empty key word []');
    for (const word of words(key ?? plain ?? ''))
      out.push(key === undefined ? { kind: 'word', word } : { kind: 'word', word, key: true });
  }
  return out;
}

export function compileIntents(intents: readonly IntentConfig[]): CompiledIntent[] {
  return intents.map((intent, i) => ({
    name: intent.name,
    action: intent.action,
    variants: intent.templates.flatMap((template, j) =>
      compileTemplate(template, `agents.voice.intents[${i}].templates[${j}]`).map((tokens) => ({
        template,
        tokens,
      })),
    ),
  }));
}

/**
 * The best-scoring intent (earlier intents win ties), or undefined when there are none, no words,
 * or more than MAX_MATCH_WORDS of them.
 */
export function matchIntent(intents: readonly CompiledIntent[], text: string): IntentMatch | undefined {
  // Cheap bound before normalising: a text this long cannot have few enough words.
  if (text.length > MAX_MATCH_WORDS * 64) return undefined;
  const input = words(text);
  if (input.length === 0 || input.length > MAX_MATCH_WORDS) return undefined;
  let best: IntentMatch | undefined;
  const parses: ParseCache = new Map();
  for (const intent of intents) {
    for (const v of intent.variants) {
      const r = align(v.tokens, input, parses);
      if (best === undefined || r.score > best.score) {
        best = {
          intent: intent.name,
          score: r.score,
          slots: r.slots,
          template: v.template,
          action: intent.action,
        };
      }
    }
  }
  return best;
}

/** Cost of a template word against a text word (see the module comment). */
export function wordCost(a: string, b: string): number {
  if (a === b) return 0;
  if (a.length < 4 || b.length < 4) return 1;
  return levenshtein(a, b) / Math.max(a.length, b.length);
}

/** Edit distance between two sequences: characters of two words, or the words of two sentences. */
export function levenshtein<T>(a: ArrayLike<T>, b: ArrayLike<T>): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

interface Cell {
  cost: number;
  ops: number;
  /** Back-pointer: tokens and words consumed by the last step. */
  di: number;
  dj: number;
}

/** Typed-slot parses of one input by `type:start:end` (shared by the variants of one match). */
type ParseCache = Map<string, number | undefined>;

function parseSpan(
  type: Exclude<SlotType, 'word'>,
  input: readonly string[],
  start: number,
  end: number,
  cache: ParseCache,
): number | undefined {
  const key = `${type}:${start}:${end}`;
  if (cache.has(key)) return cache.get(key);
  const value = PARSERS[type](input.slice(start, end));
  cache.set(key, value);
  return value;
}

/** Word-level alignment of tokens against words; returns the score and captured slots. */
export function align(
  tokens: readonly Token[],
  input: readonly string[],
  parses: ParseCache = new Map(),
): { score: number; slots: Record<string, SlotValue> } {
  const n = tokens.length;
  const m = input.length;
  const dp: Cell[][] = Array.from({ length: n + 1 }, () =>
    Array.from({ length: m + 1 }, () => ({ cost: Number.POSITIVE_INFINITY, ops: 0, di: 0, dj: 0 })),
  );
  dp[0]![0] = { cost: 0, ops: 0, di: 0, dj: 0 };
  const relax = (i: number, j: number, di: number, dj: number, step: number): void => {
    const from = dp[i - di]![j - dj]!;
    const cost = from.cost + step;
    const cell = dp[i]![j]!;
    if (cost < cell.cost - 1e-12) {
      cell.cost = cost;
      cell.ops = from.ops + 1;
      cell.di = di;
      cell.dj = dj;
    }
  };
  for (let i = 0; i <= n; i++) {
    for (let j = 0; j <= m; j++) {
      if (i === 0 && j === 0) continue;
      if (j > 0) relax(i, j, 0, 1, 1); // extra text word
      if (i === 0) continue;
      const t = tokens[i - 1]!;
      const key = t.kind === 'word' && t.key === true;
      if (!key) relax(i, j, 1, 0, 1); // template token missing (a key word never is)
      if (t.kind === 'word') {
        const cost = j > 0 ? wordCost(t.word, input[j - 1]!) : Number.POSITIVE_INFINITY;
        if (j > 0 && (!key || cost <= KEY_WORD_MAX_COST)) relax(i, j, 1, 1, cost);
      } else if (t.type === 'word') {
        for (let k = 1; k <= MAX_SLOT_WORDS && k <= j; k++) relax(i, j, 1, k, 0);
      } else {
        // A typed slot takes only a span that parses as its type; the cheapest path keeps the longest.
        for (let k = 1; k <= MAX_TYPED_SLOT_WORDS && k <= j; k++)
          if (parseSpan(t.type, input, j - k, j, parses) !== undefined) relax(i, j, 1, k, 0);
      }
    }
  }
  const end = dp[n]![m]!;
  // A key word that nothing in the text matches: this variant cannot match at all.
  if (end.cost === Number.POSITIVE_INFINITY) return { score: 0, slots: {} };
  const slots: Record<string, SlotValue> = {};
  let i = n;
  let j = m;
  while (i > 0 || j > 0) {
    const c = dp[i]![j]!;
    const t = tokens[i - 1];
    if (c.di === 1 && c.dj > 0 && t?.kind === 'slot') {
      slots[t.name] =
        t.type === 'word'
          ? input.slice(j - c.dj, j).join(' ')
          : parseSpan(t.type, input, j - c.dj, j, parses)!;
    }
    i -= c.di;
    j -= c.dj;
  }
  const score = end.ops === 0 ? 0 : Math.max(0, 1 - end.cost / end.ops);
  return { score, slots };
}

/**
 * Replace `{slot}` placeholders in every string of an args value (deeply). A string that is one
 * placeholder becomes the slot's value itself, so a typed slot reaches the tool as a number
 * (`{"seconds": "{seconds}"}` → `{"seconds": 300}`); inside longer text it is written out. Unknown
 * slots are left as written so a bad config shows up in the tool's result instead of vanishing.
 */
export function substituteSlots(value: unknown, slots: Readonly<Record<string, SlotValue>>): unknown {
  if (typeof value === 'string') {
    const whole = /^\{([a-z_][a-z0-9_]*)\}$/i.exec(value);
    if (whole !== null && slots[whole[1]!] !== undefined) return slots[whole[1]!];
    return value.replace(/\{([a-z_][a-z0-9_]*)\}/gi, (all, name: string) =>
      slots[name] === undefined ? all : String(slots[name]),
    );
  }
  if (Array.isArray(value)) return value.map((v) => substituteSlots(v, slots));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substituteSlots(v, slots)]));
  }
  return value;
}
