import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PcmFramer } from '../../daemon/sensors/mic/pcm-framer.js';

/** Little-endian s16 bytes of `samples`, independent of the framer's own conversion. */
function toBytes(samples: number[]): Buffer {
  const b = Buffer.alloc(samples.length * 2);
  for (const [i, s] of samples.entries()) b.writeInt16LE(s, i * 2);
  return b;
}

describe('PcmFramer', () => {
  it('property: any chunking (odd byte counts included) yields exact frames of the stream', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -32768, max: 32767 }), { maxLength: 3000 }),
        fc.array(fc.nat(400), { maxLength: 60 }),
        fc.integer({ min: 1, max: 700 }),
        (samples, sizes, frameSamples) => {
          const bytes = toBytes(samples);
          const framer = new PcmFramer(frameSamples);
          const frames: Int16Array[] = [];
          let off = 0;
          for (const size of sizes) {
            frames.push(...framer.push(bytes.subarray(off, off + size)));
            off = Math.min(bytes.length, off + size);
          }
          frames.push(...framer.push(bytes.subarray(off)));
          const whole = Math.floor(samples.length / frameSamples);
          expect(frames.length).toBe(whole);
          for (const f of frames) expect(f.length).toBe(frameSamples);
          const joined = frames.flatMap((f) => Array.from(f));
          expect(joined).toEqual(samples.slice(0, whole * frameSamples));
          expect(framer.pendingBytes()).toBe(bytes.length - whole * frameSamples * 2);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('frames are independent buffers and reset drops the partial frame', () => {
    const framer = new PcmFramer(2);
    const [a] = framer.push(toBytes([1, 2]));
    const [b] = framer.push(toBytes([3, 4]));
    expect(Array.from(a!)).toEqual([1, 2]);
    expect(Array.from(b!)).toEqual([3, 4]);
    expect(framer.push(Buffer.from([5, 0, 6]))).toEqual([]);
    expect(framer.reset()).toBe(3);
    expect(framer.push(toBytes([7, 8])).map((f) => Array.from(f))).toEqual([[7, 8]]);
  });
});
