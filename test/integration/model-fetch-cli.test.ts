/**
 * `edgeloom models list|verify|fetch` through the command object (daemon/cli/commands.ts
 * registers it; calling run() directly keeps this test independent of the rest of the CLI),
 * with a temporary models dir and manifest and a real HTTP server on 127.0.0.1 for fetch.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { modelsCommand } from '../../daemon/cli/cmd-models.js';
import { loadManifest } from '../../daemon/models/manifest.js';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const BUNDLED = Buffer.from('bundled model bytes');
const REMOTE = randomBytes(40_000);

let server: Server;
let base: string;
let dir: string;
let out: string[];
let err: string[];
/** Paths the loopback server was asked for, per test. */
const requests: string[] = [];
const savedStateDir = process.env.STATE_DIRECTORY;

function writeManifest(remoteSha: string | null): string {
  const manifest = {
    version: 1,
    models: [
      {
        id: 'local-vad',
        kind: 'vad',
        format: 'silero-v5',
        bundled: true,
        files: [{ path: 'vad/model.onnx', sha256: sha(BUNDLED), size_bytes: BUNDLED.length }],
        licence: 'MIT',
        source: { type: 'generated', detail: 'test' },
        inputs: [],
        outputs: [],
        memory_mb: 10,
      },
      {
        id: 'remote-stt',
        kind: 'stt',
        format: 'whisper-onnx',
        bundled: false,
        files: [
          remoteSha === null
            ? {
                path: 'stt/enc.onnx',
                sha256: null,
                size_bytes: null,
                url: 'https://example.invalid/enc.onnx',
                pin: 'on-first-fetch',
              }
            : {
                path: 'stt/enc.onnx',
                sha256: remoteSha,
                size_bytes: REMOTE.length,
                url: 'https://example.invalid/enc.onnx',
              },
        ],
        licence: 'Apache-2.0',
        source: { type: 'url', detail: 'test' },
        inputs: [],
        outputs: [],
        memory_mb: 100,
      },
    ],
  };
  const file = join(dir, 'manifest.json');
  writeFileSync(file, `${JSON.stringify(manifest, null, 2)}\n`);
  return file;
}

async function run(...argv: string[]): Promise<number> {
  return modelsCommand.run([...argv, '--models-dir', dir, '--manifest', join(dir, 'manifest.json')]);
}

beforeAll(async () => {
  server = createServer((req, res) => {
    requests.push(req.url ?? '');
    if (req.url === '/stt/enc.onnx') return void res.end(REMOTE);
    res.writeHead(404);
    res.end();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'edgeloom-models-cli-'));
  // The sha256 cache goes to the state dir; keep it out of the repository.
  process.env.STATE_DIRECTORY = join(dir, 'state');
  mkdirSync(join(dir, 'vad'));
  writeFileSync(join(dir, 'vad/model.onnx'), BUNDLED);
  out = [];
  err = [];
  requests.length = 0;
  vi.spyOn(process.stdout, 'write').mockImplementation((s) => {
    out.push(String(s));
    return true;
  });
  vi.spyOn(process.stderr, 'write').mockImplementation((s) => {
    err.push(String(s));
    return true;
  });
});
afterEach(() => {
  vi.restoreAllMocks();
  if (savedStateDir === undefined) delete process.env.STATE_DIRECTORY;
  else process.env.STATE_DIRECTORY = savedStateDir;
});

describe('edgeloom models', () => {
  it('list --json reports presence and checksum per model', async () => {
    writeManifest(sha(REMOTE));
    expect(await run('list', '--json')).toBe(0);
    const report = JSON.parse(out.join('')) as { models: Record<string, unknown>[] };
    expect(report.models.map((m) => [m.id, m.present, m.checksum])).toEqual([
      ['local-vad', 'all', 'ok'],
      ['remote-stt', 'none', '-'],
    ]);
    expect(report.models[1]).toMatchObject({ kind: 'stt', licence: 'Apache-2.0', sizeBytes: REMOTE.length });
    expect(readFileSync(join(dir, 'state/model-checksums.json'), 'utf8')).toContain(sha(BUNDLED));
  });

  it('verify passes with an absent optional model (a warning) and fails on an altered file', async () => {
    writeManifest(sha(REMOTE));
    expect(await run('verify')).toBe(0);
    expect(err.join('')).toContain('remote-stt: not fetched (optional; edgeloom models fetch remote-stt)');
    writeFileSync(join(dir, 'vad/model.onnx'), Buffer.from('bundled model bytez'));
    err.length = 0;
    expect(await run('verify')).toBe(1);
    expect(err.join('')).toContain(`FAILED: local-vad: ${join(dir, 'vad/model.onnx')}: sha256 `);
    expect(err.join('')).toContain(`expected ${sha(BUNDLED)}`);
  });

  it('fetch --url-base downloads and verifies; list then shows it present', async () => {
    writeManifest(sha(REMOTE));
    expect(await run('fetch', 'remote-stt', '--url-base', base)).toBe(0);
    expect(out.join('')).toContain(`downloaded stt/enc.onnx (${REMOTE.length} bytes) sha256 ${sha(REMOTE)}`);
    out.length = 0;
    await run('list', '--json');
    const report = JSON.parse(out.join('')) as { models: Record<string, unknown>[] };
    expect(report.models[1]).toMatchObject({ present: 'all', checksum: 'ok' });
  });

  it('fetch refuses an unpinned file before any request; --pin trusts it once, loudly, and records it', async () => {
    const file = writeManifest(null);
    await expect(run('fetch', 'remote-stt', '--url-base', base)).rejects.toMatchObject({
      code: 'E_MODEL_UNPINNED',
    });
    expect(requests).toEqual([]);
    expect(await run('fetch', 'remote-stt', '--url-base', base, '--pin')).toBe(0);
    expect(err.join('')).toContain('WARNING: TRUST ON FIRST USE for remote-stt: stt/enc.onnx');
    expect(requests).toEqual(['/stt/enc.onnx']);
    const pinned = loadManifest(file).models[1]!.files[0]!;
    expect(pinned).toMatchObject({ sha256: sha(REMOTE), size_bytes: REMOTE.length });
    expect(pinned.pin).toBeUndefined();
  });

  it('refuses unknown subcommands and model ids with coded errors', async () => {
    writeManifest(sha(REMOTE));
    await expect(run('frobnicate')).rejects.toMatchObject({ code: 'E_USAGE' });
    await expect(run('fetch', 'nope')).rejects.toMatchObject({ code: 'E_MODEL_UNKNOWN' });
    await expect(run('fetch', 'local-vad', '--url-base', base)).resolves.toBe(0); // present: nothing to do
    expect(out.join('')).toContain('present vad/model.onnx');
  });

  it('fetch --json prints one object with every file and where a pin was written', async () => {
    const file = writeManifest(null);
    expect(await run('fetch', 'remote-stt', '--url-base', base, '--pin', '--json')).toBe(0);
    const report = JSON.parse(out.join('')) as {
      id: string;
      files: Record<string, unknown>[];
      pinned_in: string;
    };
    expect(report.id).toBe('remote-stt');
    expect(report.files).toMatchObject([
      { path: 'stt/enc.onnx', status: 'downloaded', sizeBytes: REMOTE.length, sha256: sha(REMOTE) },
    ]);
    expect(report.pinned_in).toBe(file);
    expect(loadManifest(file).models[1]!.files[0]!.sha256).toBe(sha(REMOTE));
  });
});
