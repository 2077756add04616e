/**
 * fetchModel against a real HTTP server on 127.0.0.1 (node:http, random port): full download,
 * resume after a socket closed mid-body, a server that ignores Range, redirects, checksum
 * mismatch, 404.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { fetchModel } from '../../daemon/models/fetch.js';
import type { ModelEntry } from '../../daemon/models/manifest.js';

const BODY = randomBytes(300_000);
const SHA = createHash('sha256').update(BODY).digest('hex');

interface Seen {
  path: string;
  range: string | undefined;
}

/** Behaviour switches the tests flip. */
const mode = { cutAfterBytes: 0, ignoreRange: false };
const seen: Seen[] = [];
let server: Server;
let base: string;

function handle(req: IncomingMessage, res: ServerResponse): void {
  seen.push({ path: req.url ?? '', range: req.headers.range });
  if (req.url === '/redirect/model.onnx') {
    res.writeHead(302, { location: '/files/model.onnx' });
    return void res.end();
  }
  if (req.url === '/loop') {
    res.writeHead(302, { location: '/loop' });
    return void res.end();
  }
  if (req.url !== '/files/model.onnx') {
    res.writeHead(404, { 'content-type': 'text/plain' });
    return void res.end('not here');
  }
  const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
  let start = 0;
  if (m !== null && !mode.ignoreRange) {
    start = Number(m[1]);
    res.writeHead(206, {
      'content-length': BODY.length - start,
      'content-range': `bytes ${start}-${BODY.length - 1}/${BODY.length}`,
    });
  } else {
    res.writeHead(200, { 'content-length': BODY.length });
  }
  if (mode.cutAfterBytes > 0) {
    const cut = mode.cutAfterBytes;
    mode.cutAfterBytes = 0; // only the first request is cut
    res.write(BODY.subarray(start, start + cut), () => {
      // Let the bytes reach the client before the connection dies.
      setTimeout(() => res.socket?.destroy(), 50);
    });
    return;
  }
  res.end(BODY.subarray(start));
}

function entry(
  sha256: string | null = SHA,
  size: number | null = BODY.length,
  path = 'm/model.onnx',
): ModelEntry {
  return {
    id: 'test-model',
    kind: 'vad',
    format: 'silero-v5',
    bundled: false,
    files: [
      sha256 === null
        ? { path, sha256: null, size_bytes: null, url: `${base}/files/model.onnx`, pin: 'on-first-fetch' }
        : { path, sha256, size_bytes: size, url: `${base}/files/model.onnx` },
    ],
    licence: 'MIT',
    source: { type: 'url', detail: 'test' },
    inputs: [],
    outputs: [],
    memory_mb: 1,
  };
}

beforeAll(async () => {
  server = createServer(handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));
beforeEach(() => {
  seen.length = 0;
  mode.cutAfterBytes = 0;
  mode.ignoreRange = false;
});

const freshDir = (): string => mkdtempSync(join(tmpdir(), 'edgeloom-fetch-'));

describe('fetchModel over real HTTP', () => {
  it('downloads, verifies and renames into place, reporting progress; a second run finds it present', async () => {
    const dir = freshDir();
    const progress: number[] = [];
    const [f] = await fetchModel(entry(), dir, { onProgress: (p) => progress.push(p.receivedBytes) });
    expect(f).toMatchObject({
      status: 'downloaded',
      sha256: SHA,
      sizeBytes: BODY.length,
      resumedFromBytes: 0,
    });
    expect(readFileSync(join(dir, 'm/model.onnx')).equals(BODY)).toBe(true);
    expect(existsSync(join(dir, 'm/model.onnx.part'))).toBe(false);
    expect(progress.at(-1)).toBe(BODY.length);
    expect(progress.length).toBeGreaterThan(1);
    const [again] = await fetchModel(entry(), dir);
    expect(again?.status).toBe('present');
    expect(seen).toHaveLength(1);
  });

  it('resumes an interrupted transfer with Range from the bytes kept in the .part file', async () => {
    const dir = freshDir();
    mode.cutAfterBytes = 120_000;
    const err = await fetchModel(entry(), dir).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_MODEL_FETCH' });
    expect((err as Error).message).toMatch(/interrupted after 120000 bytes|ended after 120000 bytes/);
    expect(statSync(join(dir, 'm/model.onnx.part')).size).toBe(120_000);
    expect(existsSync(join(dir, 'm/model.onnx'))).toBe(false);

    const [f] = await fetchModel(entry(), dir);
    expect(seen.map((s) => s.range)).toEqual([undefined, 'bytes=120000-']);
    expect(f).toMatchObject({ status: 'downloaded', resumedFromBytes: 120_000, sha256: SHA });
    expect(readFileSync(join(dir, 'm/model.onnx')).equals(BODY)).toBe(true);
  });

  it('starts over when the server ignores Range and answers 200', async () => {
    const dir = freshDir();
    writeFileSync(join(mkdirp(dir, 'm'), 'model.onnx.part'), BODY.subarray(0, 50_000));
    mode.ignoreRange = true;
    const [f] = await fetchModel(entry(), dir);
    expect(seen[0]?.range).toBe('bytes=50000-');
    expect(f).toMatchObject({ resumedFromBytes: 0, sha256: SHA });
    expect(readFileSync(join(dir, 'm/model.onnx')).equals(BODY)).toBe(true);
  });

  it('follows redirects (bounded) and a --url-base mirror', async () => {
    const dir = freshDir();
    const e = entry(SHA, BODY.length, 'model.onnx');
    const [f] = await fetchModel(e, dir, { urlBase: `${base}/redirect/` });
    expect(f?.sha256).toBe(SHA);
    expect(seen.map((s) => s.path)).toEqual(['/redirect/model.onnx', '/files/model.onnx']);
    const loop = { ...e, files: [{ ...e.files[0]!, path: 'other.onnx', url: `${base}/loop` }] };
    await expect(fetchModel(loop, dir, { maxRedirects: 3 })).rejects.toThrow(/more than 3 redirects/);
  });

  it('deletes the part and leaves no file in place on a checksum mismatch', async () => {
    const dir = freshDir();
    const wrong = 'f'.repeat(64);
    const err = await fetchModel(entry(wrong), dir).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_MODEL_CHECKSUM' });
    expect((err as Error).message).toContain(`sha256 ${SHA}, expected ${wrong}`);
    expect((err as Error).message).toContain('m/model.onnx');
    expect(existsSync(join(dir, 'm/model.onnx'))).toBe(false);
    expect(existsSync(join(dir, 'm/model.onnx.part'))).toBe(false);
  });

  it('fails clearly on 404 naming the URL and status', async () => {
    const dir = freshDir();
    const e = entry();
    const missing = { ...e, files: [{ ...e.files[0]!, url: `${base}/files/absent.onnx` }] };
    await expect(fetchModel(missing, dir)).rejects.toThrow(`${base}/files/absent.onnx: HTTP 404 Not Found`);
    expect(existsSync(join(dir, 'm/model.onnx'))).toBe(false);
  });

  it('accepts an unpinned file and reports its hash (pin on first fetch)', async () => {
    const dir = freshDir();
    const [f] = await fetchModel(entry(null, null), dir);
    expect(f).toMatchObject({ unpinned: true, sha256: SHA, sizeBytes: BODY.length });
  });

  it('aborts through the signal', async () => {
    const dir = freshDir();
    const ac = new AbortController();
    ac.abort(new Error('stop now'));
    await expect(fetchModel(entry(), dir, { signal: ac.signal })).rejects.toThrow('stop now');
  });
});

function mkdirp(dir: string, sub: string): string {
  const p = join(dir, sub);
  mkdirSync(p, { recursive: true });
  return p;
}
