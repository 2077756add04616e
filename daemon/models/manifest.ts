/**
 * The model manifest (models/manifest.json): every model edgeloom knows, its files with sha256
 * and size, where it came from, its licence, its tensors and what it costs in memory when loaded.
 *
 * Validation is by hand rather than through Ajv so that every problem names the entry by its id
 * and the field by its path (`whisper-tiny: files[1].sha256 must be 64 hex digits`), which is what
 * a person editing the file needs; all problems are collected, not just the first.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { EdgeloomError, ErrorCode } from '../errors.js';
import { packageRoot } from '../util/package-root.js';

export const MODEL_KINDS = [
  'vad',
  'face-detector',
  'emotion-classifier',
  'stt',
  // openWakeWord (issue #14): the shared melspectrogram + embedding, and one classifier per word.
  'wake-features',
  'wake-word',
] as const;
export type ModelKind = (typeof MODEL_KINDS)[number];

/** The implementation a stage picks for an entry (the face stage chooses its decoder by format). */
export const MODEL_FORMATS = [
  'silero-v5',
  'faceapi-tiny-yolo',
  'faceapi-expression',
  'whisper-onnx',
  'yunet',
  'ferplus',
  'openwakeword-features',
  'openwakeword',
] as const;
export type ModelFormat = (typeof MODEL_FORMATS)[number];

export const SOURCE_TYPES = ['npm', 'generated', 'url'] as const;
export type SourceType = (typeof SOURCE_TYPES)[number];

/** Prefix of a file path that lives inside an installed npm package instead of the models dir. */
export const NPM_PREFIX = 'npm:';

export interface ModelFile {
  /** Relative to the models dir (`face/tiny-face-detector.onnx`) or `npm:<package>/<path>`. */
  readonly path: string;
  /**
   * Lower-case hex sha256, or null when it is not known yet: then `pin` must be `on-first-fetch`
   * (the first fetch prints the hash and `models fetch --pin` writes it into the manifest).
   */
  readonly sha256: string | null;
  /** Exact size in bytes, or null together with an unknown sha256. */
  readonly size_bytes: number | null;
  /** Where `models fetch` downloads it from (absent for bundled and generated files). */
  readonly url?: string;
  /** `on-first-fetch`: trust the first download and record its hash (only with sha256 null). */
  readonly pin?: 'on-first-fetch';
}

export interface TensorInfo {
  readonly name: string;
  /** ONNX element type as onnxruntime names it: float32, int64, ... */
  readonly type: string;
  /** Shape; a string names a symbolic dimension (`batch`), null an unnamed one. */
  readonly dims: readonly (number | string | null)[];
}

export interface ModelEntry {
  /** Stable id: lower-case letters, digits and dashes. */
  readonly id: string;
  readonly kind: ModelKind;
  readonly format: ModelFormat;
  /** True when the files ship with edgeloom; false for models fetched on demand. */
  readonly bundled: boolean;
  readonly files: readonly ModelFile[];
  /** SPDX identifier (or a short phrase) of the licence the files are under. */
  readonly licence: string;
  readonly source: { readonly type: SourceType; readonly detail: string };
  /**
   * Origins the files' URLs may redirect to besides their own (`https://cdn.example.org`, or
   * `https://*.example.org` for any subdomain), e.g. a CDN behind Hugging Face or GitHub. https only.
   */
  readonly redirect_origins?: readonly string[];
  readonly inputs: readonly TensorInfo[];
  readonly outputs: readonly TensorInfo[];
  /**
   * Resident memory when loaded, MiB: RSS growth of a fresh process from after importing
   * onnxruntime-node to after creating the sessions (see scripts/measure-model-memory.ts).
   */
  readonly memory_mb: number;
  readonly notes?: string;
}

export interface Manifest {
  readonly version: 1;
  readonly models: readonly ModelEntry[];
}

const ID_PATTERN = /^[a-z0-9][a-z0-9-]{0,63}$/;
const SHA256_PATTERN = /^[0-9a-f]{64}$/;
/** An https origin, or `https://*.` and a domain; no path. */
const REDIRECT_ORIGIN = /^https:\/\/(\*\.)?[a-z0-9.-]+(:\d{1,5})?$/;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Check `data` against the manifest shape. Throws `E_MODEL_MANIFEST` listing every problem, each
 * naming the entry (its id, or `models[i]` when the id itself is bad) and the field.
 */
export function validateManifest(data: unknown, source = 'manifest'): Manifest {
  const problems: string[] = [];
  if (!isObj(data)) {
    throw new EdgeloomError(ErrorCode.E_MODEL_MANIFEST, `${source}: must be a JSON object`, {
      where: source,
    });
  }
  if (data.version !== 1) problems.push(`version must be 1 (got ${JSON.stringify(data.version)})`);
  if (!Array.isArray(data.models)) {
    problems.push('models must be an array');
  } else {
    const seen = new Set<string>();
    for (const [i, m] of data.models.entries()) {
      const name = isObj(m) && typeof m.id === 'string' && ID_PATTERN.test(m.id) ? m.id : `models[${i}]`;
      const say = (field: string, msg: string): void => void problems.push(`${name}: ${field} ${msg}`);
      if (!isObj(m)) {
        say('', 'must be an object');
        continue;
      }
      if (name === `models[${i}]`) say('id', `must match ${ID_PATTERN} (got ${JSON.stringify(m.id)})`);
      else if (seen.has(name)) say('id', 'is used by an earlier entry');
      seen.add(name);
      checkEntry(m, say);
    }
  }
  if (problems.length > 0) {
    throw new EdgeloomError(
      ErrorCode.E_MODEL_MANIFEST,
      `${source}: ${problems.length} problem(s):\n  ${problems.join('\n  ')}`,
      {
        where: source,
      },
    );
  }
  return data as unknown as Manifest;
}

function checkEntry(m: Obj, say: (field: string, msg: string) => void): void {
  const oneOf = (field: string, allowed: readonly string[]): void => {
    if (!allowed.includes(m[field] as string)) {
      say(field, `must be one of ${allowed.join(', ')} (got ${JSON.stringify(m[field])})`);
    }
  };
  oneOf('kind', MODEL_KINDS);
  oneOf('format', MODEL_FORMATS);
  if (typeof m.bundled !== 'boolean') say('bundled', 'must be true or false');
  if (typeof m.licence !== 'string' || m.licence === '') say('licence', 'must be a non-empty string');
  if (typeof m.memory_mb !== 'number' || !(m.memory_mb > 0)) say('memory_mb', 'must be a number > 0');
  if (m.notes !== undefined && typeof m.notes !== 'string') say('notes', 'must be a string');
  if (!isObj(m.source)) say('source', 'must be an object {type, detail}');
  else {
    if (!SOURCE_TYPES.includes(m.source.type as SourceType)) {
      say('source.type', `must be one of ${SOURCE_TYPES.join(', ')} (got ${JSON.stringify(m.source.type)})`);
    }
    if (typeof m.source.detail !== 'string' || m.source.detail === '')
      say('source.detail', 'must be a non-empty string');
  }
  if (m.redirect_origins !== undefined) {
    const ok =
      Array.isArray(m.redirect_origins) &&
      m.redirect_origins.every((o) => typeof o === 'string' && REDIRECT_ORIGIN.test(o));
    if (!ok)
      say('redirect_origins', 'must be a list of https origins (https://host[:port] or https://*.domain)');
  }
  for (const key of ['inputs', 'outputs'] as const) {
    const list = m[key];
    if (!Array.isArray(list)) {
      say(key, 'must be an array');
      continue;
    }
    for (const [j, t] of list.entries()) {
      const f = `${key}[${j}]`;
      if (!isObj(t)) {
        say(f, 'must be an object {name, type, dims}');
        continue;
      }
      if (typeof t.name !== 'string' || t.name === '') say(`${f}.name`, 'must be a non-empty string');
      if (typeof t.type !== 'string' || t.type === '') say(`${f}.type`, 'must be a non-empty string');
      const dimsOk =
        Array.isArray(t.dims) &&
        t.dims.every(
          (d) => d === null || typeof d === 'string' || (Number.isInteger(d) && (d as number) >= 0),
        );
      if (!dimsOk) say(`${f}.dims`, 'must be an array of integers >= 0, names or null');
    }
  }
  if (!Array.isArray(m.files) || m.files.length === 0) {
    say('files', 'must be a non-empty array');
    return;
  }
  const paths = new Set<string>();
  for (const [j, file] of m.files.entries()) {
    const f = `files[${j}]`;
    if (!isObj(file)) {
      say(f, 'must be an object {path, sha256, size_bytes}');
      continue;
    }
    checkFile(file, f, say);
    if (typeof file.path === 'string') {
      if (paths.has(file.path)) say(`${f}.path`, `repeats ${file.path}`);
      paths.add(file.path);
    }
  }
}

function checkFile(file: Obj, f: string, say: (field: string, msg: string) => void): void {
  const path = file.path;
  if (typeof path !== 'string' || path === '') say(`${f}.path`, 'must be a non-empty string');
  else if (isAbsolute(path) || path.split(/[\\/]/).includes('..')) {
    say(`${f}.path`, `must stay inside the models dir (got ${path})`);
  }
  if (file.sha256 === null) {
    if (file.pin !== 'on-first-fetch') say(`${f}.pin`, 'must be "on-first-fetch" when sha256 is null');
    if (typeof file.url !== 'string')
      say(`${f}.url`, 'is required when sha256 is null (nothing to pin from)');
  } else if (typeof file.sha256 !== 'string' || !SHA256_PATTERN.test(file.sha256)) {
    say(`${f}.sha256`, `must be 64 lower-case hex digits or null (got ${JSON.stringify(file.sha256)})`);
  } else if (file.pin !== undefined) {
    say(`${f}.pin`, 'only applies while sha256 is null');
  }
  const size = file.size_bytes;
  if (!(size === null || (Number.isInteger(size) && (size as number) >= 0))) {
    say(`${f}.size_bytes`, `must be an integer >= 0 or null (got ${JSON.stringify(size)})`);
  } else if (size === null && file.sha256 !== null)
    say(`${f}.size_bytes`, 'may be null only while sha256 is null');
  if (file.url !== undefined) {
    let ok = false;
    try {
      const u = new URL(String(file.url));
      ok = u.protocol === 'https:' || u.protocol === 'http:';
    } catch {}
    if (!ok) say(`${f}.url`, `must be an http(s) URL (got ${JSON.stringify(file.url)})`);
  }
}

/** Read and validate a manifest file; `E_MODEL_MANIFEST` names the file on any problem. */
export function loadManifest(file: string): Manifest {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new EdgeloomError(ErrorCode.E_MODEL_MANIFEST, `cannot read model manifest ${file}`, {
      where: file,
      cause: err,
    });
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (err) {
    throw new EdgeloomError(
      ErrorCode.E_MODEL_MANIFEST,
      `${file}: not valid JSON: ${(err as Error).message}`,
      {
        where: file,
      },
    );
  }
  return validateManifest(data, file);
}

/** The entry with `id`, or `E_MODEL_UNKNOWN` listing the ids that exist. */
export function findEntry(manifest: Manifest, id: string): ModelEntry {
  const entry = manifest.models.find((m) => m.id === id);
  if (entry === undefined) {
    throw new EdgeloomError(
      ErrorCode.E_MODEL_UNKNOWN,
      `no model "${id}" in the manifest (known: ${manifest.models.map((m) => m.id).join(', ')})`,
      { where: id },
    );
  }
  return entry;
}

/**
 * Absolute path of a manifest file: `npm:` paths are looked up in node_modules from the package
 * root upwards (not via require.resolve: packages' `exports` maps usually hide their data files).
 */
export function resolveModelFile(path: string, modelsDir: string): string {
  if (!path.startsWith(NPM_PREFIX)) return resolve(modelsDir, path);
  const rel = path.slice(NPM_PREFIX.length);
  let dir = packageRoot();
  for (;;) {
    const candidate = join(dir, 'node_modules', rel);
    if (existsSync(candidate)) return candidate;
    const parent = dirname(dir);
    if (parent === dir) return join(packageRoot(), 'node_modules', rel);
    dir = parent;
  }
}
