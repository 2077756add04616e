import { readFileSync } from 'node:fs';
import { type ConfigProblem, closest, dottedPath, showValue } from './problems.js';
import type { JsonSchema } from './schema/builder.js';

/** Prefix of every configuration variable: `EDGELOOM_SENSORS_CAMERA_FPS` sets `sensors.camera.fps`. */
export const ENV_PREFIX = 'EDGELOOM_';

/**
 * `EDGELOOM_*` variables that are not configuration keys and are therefore not refused:
 * the config file path and the test harness's switches.
 */
export const IGNORED_ENV_VARS: readonly string[] = ['EDGELOOM_CONFIG', 'EDGELOOM_SKIP_BUILD'];
/** Prefixes reserved for test and benchmark tooling, also ignored. */
export const IGNORED_ENV_PREFIXES: readonly string[] = ['EDGELOOM_TEST_', 'EDGELOOM_BENCH_'];

/** One variable the schema accepts. */
export interface EnvBinding {
  readonly name: string;
  readonly path: readonly string[];
  readonly schema: JsonSchema;
  /** Set from the contents of the file named by the variable (`..._FILE`, for secrets). */
  readonly fromFile: boolean;
}

/**
 * Every variable derived from the schema: one per key at any depth (objects, lists and maps take
 * JSON), plus `<NAME>_FILE` for secrets (systemd credentials, Docker secrets). Because names are
 * looked up in this table of known keys, an underscore inside a key (`memory_mb`) is never
 * mistaken for a level separator; two keys that would map to one name are refused here.
 */
export function envTable(root: JsonSchema): ReadonlyMap<string, EnvBinding> {
  const table = new Map<string, EnvBinding>();
  const add = (binding: EnvBinding): void => {
    const clash = table.get(binding.name);
    if (clash !== undefined) {
      throw new Error(
        `env name ${binding.name} maps to both ${clash.path.join('.')} and ${binding.path.join('.')}`,
      );
    }
    table.set(binding.name, binding);
  };
  const walk = (schema: JsonSchema, path: string[]): void => {
    if (path.length > 0) {
      const name = ENV_PREFIX + path.join('_').toUpperCase();
      add({ name, path, schema, fromFile: false });
      if (schema.writeOnly === true) add({ name: `${name}_FILE`, path, schema, fromFile: true });
    }
    for (const [key, child] of Object.entries(schema.properties ?? {})) walk(child, [...path, key]);
  };
  walk(root, []);
  return table;
}

const BOOLEANS: Readonly<Record<string, boolean>> = {
  true: true,
  false: false,
  '1': true,
  '0': false,
  yes: true,
  no: false,
  on: true,
  off: false,
};

/** Text → value of the schema's type, or an error message. Range and enum checks are Ajv's job. */
function coerce(raw: string, schema: JsonSchema): { value: unknown } | { error: string } {
  switch (schema.type) {
    case 'string':
      return { value: raw };
    case 'integer':
      return /^[+-]?\d+$/.test(raw.trim())
        ? { value: Number(raw) }
        : { error: `expected an integer (got ${showValue(raw)})` };
    case 'number': {
      const n = raw.trim() === '' ? Number.NaN : Number(raw);
      return Number.isFinite(n) ? { value: n } : { error: `expected a number (got ${showValue(raw)})` };
    }
    case 'boolean': {
      const b = BOOLEANS[raw.trim().toLowerCase()];
      return b === undefined ? { error: `expected true or false (got ${showValue(raw)})` } : { value: b };
    }
    default:
      // Lists, maps, sections and free-form values are written as JSON.
      try {
        return { value: JSON.parse(raw) };
      } catch {
        return { error: `expected JSON (got ${showValue(raw)})` };
      }
  }
}

export interface EnvLayer {
  /** A partial config tree holding the values set by variables. */
  readonly tree: Record<string, unknown>;
  /** Dotted key path → the variable that set it, for error messages. */
  readonly sources: ReadonlyMap<string, string>;
  readonly problems: ConfigProblem[];
}

/**
 * The configuration layer from `EDGELOOM_*` variables. Unknown variables are problems (a typo
 * must not be silently ignored); so are values that do not parse as the key's type.
 */
export function envLayer(env: NodeJS.ProcessEnv, table: ReadonlyMap<string, EnvBinding>): EnvLayer {
  const tree: Record<string, unknown> = {};
  const sources = new Map<string, string>();
  const problems: ConfigProblem[] = [];
  // Sorted so that a section set as JSON is applied before the keys inside it, whatever the
  // order of the environment: `EDGELOOM_MQTT` < `EDGELOOM_MQTT_URL`.
  const names = Object.keys(env)
    .filter((n) => n.startsWith(ENV_PREFIX))
    .sort();
  for (const name of names) {
    const raw = env[name];
    if (
      raw === undefined ||
      IGNORED_ENV_VARS.includes(name) ||
      IGNORED_ENV_PREFIXES.some((p) => name.startsWith(p))
    ) {
      continue;
    }
    const binding = table.get(name);
    if (binding === undefined) {
      // Compare without the shared prefix, so only the part that differs decides "close enough".
      const hit = closest(
        name.slice(ENV_PREFIX.length),
        [...table.keys()].map((k) => k.slice(ENV_PREFIX.length)),
      );
      const hint = hit === undefined ? '' : ` (did you mean "${ENV_PREFIX}${hit}"?)`;
      problems.push({ source: `env ${name}`, key: '', message: `unknown variable${hint}` });
      continue;
    }
    let text = raw;
    if (binding.fromFile) {
      try {
        text = readFileSync(raw, 'utf8').replace(/\r?\n$/, '');
      } catch (err) {
        const reason = err instanceof Error && 'code' in err ? String(err.code) : 'unreadable';
        problems.push({
          source: `env ${name}`,
          key: binding.path.join('.'),
          message: `cannot read ${raw} (${reason})`,
        });
        continue;
      }
    }
    const result = coerce(text, binding.schema);
    if ('error' in result) {
      // Secrets are strings, so coercion never fails on (and never echoes) one.
      problems.push({ source: `env ${name}`, key: dottedPath(binding.path), message: result.error });
      continue;
    }
    setIn(tree, binding.path, result.value);
    sources.set(binding.path.join('.'), name);
  }
  return { tree, sources, problems };
}

function setIn(tree: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let node = tree;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[path[path.length - 1]!] = value;
}
