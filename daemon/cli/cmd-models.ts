/**
 * `edgeloom models list|verify|fetch`: what models the manifest knows, whether their files are on
 * disk and intact, and downloading the ones that are not bundled.
 */
import { readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { loadConfig } from '../config/index.js';
import { EdgeloomError, ErrorCode } from '../errors.js';
import { ChecksumCache } from '../models/checksum.js';
import { fetchModel } from '../models/fetch.js';
import { findEntry, loadManifest, type Manifest, type ModelEntry } from '../models/manifest.js';
import { checkEntryFiles, type FileCheck } from '../models/verify.js';
import { SystemClock } from '../util/clock.js';
import { packageRoot } from '../util/package-root.js';
import { bool, num, parse, str } from './args.js';
import type { Command } from './command.js';
import { ProgressBar } from './progress/download-bar.js';

const USAGE = `Usage: edgeloom models <list|verify|fetch> [options]

  list                 table of models: id, kind, present, checksum, size, licence
  verify               check every present file's sha256; exit 1 if one fails
  fetch ID             download a model's files (resumes a .part, verifies, then renames);
                       every file must be pinned (sha256 and size in the manifest); a redirect
                       may not leave the file's origin, the entry's redirect_origins or the
                       --url-base origin, nor go from https to http; a body longer than the
                       pinned size is cut off at once

Options:
  --json               list, verify, fetch: machine-readable output
  --models-dir DIR     directory the manifest's paths are under (default: config models.dir)
  --manifest FILE      manifest file (default: config models.manifest)
  --config FILE        configuration file (default: $EDGELOOM_CONFIG, else defaults)
  --url-base URL       fetch: download <URL>/<path> instead of each file's url (mirrors, tests);
                       redirects to this origin are allowed too
  --pin                fetch: trust on first use: download files the manifest has no sha256 for,
                       accept whatever arrives and write its sha256/size into the manifest
  --timeout-ms N       fetch: give up when no data arrives for N ms (default 30000)

Models whose files are absent and not bundled (bundled: false) only warn in verify.`;

const OPTIONS = {
  json: { type: 'boolean' },
  'models-dir': { type: 'string' },
  manifest: { type: 'string' },
  config: { type: 'string' },
  'url-base': { type: 'string' },
  pin: { type: 'boolean' },
  'timeout-ms': { type: 'string' },
} as const;

interface Paths {
  readonly modelsDir: string;
  readonly manifestFile: string;
  /** sha256 cache in the state dir, so verify does not re-hash unchanged files. */
  readonly cacheFile: string;
}

/**
 * Flags win; else the config's `models.dir` / `models.manifest` / `storage.dir`, resolved the way
 * daemon/cli/context.ts resolves them: against the package root for the embedded default config
 * (so the CLI finds the bundled models wherever it is started), against the working directory
 * for a user's file.
 */
function resolvePaths(configFlag: string | undefined, dirFlag?: string, manifestFlag?: string): Paths {
  const explicit = configFlag ?? (process.env.EDGELOOM_CONFIG || undefined);
  const configFile = explicit ?? join(packageRoot(), 'config', 'default.yaml');
  const config = loadConfig({ file: configFile, env: process.env });
  const baseDir = explicit === undefined ? dirname(dirname(configFile)) : process.cwd();
  return {
    modelsDir: resolve(dirFlag ?? resolve(baseDir, config.models.dir)),
    manifestFile: resolve(manifestFlag ?? resolve(baseDir, config.models.manifest)),
    cacheFile: resolve(baseDir, config.storage.dir, 'model-checksums.json'),
  };
}

interface ModelReport {
  readonly id: string;
  readonly kind: string;
  readonly format: string;
  readonly bundled: boolean;
  /** all: every file on disk; partial: some; none: none. */
  readonly present: 'all' | 'partial' | 'none';
  /** ok / mismatch / unpinned over the present files; `-` when none is present. */
  readonly checksum: 'ok' | 'mismatch' | 'unpinned' | '-';
  readonly sizeBytes: number;
  readonly licence: string;
  readonly files: readonly FileCheck[];
}

function summarise(entry: ModelEntry, checks: readonly FileCheck[]): ModelReport {
  const present = checks.filter((c) => c.state !== 'missing');
  const states = new Set(present.map((c) => c.state));
  return {
    id: entry.id,
    kind: entry.kind,
    format: entry.format,
    bundled: entry.bundled,
    present: present.length === checks.length ? 'all' : present.length > 0 ? 'partial' : 'none',
    checksum: states.has('mismatch')
      ? 'mismatch'
      : states.has('unpinned')
        ? 'unpinned'
        : present.length > 0
          ? 'ok'
          : '-',
    sizeBytes: entry.files.reduce((sum, f) => sum + (f.size_bytes ?? 0), 0),
    licence: entry.licence,
    files: checks,
  };
}

async function reports(manifest: Manifest, paths: Paths): Promise<ModelReport[]> {
  const cache = new ChecksumCache(paths.cacheFile);
  const out: ModelReport[] = [];
  for (const entry of manifest.models)
    out.push(summarise(entry, await checkEntryFiles(entry, paths.modelsDir, cache)));
  return out;
}

function formatSize(bytes: number): string {
  if (bytes === 0) return '?';
  return bytes >= 1024 * 1024
    ? `${(bytes / 1024 / 1024).toFixed(1)} MiB`
    : `${(bytes / 1024).toFixed(1)} KiB`;
}

function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) =>
      r
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

async function list(p: ReturnType<typeof parse>): Promise<number> {
  const paths = resolvePaths(str(p, 'config'), str(p, 'models-dir'), str(p, 'manifest'));
  const rs = await reports(loadManifest(paths.manifestFile), paths);
  if (bool(p, 'json')) {
    process.stdout.write(
      `${JSON.stringify({ modelsDir: paths.modelsDir, manifest: paths.manifestFile, models: rs }, null, 2)}\n`,
    );
    return 0;
  }
  const rows = [
    ['ID', 'KIND', 'PRESENT', 'CHECKSUM', 'SIZE', 'LICENCE'],
    ...rs.map((r) => [r.id, r.kind, r.present, r.checksum, formatSize(r.sizeBytes), r.licence]),
  ];
  process.stdout.write(`${table(rows)}\n`);
  return 0;
}

async function verify(p: ReturnType<typeof parse>): Promise<number> {
  const paths = resolvePaths(str(p, 'config'), str(p, 'models-dir'), str(p, 'manifest'));
  const rs = await reports(loadManifest(paths.manifestFile), paths);
  const failures: string[] = [];
  const warnings: string[] = [];
  for (const r of rs) {
    // An optional model that is simply not fetched is one warning, not one per file.
    if (!r.bundled && r.present === 'none') {
      warnings.push(`${r.id}: not fetched (optional; edgeloom models fetch ${r.id})`);
      continue;
    }
    for (const c of r.files) {
      if (c.state === 'mismatch') {
        const detail =
          c.actualSha256 === undefined
            ? `size ${c.actualSizeBytes} bytes, expected ${c.expectedSizeBytes}`
            : `sha256 ${c.actualSha256}, expected ${c.expectedSha256}`;
        failures.push(`${r.id}: ${c.absPath}: ${detail}`);
      } else if (c.state === 'missing') {
        failures.push(`${r.id}: ${c.absPath} is missing`);
      } else if (c.state === 'unpinned') {
        warnings.push(
          `${r.id}: ${c.absPath} has no pinned sha256 (now ${c.actualSha256}; fetch --pin records it)`,
        );
      }
    }
  }
  if (bool(p, 'json')) {
    process.stdout.write(`${JSON.stringify({ ok: failures.length === 0, failures, warnings }, null, 2)}\n`);
  } else {
    for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
    for (const f of failures) process.stderr.write(`FAILED: ${f}\n`);
    const checked = rs.reduce((n, r) => n + r.files.filter((c) => c.state === 'ok').length, 0);
    process.stdout.write(
      `${failures.length === 0 ? 'ok' : 'FAILED'}: ${checked} file(s) verified, ${failures.length} failure(s), ${warnings.length} warning(s)\n`,
    );
  }
  return failures.length === 0 ? 0 : 1;
}

async function fetch(p: ReturnType<typeof parse>): Promise<number> {
  const id = p.positionals[1];
  if (id === undefined)
    throw new EdgeloomError(ErrorCode.E_USAGE, 'models fetch: which model? (edgeloom models fetch ID)');
  const paths = resolvePaths(str(p, 'config'), str(p, 'models-dir'), str(p, 'manifest'));
  const entry = findEntry(loadManifest(paths.manifestFile), id);
  const bar = new ProgressBar({ stream: process.stderr, clock: new SystemClock() });
  const abort = new AbortController();
  const onSignal = (): void =>
    abort.abort(new EdgeloomError(ErrorCode.E_ABORTED, 'models fetch: interrupted'));
  process.once('SIGINT', onSignal);
  const urlBase = str(p, 'url-base');
  const idleTimeoutMs = num(p, 'timeout-ms', 'models');
  const pin = bool(p, 'pin');
  const unpinnedPaths = entry.files.filter((f) => f.sha256 === null).map((f) => f.path);
  if (pin && unpinnedPaths.length > 0) {
    // Said before any byte arrives, on stderr, where an install script's log keeps it.
    process.stderr.write(
      `WARNING: TRUST ON FIRST USE for ${id}: ${unpinnedPaths.join(', ')} ha${unpinnedPaths.length === 1 ? 's' : 've'} ` +
        'no sha256 in the manifest. Whatever the server sends now is accepted and its hash recorded as the pin; ' +
        "compare the hashes printed below with the publisher's before you trust this model.\n",
    );
  }
  try {
    const files = await fetchModel(entry, paths.modelsDir, {
      trustOnFirstUse: pin,
      signal: abort.signal,
      onProgress: (x) => bar.update(x),
      ...(urlBase === undefined ? {} : { urlBase }),
      ...(idleTimeoutMs === undefined ? {} : { idleTimeoutMs }),
    });
    bar.done();
    const unpinned = files.filter((f) => f.unpinned);
    // Only reachable with --pin: fetchModel refuses unpinned files otherwise.
    if (unpinned.length > 0) await pinManifest(paths.manifestFile, id, unpinned);
    if (bool(p, 'json')) {
      const pinned = unpinned.length > 0 ? paths.manifestFile : null;
      process.stdout.write(`${JSON.stringify({ id, files, pinned_in: pinned }, null, 2)}\n`);
      return 0;
    }
    for (const f of files) {
      const resumed = f.resumedFromBytes > 0 ? `, resumed from ${f.resumedFromBytes} bytes` : '';
      process.stdout.write(`${f.status} ${f.path} (${f.sizeBytes} bytes${resumed}) sha256 ${f.sha256}\n`);
    }
    if (unpinned.length > 0) {
      process.stdout.write(`pinned ${unpinned.length} file(s) of ${id} in ${paths.manifestFile}\n`);
    }
    return 0;
  } finally {
    bar.done();
    process.off('SIGINT', onSignal);
  }
}

/** Write the downloaded files' sha256 and size into the manifest (atomically; other entries untouched). */
async function pinManifest(
  manifestFile: string,
  id: string,
  files: readonly { path: string; sha256: string; sizeBytes: number }[],
): Promise<void> {
  const data = JSON.parse(await readFile(manifestFile, 'utf8')) as {
    models: { id: string; files: Record<string, unknown>[] }[];
  };
  const entry = data.models.find((m) => m.id === id);
  for (const f of entry?.files ?? []) {
    const got = files.find((x) => x.path === f.path);
    if (got === undefined) continue;
    f.sha256 = got.sha256;
    f.size_bytes = got.sizeBytes;
    delete f.pin;
  }
  const tmp = `${manifestFile}.${process.pid}.tmp`;
  await writeFile(tmp, `${JSON.stringify(data, null, 2)}\n`);
  await rename(tmp, manifestFile);
}

export const modelsCommand: Command = {
  name: 'models',
  summary: 'list, verify and fetch ONNX models (manifest, checksums, resumable downloads)',
  usage: USAGE,
  async run(argv: string[]): Promise<number> {
    const p = parse('models', argv, OPTIONS);
    switch (p.positionals[0]) {
      case 'list':
        return list(p);
      case 'verify':
        return verify(p);
      case 'fetch':
        return fetch(p);
      default:
        throw new EdgeloomError(
          ErrorCode.E_USAGE,
          `models: expected list, verify or fetch (got ${JSON.stringify(p.positionals[0] ?? '')}); see edgeloom models --help`,
          { where: 'models' },
        );
    }
  },
};
