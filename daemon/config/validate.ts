import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';
import { didYouMean, showValue } from './problems.js';
import { REMOVED_KEYS } from './removed.js';
import type { JsonSchema } from './schema/builder.js';

/** One schema violation, before its source (file line, variable) is known. */
export interface Violation {
  /** Path of the offending key; array indexes are numbers. */
  readonly path: readonly (string | number)[];
  readonly message: string;
  /** True when the key itself is the problem (unknown key), so the location is the key, not the value. */
  readonly atKey: boolean;
  /** Where to point in the file when that differs from `path` (the host that makes a token required). */
  readonly at?: readonly (string | number)[];
}

/**
 * Compile `schema` once (at start-up, never on a hot path). Ajv runs with `useDefaults` (it fills
 * every absent key in place), `allErrors` (every problem, not the first) and `verbose` (errors
 * carry the offending value and its schema, for "got ..." and "did you mean").
 */
export function compileValidator(schema: JsonSchema): (data: unknown) => Violation[] {
  const ajv = new Ajv2020({
    allErrors: true,
    useDefaults: true,
    removeAdditional: false,
    coerceTypes: false,
    verbose: true,
    strict: true,
  });
  // A default on the root means nothing to Ajv (strict mode refuses it); sections keep theirs.
  const { default: _rootDefault, ...root } = schema;
  const validate: ValidateFunction = ajv.compile(root);
  return (data) => {
    if (validate(data)) return [];
    return (validate.errors ?? []).map((e) => toViolation(e, data));
  };
}

/** JSON Pointer → segments, with numbers where the data holds an array. */
function segments(pointer: string, data: unknown): (string | number)[] {
  if (pointer === '') return [];
  const out: (string | number)[] = [];
  let node = data;
  for (const raw of pointer.slice(1).split('/')) {
    const key = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    const seg = Array.isArray(node) ? Number(key) : key;
    out.push(seg);
    node = node !== null && typeof node === 'object' ? (node as Record<string, unknown>)[key] : undefined;
  }
  return out;
}

function toViolation(e: ErrorObject, data: unknown): Violation {
  const path = segments(e.instancePath, data);
  const secret = (e.parentSchema as JsonSchema | undefined)?.writeOnly === true;
  const got = secret ? '' : ` (got ${showValue(e.data)})`;
  switch (e.keyword) {
    case 'additionalProperties': {
      const key = String(e.params.additionalProperty);
      const known = Object.keys((e.parentSchema as JsonSchema | undefined)?.properties ?? {});
      const removed = REMOVED_KEYS[[...path, key].join('.')];
      if (removed !== undefined) {
        return { path: [...path, key], message: `is no longer a setting: ${removed}`, atKey: true };
      }
      return { path: [...path, key], message: `unknown key${didYouMean(key, known)}`, atKey: true };
    }
    case 'required':
      return { path: [...path, String(e.params.missingProperty)], message: 'is required', atKey: false };
    case 'enum': {
      const values = ((e.schema as readonly string[] | undefined) ?? []).map(String);
      const hint = typeof e.data === 'string' ? didYouMean(e.data, values) : '';
      return { path, message: `must be one of ${values.join(', ')}${got}${hint}`, atKey: false };
    }
    default:
      return { path, message: `${e.message ?? e.keyword}${got}`, atKey: false };
  }
}
