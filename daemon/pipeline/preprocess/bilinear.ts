/**
 * TensorFlow's legacy bilinear resize (`tf.image.resizeBilinear(x, size, alignCorners=false,
 * halfPixelCenters=false)`) from an interleaved RGB image straight into a planar (NCHW) float32
 * tensor, with the zero padding face-api applies before resizing folded in.
 *
 * Why not sharp's resize: sharp (libvips) averages over the source area when shrinking and uses
 * half-pixel centres; TF's legacy mode point-samples at `dst * (src / dst)`. The converted models
 * were trained (and are verified, test/integration/face-equivalence.test.ts) against TF's
 * sampling, and sharp's output moves boxes by several pixels on 1920-wide frames. Sampling here
 * costs one pass over the output only (416² × 3 lerps ≈ 2 ms), not over the source.
 *
 * The index arithmetic follows XNNPACK's TENSORFLOW_LEGACY_MODE (what tfjs-backend-wasm runs):
 * scale, source coordinate and lerp weight are float32; the four-tap blend is done in float64 and
 * rounded once when stored, which differs from TF by at most one float32 ulp per value.
 */

/** An 8-bit interleaved RGB image (sharp's `.raw()` output with 3 channels). */
export interface RgbImage {
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
}

/**
 * A square canvas of `size` × `size` pixels, zero everywhere except where the image region
 * (`x`, `y`, `width`, `height` in image pixels, integers, inside the image) is drawn with its
 * top-left corner at (`left`, `top`).
 */
export interface PaddedRegion {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
  readonly left: number;
  readonly top: number;
  readonly size: number;
}

/** Per output coordinate: the two source offsets (−1 = padding) and the float32 weight of the second. */
interface Taps {
  readonly lo: Int32Array;
  readonly hi: Int32Array;
  readonly frac: Float32Array;
}

/**
 * Taps along one axis: canvas coordinate c = trunc(fround(i * fround(size / out))), neighbour
 * min(c + 1, size − 1); each mapped to a source index `(c − pad) + origin` times `stride`, or −1
 * when it falls on the padding.
 */
function taps(out: number, size: number, pad: number, extent: number, origin: number, stride: number): Taps {
  const scale = Math.fround(size / out);
  const lo = new Int32Array(out);
  const hi = new Int32Array(out);
  const frac = new Float32Array(out);
  const toSource = (c: number): number => {
    const s = c - pad;
    return s >= 0 && s < extent ? (s + origin) * stride : -1;
  };
  for (let i = 0; i < out; i++) {
    const coord = Math.fround(i * scale);
    const c0 = Math.trunc(coord);
    lo[i] = toSource(c0);
    hi[i] = toSource(Math.min(c0 + 1, size - 1));
    frac[i] = coord - c0;
  }
  return { lo, hi, frac };
}

/** Small cache of tap tables: a camera sends the same geometry frame after frame. */
class TapCache {
  private readonly entries = new Map<string, Taps>();
  /** Bound: when full the cache is cleared (geometry churn means faces of varying size, cheap to rebuild). */
  private readonly maxEntries = 64;

  get(out: number, size: number, pad: number, extent: number, origin: number, stride: number): Taps {
    const key = `${out}:${size}:${pad}:${extent}:${origin}:${stride}`;
    let t = this.entries.get(key);
    if (t === undefined) {
      if (this.entries.size >= this.maxEntries) this.entries.clear();
      t = taps(out, size, pad, extent, origin, stride);
      this.entries.set(key, t);
    }
    return t;
  }
}

const cache = new TapCache();

/**
 * Resize the padded region to `outSize` × `outSize` and write it planar (R plane, G plane,
 * B plane) as float32 0..255 into `dst` starting at `dstOffset`. `dst` must hold
 * `dstOffset + 3 * outSize²` values.
 */
export function resizeBilinearToPlanar(
  image: RgbImage,
  region: PaddedRegion,
  outSize: number,
  dst: Float32Array,
  dstOffset = 0,
): void {
  const plane = outSize * outSize;
  if (dst.length < dstOffset + 3 * plane)
    throw new RangeError('resizeBilinearToPlanar: destination too small');
  const rows = cache.get(outSize, region.size, region.top, region.height, region.y, image.width * 3);
  const cols = cache.get(outSize, region.size, region.left, region.width, region.x, 3);
  const src = image.data;
  const g0 = dstOffset + plane;
  const b0 = dstOffset + 2 * plane;
  for (let r = 0; r < outSize; r++) {
    const rowLo = rows.lo[r]!;
    const rowHi = rows.hi[r]!;
    const fy = rows.frac[r]!;
    const out = dstOffset + r * outSize;
    if (rowLo < 0 && rowHi < 0) {
      dst.fill(0, out, out + outSize);
      dst.fill(0, g0 + r * outSize, g0 + r * outSize + outSize);
      dst.fill(0, b0 + r * outSize, b0 + r * outSize + outSize);
      continue;
    }
    for (let c = 0; c < outSize; c++) {
      const colLo = cols.lo[c]!;
      const colHi = cols.hi[c]!;
      const fx = cols.frac[c]!;
      // Offsets of the four taps, −1 where a tap falls on the zero padding.
      const tl = rowLo >= 0 && colLo >= 0 ? rowLo + colLo : -1;
      const tr = rowLo >= 0 && colHi >= 0 ? rowLo + colHi : -1;
      const bl = rowHi >= 0 && colLo >= 0 ? rowHi + colLo : -1;
      const br = rowHi >= 0 && colHi >= 0 ? rowHi + colHi : -1;
      for (let ch = 0; ch < 3; ch++) {
        const vtl = tl >= 0 ? src[tl + ch]! : 0;
        const vtr = tr >= 0 ? src[tr + ch]! : 0;
        const vbl = bl >= 0 ? src[bl + ch]! : 0;
        const vbr = br >= 0 ? src[br + ch]! : 0;
        const top = vtl + (vtr - vtl) * fx;
        const bottom = vbl + (vbr - vbl) * fx;
        dst[out + ch * plane + c] = top + (bottom - top) * fy;
      }
    }
  }
}

/** The canvas face-api's detector sees: the whole image, zero-padded at the bottom or right to a square. */
export function bottomRightSquare(width: number, height: number): PaddedRegion {
  return { x: 0, y: 0, width, height, left: 0, top: 0, size: Math.max(width, height) };
}

/**
 * The canvas face-api's expression net sees for a crop: the crop centred on a square, the odd
 * padding pixel going before the crop (face-api's padToSquare with isCenterImage: after =
 * round(diff / 2), before = diff − after).
 */
export function centredSquare(x: number, y: number, width: number, height: number): PaddedRegion {
  const size = Math.max(width, height);
  const diff = size - Math.min(width, height);
  const before = diff - Math.round(diff * 0.5);
  return width < height
    ? { x, y, width, height, left: before, top: 0, size }
    : { x, y, width, height, left: 0, top: before, size };
}
