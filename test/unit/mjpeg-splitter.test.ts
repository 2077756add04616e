import fc from 'fast-check';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { MjpegSplitter, type SplitFrame } from '../../daemon/sensors/camera/mjpeg-splitter.js';

interface Sample {
  readonly jpeg: Buffer;
  readonly width: number;
  readonly height: number;
  /** Offset of the first entropy-coded byte of the last scan. */
  readonly entropyStart: number;
}

/** Real JPEGs: baseline, progressive (several scans, DHT between them), and one carrying an EXIF-style
 * thumbnail (a whole JPEG with its own FFD8…FFD9) inside an APP1 segment. */
let samples: Sample[] = [];

async function noiseJpeg(width: number, height: number, progressive: boolean): Promise<Buffer> {
  return sharp({
    create: {
      width,
      height,
      channels: 3,
      background: '#808080',
      noise: { type: 'gaussian', mean: 128, sigma: 70 },
    },
  })
    .jpeg({ quality: 85, progressive })
    .toBuffer();
}

function withThumbnail(main: Buffer, thumb: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from('Exif\0\0', 'latin1'), thumb]);
  const app1 = Buffer.alloc(4);
  app1.writeUInt16BE(0xffe1, 0);
  app1.writeUInt16BE(body.length + 2, 2);
  return Buffer.concat([main.subarray(0, 2), app1, body, main.subarray(2)]);
}

/**
 * Start of the last scan's entropy-coded data: FFDA cannot occur inside entropy-coded data (byte
 * stuffing), so the last FFDA is the last SOS marker, also in a progressive JPEG.
 */
function sample(jpeg: Buffer, width: number, height: number): Sample {
  const sos = jpeg.lastIndexOf(Buffer.from([0xff, 0xda]));
  return { jpeg, width, height, entropyStart: sos + 2 + jpeg.readUInt16BE(sos + 2) };
}

beforeAll(async () => {
  const small = await noiseJpeg(48, 32, false);
  const a = await noiseJpeg(96, 64, false);
  const b = await noiseJpeg(70, 41, true);
  const c = await noiseJpeg(160, 120, false);
  samples = [
    sample(a, 96, 64),
    sample(b, 70, 41),
    sample(c, 160, 120),
    sample(withThumbnail(a, small), 96, 64),
    sample(small, 48, 32),
  ];
  // The thumbnail case must really contain an EOI before the real one, or it tests nothing.
  expect(samples[3]!.jpeg.indexOf(Buffer.from([0xff, 0xd9]))).toBeLessThan(samples[3]!.jpeg.length - 2);
});

/** Cut `stream` at the given fractions into chunks. */
function chunk(stream: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((f) => Math.floor(f * stream.length)))].sort((x, y) => x - y);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of points) {
    if (p > prev) out.push(stream.subarray(prev, p));
    prev = Math.max(prev, p);
  }
  out.push(stream.subarray(prev));
  return out;
}

function run(splitter: MjpegSplitter, chunks: Buffer[]): SplitFrame[] {
  const frames: SplitFrame[] = [];
  for (const c of chunks) {
    frames.push(...splitter.push(c));
    expect(splitter.bufferedBytes()).toBeLessThanOrEqual(splitter.maxFrameBytes);
    const k = splitter.counters();
    expect(k.bytesIn).toBe(k.frameBytes + k.garbageBytes + k.discardedBytes + splitter.bufferedBytes());
  }
  return frames;
}

/** Garbage that cannot contain a marker (no 0xFF), so it can never look like an SOI. */
const garbage = fc
  .uint8Array({ maxLength: 300 })
  .map((a) => Buffer.from(a.map((x) => (x === 0xff ? 0x7f : x))));
const cuts = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 40 });

describe('MjpegSplitter', () => {
  it('emits each real JPEG byte-identical with its SOF dimensions', () => {
    const s = new MjpegSplitter();
    const frames = run(
      s,
      samples.map((x) => x.jpeg),
    );
    expect(frames.map((f) => f.jpeg.equals(samples[frames.indexOf(f)]!.jpeg))).toEqual(
      samples.map(() => true),
    );
    expect(frames.map((f) => [f.width, f.height])).toEqual(samples.map((x) => [x.width, x.height]));
    expect(s.counters()).toMatchObject({
      frames: 5,
      garbageBytes: 0,
      truncated: 0,
      oversized: 0,
      corrupt: 0,
    });
  });

  it('feeds one byte at a time', () => {
    const stream = Buffer.concat(samples.map((x) => x.jpeg));
    const s = new MjpegSplitter();
    const frames: SplitFrame[] = [];
    for (let i = 0; i < stream.length; i++) frames.push(...s.push(stream.subarray(i, i + 1)));
    expect(frames.map((f) => f.jpeg.length)).toEqual(samples.map((x) => x.jpeg.length));
  });

  it('property: any chunking with garbage between frames yields every frame intact', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.nat(samples.length - 1), garbage), { minLength: 1, maxLength: 8 }),
        garbage,
        cuts,
        (seq, lead, cutAt) => {
          const parts: Buffer[] = [lead];
          for (const [idx, g] of seq) parts.push(samples[idx]!.jpeg, g);
          const s = new MjpegSplitter();
          const frames = run(s, chunk(Buffer.concat(parts), cutAt));
          expect(frames.length).toBe(seq.length);
          frames.forEach((f, k) => {
            const want = samples[seq[k]![0]]!;
            expect(f.jpeg.equals(want.jpeg)).toBe(true);
            expect([f.width, f.height]).toEqual([want.width, want.height]);
          });
          const k = s.counters();
          expect(k.garbageBytes).toBe(parts.reduce((n, p, i) => n + (i % 2 === 0 ? p.length : 0), 0));
          expect(k.truncated + k.oversized + k.corrupt).toBe(0);
        },
      ),
      { numRuns: 1500 },
    );
  });

  it('property: a frame cut short in its entropy data is discarded and counted; the next one survives', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.tuple(fc.nat(samples.length - 1), fc.option(fc.double({ min: 0, max: 1, noNaN: true }))),
          {
            minLength: 1,
            maxLength: 8,
          },
        ),
        cuts,
        (seq, cutAt) => {
          const parts: Buffer[] = [];
          let whole = 0;
          let cut = 0;
          for (const [idx, frac] of seq) {
            const x = samples[idx]!;
            if (frac === null) {
              parts.push(x.jpeg);
              whole++;
            } else {
              const end = x.entropyStart + Math.floor(frac * (x.jpeg.length - 2 - x.entropyStart));
              parts.push(x.jpeg.subarray(0, end));
              cut++;
            }
          }
          const s = new MjpegSplitter();
          const frames = run(s, chunk(Buffer.concat(parts), cutAt));
          s.reset(); // a last cut frame is only known to be cut when the stream ends
          expect(frames.length).toBe(whole);
          for (const f of frames) expect(samples.some((x) => x.jpeg.equals(f.jpeg))).toBe(true);
          const k = s.counters();
          expect(k.truncated).toBe(cut);
          expect(k.bytesIn).toBe(k.frameBytes + k.discardedBytes + k.garbageBytes);
        },
      ),
      { numRuns: 1500 },
    );
  });

  it('property: frames over maxFrameBytes are refused, counted, and memory stays bounded', () => {
    const sizes = samples.map((x) => x.jpeg.length).sort((a, b) => a - b);
    const max = Math.floor((sizes[1]! + sizes[sizes.length - 1]!) / 2);
    fc.assert(
      fc.property(
        fc.array(fc.nat(samples.length - 1), { minLength: 1, maxLength: 10 }),
        cuts,
        (seq, cutAt) => {
          const s = new MjpegSplitter({ maxFrameBytes: max });
          const frames = run(s, chunk(Buffer.concat(seq.map((i) => samples[i]!.jpeg)), cutAt));
          const fits = seq.filter((i) => samples[i]!.jpeg.length <= max);
          expect(frames.map((f) => f.jpeg.length)).toEqual(fits.map((i) => samples[i]!.jpeg.length));
          expect(s.counters().oversized).toBe(seq.length - fits.length);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('property: arbitrary bytes never crash it and every byte is accounted for', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(
            fc.uint8Array({ maxLength: 200 }).map((a) => Buffer.from(a)),
            fc.constantFrom(...samples.map((x) => x.jpeg)),
            fc.constant(Buffer.from([0xff, 0xd8, 0xff])),
          ),
          { maxLength: 12 },
        ),
        cuts,
        (parts, cutAt) => {
          const s = new MjpegSplitter({ maxFrameBytes: 4096 });
          const frames = run(s, chunk(Buffer.concat(parts), cutAt));
          for (const f of frames) {
            expect(f.jpeg.length).toBeLessThanOrEqual(4096);
            expect(f.jpeg.subarray(0, 2).equals(Buffer.from([0xff, 0xd8]))).toBe(true);
            expect(f.jpeg.subarray(-2).equals(Buffer.from([0xff, 0xd9]))).toBe(true);
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('refuses a header with an impossible segment length as corrupt and resyncs', () => {
    const bad = Buffer.from([0xff, 0xd8, 0xff, 0xdb, 0x00, 0x01, 0x00]);
    const s = new MjpegSplitter();
    const frames = s.push(Buffer.concat([bad, samples[0]!.jpeg]));
    expect(frames).toHaveLength(1);
    expect(s.counters().corrupt).toBe(1);
  });
});
