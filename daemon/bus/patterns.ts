/**
 * The topic rules of topic-match.ts, at the type level: which keys of a topic map a topic or an
 * MQTT-style pattern can reach, so `subscribe('inference/face/+', handler)` hands the handler a
 * FaceInference without anyone naming it, and a pattern no key can match does not compile.
 *
 * A key's `${string}` level stands for exactly one level (an id without `/`): the keys are read
 * level by level, as the bus matches topics. A pattern or topic that is a plain `string` (known
 * only at run time: a config value, a dashboard filter) may reach any key.
 */

/** `a/b/c` → `['a', 'b', 'c']`; a template's `${string}` level stays `string`. */
export type Levels<S extends string> = S extends `${infer Head}/${infer Rest}`
  ? [Head, ...Levels<Rest>]
  : [S];

/** One pattern level against one key level: `+` and a run-time `string` reach anything. */
type LevelMatches<P extends string, K extends string> = P extends '+'
  ? true
  : string extends P
    ? true
    : P extends K
      ? true
      : false;

/** MQTT semantics: `#` (last) matches the remaining levels, zero or more, so `a/#` matches `a`. */
type LevelsMatch<P extends readonly string[], K extends readonly string[]> = P extends readonly ['#']
  ? true
  : P extends readonly [infer PH extends string, ...infer PR extends string[]]
    ? K extends readonly [infer KH extends string, ...infer KR extends string[]]
      ? LevelMatches<PH, KH> extends true
        ? LevelsMatch<PR, KR>
        : false
      : false
    : K extends readonly []
      ? true
      : false;

/** The keys of M that pattern (or topic) P reaches. */
export type KeysMatching<M, P extends string> = string extends P
  ? keyof M & string
  : MatchingKey<P, keyof M & string>;
type MatchingKey<P extends string, K> = K extends string
  ? string extends K
    ? K // a map with a plain `string` key (a test's scratch map) reaches everything
    : LevelsMatch<Levels<P>, Levels<K>> extends true
      ? K
      : never
  : never;

/**
 * The payload a subscription on pattern P receives: the union of the payloads of every key it
 * reaches (`never` when it reaches none).
 */
export type PayloadMatching<M, P extends string> = string extends P
  ? M[keyof M]
  : MatchingPayload<M, P, keyof M & string>;
type MatchingPayload<M, P extends string, K> = K extends keyof M & string
  ? string extends K
    ? M[K]
    : LevelsMatch<Levels<P>, Levels<K>> extends true
      ? M[K]
      : never
  : never;

/**
 * `unknown` (no constraint) when P reaches a key of M; otherwise an object type no string is
 * assignable to, so the call fails to compile and the message names the pattern.
 */
export type PatternCheck<M, P extends string> = [KeysMatching<M, P>] extends [never]
  ? { readonly 'no topic of the map matches this pattern': P }
  : unknown;

/** A key written as the pattern that matches exactly its topics: `sensor/camera/${string}/frame` → `sensor/camera/+/frame`. */
export type KeyPattern<K> = K extends string ? JoinLevels<Wildcards<Levels<K>>> : never;
type Wildcards<L extends readonly string[]> = { [I in keyof L]: string extends L[I] ? '+' : L[I] };
type JoinLevels<L> = L extends readonly [infer A extends string]
  ? A
  : L extends readonly [infer A extends string, ...infer Rest]
    ? `${A}/${JoinLevels<Rest>}`
    : never;
