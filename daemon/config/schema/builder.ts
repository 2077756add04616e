/**
 * A tiny JSON Schema builder whose nodes carry their TypeScript type, so the schema and the
 * `EdgeloomConfig` type come from one source and cannot drift apart (the idea of TypeBox, in the
 * ~100 lines edgeloom needs). Every builder takes a mandatory `description`: an undocumented key
 * does not compile.
 *
 * Conventions the builders enforce:
 * - objects are closed (`additionalProperties: false`: an unknown key is an error) and default to
 *   `{}`, so Ajv's `useDefaults` fills every nested default even when a whole section is absent;
 * - every property is required after defaults, so consumers never see `undefined`;
 * - secrets are marked with the standard `writeOnly` annotation, which `redactConfig` reads.
 */

/** The subset of JSON Schema (2020-12) the builders emit. */
export interface JsonSchema {
  readonly description: string;
  readonly type?: 'string' | 'integer' | 'number' | 'boolean' | 'array' | 'object';
  readonly default?: unknown;
  readonly enum?: readonly string[];
  readonly minimum?: number;
  readonly maximum?: number;
  readonly exclusiveMinimum?: number;
  readonly multipleOf?: number;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly pattern?: string;
  readonly writeOnly?: boolean;
  readonly items?: JsonSchema;
  readonly maxItems?: number;
  readonly minItems?: number;
  readonly properties?: Readonly<Record<string, JsonSchema>>;
  readonly required?: readonly string[];
  readonly additionalProperties?: boolean | JsonSchema;
}

declare const STATIC: unique symbol;
/** A schema node that remembers the type of the values it accepts (type-level only). */
export type SchemaNode<T> = JsonSchema & { readonly [STATIC]?: T };
/** The TypeScript type a schema node validates. */
export type Static<N> = N extends SchemaNode<infer T> ? T : never;

/** Any JSON value (free-form tool arguments). */
export type JsonValue =
  | string
  | number
  | boolean
  | null
  | readonly JsonValue[]
  | { readonly [k: string]: JsonValue };

interface Common<T> {
  readonly description: string;
  /** Omitted only for values the loader derives at run time (the device id). */
  readonly default?: T;
}
interface NumberLimits {
  readonly minimum?: number;
  readonly maximum?: number;
  readonly exclusiveMinimum?: number;
  readonly multipleOf?: number;
}
interface StringLimits {
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly pattern?: string;
  /** A credential: never logged, redacted by `redactConfig`, settable from `<ENV>_FILE`. */
  readonly secret?: boolean;
}

export function str(o: Common<string> & StringLimits): SchemaNode<string> {
  const { secret, ...rest } = o;
  return { type: 'string', ...rest, ...(secret ? { writeOnly: true } : {}) };
}

export function int(o: Common<number> & NumberLimits): SchemaNode<number> {
  return { type: 'integer', ...o };
}

export function num(o: Common<number> & NumberLimits): SchemaNode<number> {
  return { type: 'number', ...o };
}

export function bool(o: Common<boolean>): SchemaNode<boolean> {
  return { type: 'boolean', ...o };
}

export function enm<const V extends readonly string[]>(
  o: Common<NoInfer<V[number]>> & { readonly values: V },
): SchemaNode<V[number]> {
  const { values, ...rest } = o;
  return { type: 'string', enum: values, ...rest };
}

export function arr<T>(
  o: Common<NoInfer<readonly T[]>> & {
    readonly items: SchemaNode<T>;
    readonly maxItems?: number;
    readonly minItems?: number;
  },
): SchemaNode<readonly T[]> {
  return { type: 'array', ...o };
}

/** A closed object; all properties required (defaults fill them). */
export function obj<P extends Record<string, SchemaNode<unknown>>>(
  description: string,
  properties: P,
): SchemaNode<{ readonly [K in keyof P]: Static<P[K]> }> {
  return {
    type: 'object',
    description,
    default: {},
    properties,
    required: Object.keys(properties),
    additionalProperties: false,
  };
}

/** A map from free-form keys (model ids, topic patterns) to values of one schema. */
export function rec<T>(
  o: Common<NoInfer<Readonly<Record<string, T>>>> & { readonly values: SchemaNode<T> },
): SchemaNode<Readonly<Record<string, T>>> {
  const { values, ...rest } = o;
  return { type: 'object', ...rest, additionalProperties: values };
}

/** Any JSON value. */
export function json(o: Common<JsonValue>): SchemaNode<JsonValue> {
  return { ...o };
}
