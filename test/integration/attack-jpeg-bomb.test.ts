/**
 * A decompression bomb in the camera stream: a tiny JPEG whose header declares 16000×16000. libjpeg
 * fills the missing data with grey (a warning, not an error), so it used to decode into a 768 MB RGB
 * buffer. The compiled CLI replays the bundled face fixture with such a frame in the middle; the
 * face stage must refuse it from its header (the limit comes from the configured camera size),
 * say so, and go on with the next frame.
 */
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli-process.js';
import { FACES_FIXTURE } from '../helpers/privacy-inspect.js';

const dir = mkdtempSync(join(tmpdir(), 'edgeloom-jpeg-bomb-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A valid 64×64 baseline JPEG with its SOF0 size rewritten to 16000×16000. */
async function bomb(): Promise<Buffer> {
  const small = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#784f28' } })
    .jpeg()
    .toBuffer();
  const sof = small.indexOf(Buffer.from([0xff, 0xc0]));
  const out = Buffer.from(small);
  out.writeUInt16BE(16_000, sof + 5); // height (ITU T.81 B.2.2: P, Y, X after the length)
  out.writeUInt16BE(16_000, sof + 7); // width
  return out;
}

interface IndexLine {
  t_ms: number;
  offset: number;
  length: number;
}

describe('a JPEG declaring 16000×16000 in the camera stream', () => {
  it('is refused before decoding, and the frames after it are analysed', async () => {
    const fixture = join(dir, 'faces');
    cpSync(FACES_FIXTURE, fixture, { recursive: true });
    const mjpeg = readFileSync(join(fixture, 'camera.mjpeg'));
    const index = readFileSync(join(fixture, 'camera.index.jsonl'), 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as IndexLine);
    const frames: { tMs: number; jpeg: Buffer }[] = index.map((e) => ({
      tMs: e.t_ms,
      jpeg: mjpeg.subarray(e.offset, e.offset + e.length),
    }));
    const at = 10;
    frames.splice(at, 0, { tMs: (frames[at - 1]!.tMs + frames[at]!.tMs) / 2, jpeg: await bomb() });
    let offset = 0;
    const lines = frames.map((f) => {
      const line = { t_ms: f.tMs, offset, length: f.jpeg.length };
      offset += f.jpeg.length;
      return JSON.stringify(line);
    });
    writeFileSync(join(fixture, 'camera.mjpeg'), Buffer.concat(frames.map((f) => f.jpeg)));
    writeFileSync(join(fixture, 'camera.index.jsonl'), `${lines.join('\n')}\n`);
    const config = join(dir, 'config.yaml');
    // The camera is configured 640×480: frames up to 1280×960 decode, the bomb does not.
    writeFileSync(
      config,
      [
        'sensors:',
        '  camera: { width: 640, height: 480 }',
        'pipeline:',
        '  face: { max_rate_hz: 100 }',
        '  stt: { model: whisper-synthetic-tiny }',
        '',
      ].join('\n'),
    );

    const r = await runCli(
      ['replay', fixture, '--speed', '0', '--config', config, '--emit-bus', 'inference/face/#'],
      {
        timeoutMs: 90_000,
      },
    );
    expect(r.code, r.stderr.slice(-2000)).toBe(0);
    const refused = r.stderr
      .split('\n')
      .filter((l) => l.includes('face inference failed'))
      .map((l) => JSON.parse(l) as { code?: string; err?: string });
    expect(refused).toEqual([expect.objectContaining({ code: 'E_IMAGE_DECODE' })]);
    expect(refused[0]!.err).toContain('pixel limit');
    // Every real frame, before and after the bomb, was analysed; the bomb produced nothing.
    const inferences = r.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { topic: string; payload: { width: number } });
    expect(inferences.filter((e) => e.topic.startsWith('inference/face/'))).toHaveLength(index.length);
    expect(inferences.every((e) => e.payload.width === 640)).toBe(true);
  }, 120_000);
});
