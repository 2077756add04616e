import { readFileSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import { EdgeloomError, ErrorCode } from '../errors.js';
import { type EnvBinding, envLayer, envTable } from './env.js';
import { ConfigError, type ConfigProblem, dottedPath } from './problems.js';
import { crossFieldViolations } from './rules.js';
import type { JsonSchema } from './schema/builder.js';
import { configSchema } from './schema/index.js';
import type { ConfigOverrides, EdgeloomConfig } from './types.js';
import { compileValidator, type Violation } from './validate.js';
import { parseYaml, type YamlSource } from './yaml-source.js';

export interface LoadConfigOptions {
  /** YAML file. Default: `$EDGELOOM_CONFIG`; with neither, only defaults, env and overrides apply. */
  readonly file?: string;
  /** Environment for `EDGELOOM_*` overrides and `$STATE_DIRECTORY`. Default `process.env`. */
  readonly env?: NodeJS.ProcessEnv;
  /** Highest-precedence values (CLI flags, tests). Not mutated. */
  readonly overrides?: ConfigOverrides;
  /** Host name the default `device.id` is derived from. Default `os.hostname()`. */
  readonly hostname?: string;
}

/** Compiled once per process: Ajv compilation is the expensive part and the schema never changes. */
let compiled: { validate: (data: unknown) => Violation[]; env: ReadonlyMap<string, EnvBinding> } | undefined;
function schemaTools(): NonNullable<typeof compiled> {
  compiled ??= { validate: compileValidator(configSchema), env: envTable(configSchema) };
  return compiled;
}

/** Every variable `loadConfig` accepts (for `edgeloom config --env` and docs). */
export function configEnvVars(): ReadonlyMap<string, EnvBinding> {
  return schemaTools().env;
}

/**
 * Build the configuration: schema defaults < YAML file < `EDGELOOM_*` variables < `overrides`.
 * Maps (thresholds, privacy overrides) merge key by key over their defaults; lists replace.
 * The result is validated, has `{device_id}` in `mqtt.base_topic` expanded, and is deep-frozen.
 *
 * Throws `ConfigError` (`E_CONFIG_INVALID`) listing every problem with its source
 * (`config.yaml:12:3`, `env EDGELOOM_X`, `overrides`), and `E_CONFIG_NOT_FOUND` when the file
 * cannot be read.
 */
export function loadConfig(options: LoadConfigOptions = {}): EdgeloomConfig {
  const env = options.env ?? process.env;
  const tools = schemaTools();
  const file = options.file ?? (env.EDGELOOM_CONFIG || undefined);

  let yaml: YamlSource | undefined;
  if (file !== undefined) {
    const parsed = parseYaml(readConfigFile(file), file);
    if (!parsed.ok) throw new ConfigError(parsed.problems);
    yaml = parsed.source;
  }
  const fromEnv = envLayer(env, tools.env);
  const overrides = (options.overrides === undefined ? {} : structuredClone(options.overrides)) as Record<
    string,
    unknown
  >;

  const derived = {
    device: { id: deviceIdFromHostname(options.hostname ?? osHostname()) },
    storage: { dir: env.STATE_DIRECTORY?.split(':')[0] || './var/edgeloom' },
  };
  // Ajv fills every schema default into the empty object (in schema order, so `config print`
  // reads like the schema); the only violations are the derived keys, supplied next.
  const defaults = {};
  tools.validate(defaults);
  const merged = [derived, yaml?.data ?? {}, fromEnv.tree, overrides].reduce<unknown>(merge, defaults);

  let violations = tools.validate(merged);
  if (violations.length === 0) violations = crossFieldViolations(merged as EdgeloomConfig);

  const layers: Layer[] = [
    { tree: overrides, describe: () => 'overrides' },
    { tree: fromEnv.tree, describe: (p) => `env ${envVarFor(p, fromEnv.sources)}` },
    { tree: yaml?.data ?? {}, describe: (p, atKey) => yaml?.locate(p, atKey) ?? '' },
  ];
  const problems: ConfigProblem[] = [
    ...fromEnv.problems,
    ...violations.map((v) => ({ source: sourceOf(v, layers), key: dottedPath(v.path), message: v.message })),
  ];
  if (problems.length > 0) throw new ConfigError(problems);

  const config = merged as { mqtt: { base_topic: string }; device: { id: string } };
  config.mqtt.base_topic = config.mqtt.base_topic.replaceAll('{device_id}', config.device.id);
  const frozen = deepFreeze(merged as EdgeloomConfig);
  SOURCES.set(frozen, leafSources(frozen, [...layers, { tree: derived, describe: () => 'derived' }]));
  return frozen;
}

/**
 * Where each value of a loaded config came from, by dotted key (lists are one value):
 * `default`, `derived` (device id from the host name, storage from $STATE_DIRECTORY),
 * `file:line:col`, `env EDGELOOM_…` or `overrides` (CLI flags). Kept beside the config object it
 * describes (a WeakMap: it goes when the config does), for the dashboard's read-only config view.
 */
const SOURCES = new WeakMap<object, ReadonlyMap<string, string>>();

/** The sources of a config `loadConfig` returned; undefined for one built any other way. */
export function configSources(config: EdgeloomConfig): ReadonlyMap<string, string> | undefined {
  return SOURCES.get(config);
}

function valueAt(tree: unknown, path: readonly string[]): unknown {
  let node = tree;
  for (const key of path) {
    if (!isPlainObject(node)) return undefined;
    node = node[key];
  }
  return node ?? undefined;
}

function leafSources(config: unknown, layers: readonly Layer[]): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (value: unknown, path: string[]): void => {
    if (isPlainObject(value) && Object.keys(value).length > 0) {
      for (const [key, child] of Object.entries(value)) walk(child, [...path, key]);
      return;
    }
    const layer = layers.find((l) => valueAt(l.tree, path) !== undefined);
    out.set(path.join('.'), layer?.describe(path, false) || 'default');
  };
  walk(config, []);
  return out;
}

function readConfigFile(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    const code = err instanceof Error && 'code' in err ? String(err.code) : 'unreadable';
    throw new EdgeloomError(ErrorCode.E_CONFIG_NOT_FOUND, `cannot read config file ${file} (${code})`, {
      where: file,
      cause: err,
    });
  }
}

/** `Pi-Kitchen.local` → `pi-kitchen-local`: safe in MQTT topics and Home Assistant ids. */
export function deviceIdFromHostname(host: string): string {
  const id = host
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^[^a-z0-9]+|-+$/g, '')
    .slice(0, 63);
  return id === '' ? 'edgeloom' : id;
}

interface Layer {
  readonly tree: unknown;
  readonly describe: (path: readonly (string | number)[], atKey: boolean) => string;
}

/** The layer that set the offending value: the one holding the longest part of its path, later layers first. */
function sourceOf(v: Violation, layers: readonly Layer[]): string {
  let best: Layer | undefined;
  let bestDepth = 0;
  const path = v.at ?? v.path;
  for (const layer of layers) {
    const depth = depthIn(layer.tree, path);
    if (depth > bestDepth) {
      best = layer;
      bestDepth = depth;
    }
  }
  return best?.describe(path, v.atKey) ?? '';
}

/** How many leading segments of `path` exist in `tree`; a leaf met early counts as the whole path. */
function depthIn(tree: unknown, path: readonly (string | number)[]): number {
  let node = tree;
  for (let i = 0; i < path.length; i++) {
    if (node === null || typeof node !== 'object') return i === 0 ? 0 : path.length;
    const next = (node as Record<string, unknown>)[String(path[i])];
    if (next === undefined) return i;
    node = next;
  }
  return path.length;
}

function envVarFor(path: readonly (string | number)[], sources: ReadonlyMap<string, string>): string {
  for (let n = path.length; n > 0; n--) {
    const name = sources.get(path.slice(0, n).join('.'));
    if (name !== undefined) return name;
  }
  return '?';
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Objects merge key by key; anything else replaces. A `null` over a section is ignored, so a
 * YAML section whose keys are all commented out (`sensors:`) means "defaults", not an error.
 */
function merge(base: unknown, patch: unknown): unknown {
  if (patch === undefined || (patch === null && isPlainObject(base))) return base;
  if (!isPlainObject(base) || !isPlainObject(patch)) return patch;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(patch)) out[key] = merge(base[key], value);
  return out;
}

/** Freeze recursively, so no component can change configuration another one also reads. */
export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/** A copy with every secret (schema `writeOnly`) that is set replaced by `[redacted]`, for logs and `config print`. */
export function redactConfig(config: EdgeloomConfig): unknown {
  const walk = (value: unknown, schema: JsonSchema | undefined): unknown => {
    if (schema?.writeOnly === true && typeof value === 'string' && value !== '') return '[redacted]';
    if (Array.isArray(value)) return value.map((item) => walk(item, schema?.items));
    if (!isPlainObject(value)) return value;
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(value)) {
      const extra = schema?.additionalProperties;
      out[key] = walk(child, schema?.properties?.[key] ?? (typeof extra === 'object' ? extra : undefined));
    }
    return out;
  };
  return walk(config, configSchema);
}
