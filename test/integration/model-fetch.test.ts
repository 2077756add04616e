/**
 * fetchModel against a real HTTP server on 127.0.0.1 (node:http, random port): full download,
 * resume after a socket closed mid-body, a server that ignores Range, redirects, checksum
 * mismatch, 404; and a hostile mirror: a file without a pin, a redirect to another origin, a
 * body far larger than the manifest says.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { fetchModel, redirectAllowed } from '../../daemon/models/fetch.js';
import type { ModelEntry } from '../../daemon/models/manifest.js';

const BODY = randomBytes(300_000);
const SHA = createHash('sha256').update(BODY).digest('hex');

interface Seen {
  path: string;
  range: string | undefined;
}

/** Behaviour switches the tests flip. */
const mode = { cutAfterBytes: 0, ignoreRange: false };
/** What the flood route managed to hand to its socket, bytes, and whether it got to the end. */
const flood = { sentBytes: 0, finished: false, closed: false };
const FLOOD_BYTES = 20 * 1024 * 1024;
const seen: Seen[] = [];
let server: Server;
let base: string;

function handle(req: IncomingMessage, res: ServerResponse): void {
  seen.push({ path: req.url ?? '', range: req.headers.range });
  if (req.url === '/redirect/model.onnx') {
    res.writeHead(302, { location: '/files/model.onnx' });
    return void res.end();
  }
  if (req.url === '/cross/model.onnx') {
    // Same server, another origin: `localhost` is not `127.0.0.1`.
    res.writeHead(302, {
      location: `http://localhost:${(server.address() as AddressInfo).port}/files/model.onnx`,
    });
    return void res.end();
  }
  if (req.url === '/flood/model.onnx') {
    // 20 MiB for a file the manifest says is 1 KiB, as fast as the client reads (no length).
    res.writeHead(200, { 'content-type': 'application/octet-stream' });
    res.on('close', () => {
      flood.closed = true;
    });
    const chunk = Buffer.alloc(64 * 1024, 0x41);
    const pump = (): void => {
      while (flood.sentBytes < FLOOD_BYTES && !res.destroyed) {
        flood.sentBytes += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      if (!res.destroyed) {
        flood.finished = true;
        res.end();
      }
    };
    pump();
    return;
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
  flood.sentBytes = 0;
  flood.finished = false;
  flood.closed = false;
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

  it('refuses an unpinned file without asking the server; trust on first use only when asked', async () => {
    const dir = freshDir();
    const err = await fetchModel(entry(null, null), dir).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_MODEL_UNPINNED' });
    expect((err as Error).message).toContain('--pin');
    expect(seen).toEqual([]);
    expect(existsSync(join(dir, 'm/model.onnx'))).toBe(false);
    const [f] = await fetchModel(entry(null, null), dir, { trustOnFirstUse: true });
    expect(f).toMatchObject({ unpinned: true, sha256: SHA, sizeBytes: BODY.length });
  });

  it('refuses a redirect to another origin unless the manifest names it', async () => {
    const dir = freshDir();
    const e = entry();
    const cross = { ...e, files: [{ ...e.files[0]!, url: `${base}/cross/model.onnx` }] };
    const err = await fetchModel(cross, dir).catch((x: unknown) => x);
    expect(err).toMatchObject({ code: 'E_MODEL_FETCH' });
    expect((err as Error).message).toMatch(/redirect to http:\/\/localhost:\d+ .*not allowed/);
    expect(seen.map((s) => s.path)).toEqual(['/cross/model.onnx']);
    expect(existsSync(join(dir, 'm/model.onnx.part'))).toBe(false);
    const local = `http://localhost:${(server.address() as AddressInfo).port}`;
    // The manifest names the origin its host redirects to (as for Hugging Face's CDN; a loaded
    // manifest names https origins only, this loopback server speaks http).
    const [viaManifest] = await fetchModel({ ...cross, redirect_origins: [local] }, freshDir());
    expect(viaManifest?.sha256).toBe(SHA);
  });

  it('stops reading as soon as the body passes the pinned size (20 MiB sent for 1 KiB)', async () => {
    const dir = freshDir();
    const e = entry('0'.repeat(64), 1024);
    const flooding = { ...e, files: [{ ...e.files[0]!, url: `${base}/flood/model.onnx` }] };
    const written: number[] = [];
    const err = await fetchModel(flooding, dir, { onProgress: (p) => written.push(p.receivedBytes) }).catch(
      (x: unknown) => x,
    );
    expect(err).toMatchObject({ code: 'E_MODEL_TOO_LARGE' });
    expect((err as Error).message).toContain('more than the 1024 bytes');
    // Never more than the manifest's size on disk, and nothing left behind.
    expect(Math.max(...written)).toBeLessThanOrEqual(1024);
    expect(existsSync(join(dir, 'm/model.onnx.part'))).toBe(false);
    // The connection was dropped: the server could hand its socket only what the kernel's
    // buffers took before the first read (about 4 MiB here), never the 20 MiB it meant to send.
    await vi.waitFor(() => expect(flood.closed).toBe(true));
    expect(flood.finished).toBe(false);
    expect(flood.sentBytes).toBeLessThanOrEqual(FLOOD_BYTES / 2);
  });

  it('aborts through the signal', async () => {
    const dir = freshDir();
    const ac = new AbortController();
    ac.abort(new Error('stop now'));
    await expect(fetchModel(entry(), dir, { signal: ac.signal })).rejects.toThrow('stop now');
  });
});

describe('redirectAllowed', () => {
  const allowed = ['https://huggingface.co', 'https://*.hf.co'];
  it.each([
    ['https://huggingface.co/a', 'https://huggingface.co/b', true],
    ['https://huggingface.co/a', 'https://cdn-lfs.hf.co/b', true],
    ['https://huggingface.co/a', 'https://hf.co.evil.example/b', false],
    ['https://huggingface.co/a', 'https://evil.example/b', false],
    // A downgrade is refused even to a named origin's host.
    ['https://huggingface.co/a', 'http://huggingface.co/b', false],
    ['https://huggingface.co/a', 'http://cdn-lfs.hf.co/b', false],
  ])('%s -> %s: %s', (from, to, ok) => {
    expect(redirectAllowed(new URL(from), new URL(to), allowed)).toBe(ok);
  });
  it('allows an http target only when an http origin is named (a LAN mirror given as --url-base)', () => {
    expect(
      redirectAllowed(new URL('http://10.0.0.2/a'), new URL('http://10.0.0.3/b'), ['http://10.0.0.3']),
    ).toBe(true);
    expect(
      redirectAllowed(new URL('https://10.0.0.2/a'), new URL('http://10.0.0.3/b'), ['http://10.0.0.3']),
    ).toBe(true);
  });
});

function mkdirp(dir: string, sub: string): string {
  const p = join(dir, sub);
  mkdirSync(p, { recursive: true });
  return p;
}
