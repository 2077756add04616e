import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  bottomRightSquare,
  centredSquare,
  type PaddedRegion,
  type RgbImage,
  resizeBilinearToPlanar,
} from '../../daemon/pipeline/preprocess/bilinear.js';

function grey(values: number[][]): RgbImage {
  const height = values.length;
  const width = values[0]!.length;
  const data = new Uint8Array(width * height * 3);
  values.flat().forEach((v, i) => {
    data.fill(v, i * 3, i * 3 + 3);
  });
  return { data, width, height };
}

/** Straightforward reference: build the padded canvas explicitly, then TF legacy sampling in float64. */
function reference(image: RgbImage, region: PaddedRegion, out: number): Float64Array {
  const { size } = region;
  const canvas = new Float64Array(size * size * 3);
  for (let y = 0; y < region.height; y++) {
    for (let x = 0; x < region.width; x++) {
      for (let c = 0; c < 3; c++) {
        canvas[((y + region.top) * size + x + region.left) * 3 + c] =
          image.data[((y + region.y) * image.width + x + region.x) * 3 + c]!;
      }
    }
  }
  const scale = Math.fround(size / out);
  const result = new Float64Array(3 * out * out);
  for (let r = 0; r < out; r++) {
    const sy = Math.fround(r * scale);
    const y0 = Math.floor(sy);
    const y1 = Math.min(y0 + 1, size - 1);
    for (let col = 0; col < out; col++) {
      const sx = Math.fround(col * scale);
      const x0 = Math.floor(sx);
      const x1 = Math.min(x0 + 1, size - 1);
      for (let c = 0; c < 3; c++) {
        const px = (yy: number, xx: number): number => canvas[(yy * size + xx) * 3 + c]!;
        const top = px(y0, x0) + (px(y0, x1) - px(y0, x0)) * (sx - x0);
        const bottom = px(y1, x0) + (px(y1, x1) - px(y1, x0)) * (sx - x0);
        result[c * out * out + r * out + col] = top + (bottom - top) * (sy - y0);
      }
    }
  }
  return result;
}

describe('TF legacy bilinear resize into planar tensors', () => {
  it('matches TensorFlow’s own 2x2 → 3x3 example (alignCorners=false)', () => {
    const dst = new Float32Array(27);
    resizeBilinearToPlanar(
      grey([
        [2, 2],
        [4, 4],
      ]),
      bottomRightSquare(2, 2),
      3,
      dst,
    );
    const expected = [2, 2, 2, 10 / 3, 10 / 3, 10 / 3, 4, 4, 4];
    for (let c = 0; c < 3; c++) {
      Array.from(dst.subarray(c * 9, c * 9 + 9)).forEach((v, i) => {
        expect(v).toBeCloseTo(expected[i]!, 5);
      });
    }
  });

  it('is the identity at the same size and writes R, G, B planes at the offset', () => {
    const image: RgbImage = { data: Uint8Array.from({ length: 12 }, (_, i) => i * 10), width: 2, height: 2 };
    const dst = new Float32Array(5 + 12).fill(-1);
    resizeBilinearToPlanar(image, bottomRightSquare(2, 2), 2, dst, 5);
    expect(Array.from(dst.subarray(0, 5))).toEqual([-1, -1, -1, -1, -1]);
    expect(Array.from(dst.subarray(5))).toEqual([0, 30, 60, 90, 10, 40, 70, 100, 20, 50, 80, 110]);
  });

  it('pads a wide image at the bottom with zeros (face-api detector input)', () => {
    const dst = new Float32Array(12);
    resizeBilinearToPlanar(grey([[7, 9]]), bottomRightSquare(2, 1), 2, dst);
    expect(Array.from(dst.subarray(0, 4))).toEqual([7, 9, 0, 0]);
  });

  it('centres a crop with the odd padding pixel before it (face-api padToSquare, isCenterImage)', () => {
    const region = centredSquare(0, 0, 4, 1);
    expect(region).toMatchObject({ top: 1, left: 0, size: 4 });
    const dst = new Float32Array(48);
    resizeBilinearToPlanar(grey([[1, 2, 3, 4]]), region, 4, dst);
    expect(Array.from(dst.subarray(0, 16))).toEqual([0, 0, 0, 0, 1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0]);
    expect(centredSquare(3, 5, 2, 6)).toEqual({ x: 3, y: 5, width: 2, height: 6, left: 2, top: 0, size: 6 });
  });

  it('equals an explicit-canvas reference to the bit on random images, regions and sizes', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 24 }),
        fc.integer({ min: 1, max: 24 }),
        fc.integer({ min: 1, max: 40 }),
        fc.boolean(),
        fc.integer({ min: 0, max: 1_000_000 }),
        (width, height, out, centred, seed) => {
          const data = Uint8Array.from({ length: width * height * 3 }, (_, i) => (i * 7919 + seed) % 256);
          const image = { data, width, height };
          // A sub-region inside the image so origin offsets are exercised too.
          const rx = seed % width;
          const ry = (seed >> 3) % height;
          const rw = width - rx;
          const rh = height - ry;
          const region = centred
            ? centredSquare(rx, ry, rw, rh)
            : { ...bottomRightSquare(rw, rh), x: rx, y: ry };
          const dst = new Float32Array(3 * out * out);
          resizeBilinearToPlanar(image, region, out, dst);
          // The reference blends top and bottom across, then down, in float64, as the taps do;
          // stored once as float32 it must be the very same value everywhere, not merely close.
          const ref = Float32Array.from(reference(image, region, out));
          let differing = 0;
          for (let i = 0; i < dst.length; i++) if (dst[i] !== ref[i]) differing++;
          expect(differing).toBe(0);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('overwrites every value of a reused destination, padding included, and nothing outside it', () => {
    // The zero padding is written by fill rather than blended; a stale frame must not show through.
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 1, max: 48 }),
        fc.boolean(),
        (width, height, out, centred) => {
          const data = Uint8Array.from({ length: width * height * 3 }, (_, i) => (i * 31) % 256);
          const image = { data, width, height };
          const region = centred ? centredSquare(0, 0, width, height) : bottomRightSquare(width, height);
          const offset = 3;
          const dst = new Float32Array(offset + 3 * out * out + 2).fill(Number.NaN);
          resizeBilinearToPlanar(image, region, out, dst, offset);
          const ref = reference(image, region, out);
          let worst = 0;
          for (let i = 0; i < ref.length; i++) {
            const diff = Math.abs(dst[offset + i]! - ref[i]!);
            worst = Number.isNaN(diff) ? Number.POSITIVE_INFINITY : Math.max(worst, diff);
          }
          expect(worst).toBeLessThan(1e-4);
          expect([0, 1, 2, dst.length - 2, dst.length - 1].map((i) => dst[i])).toEqual(
            Array(5).fill(Number.NaN),
          );
        },
      ),
      { numRuns: 200 },
    );
  });

  it('refuses a destination that is too small', () => {
    expect(() =>
      resizeBilinearToPlanar(grey([[1]]), bottomRightSquare(1, 1), 4, new Float32Array(47)),
    ).toThrow(RangeError);
  });
});
