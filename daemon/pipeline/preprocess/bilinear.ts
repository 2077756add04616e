/**
 * TensorFlow's legacy bilinear resize (`tf.image.resizeBilinear(x, size, alignCorners=false,
 * halfPixelCenters=false)`) from an interleaved RGB image straight into a planar (NCHW) float32
 * tensor, with the zero padding face-api applies before resizing folded in.
 *
 * Why not sharp's resize: sharp (libvips) averages over the source area when shrinking and uses
 * half-pixel centres; TF's legacy mode point-samples at `dst * (src / dst)`. The converted models
 * were trained (and are verified, test/integration/face-equivalence.test.ts) against TF's
 * sampling, and sharp's output moves boxes by several pixels on 1920-wide frames. Sampling here
 * costs one pass over the output only (416² × 3 lerps: 1.5 ms CPU for a 640×480 frame, whose
 * padded quarter is filled, not blended), not over the source.
 *
 * Why not inside the ONNX graph (uint8 HWC in, Cast → Pad → Transpose → Resize linear/asymmetric):
 * measured slower, 2.3 ms vs 1.9 ms before the padding fill, since ORT makes three full passes over
 * the padded 640² canvas before resizing, and off by up to 0.003 (it divides by out/in where TF
 * multiplies by in/out).
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

/** Per output coordinate along one axis: canvas index of the two taps and the float32 weight of the second. */
interface Taps {
  readonly lo: Int32Array;
  readonly hi: Int32Array;
  readonly frac: Float32Array;
}

/**
 * Taps along one axis of a `size`-long canvas resized to `out`: c = trunc(fround(i ·
 * fround(size / out))), neighbour min(c + 1, size − 1), weight c's fractional part.
 */
function taps(out: number, size: number): Taps {
  const scale = Math.fround(size / out);
  const lo = new Int32Array(out);
  const hi = new Int32Array(out);
  const frac = new Float32Array(out);
  for (let i = 0; i < out; i++) {
    const coord = Math.fround(i * scale);
    const c0 = Math.trunc(coord);
    lo[i] = c0;
    hi[i] = Math.min(c0 + 1, size - 1);
    frac[i] = coord - c0;
  }
  return { lo, hi, frac };
}

/**
 * Tap tables keyed by (out, size): a camera sends the same geometry frame after frame. Bound: 64
 * entries; when full the cache is cleared (churn means faces of many sizes, and a table costs
 * microseconds to rebuild).
 */
const tapCache = new Map<number, Taps>();
const MAX_TAP_TABLES = 64;

function cachedTaps(out: number, size: number): Taps {
  const key = out * 1_000_003 + size;
  let t = tapCache.get(key);
  if (t === undefined) {
    if (tapCache.size >= MAX_TAP_TABLES) tapCache.clear();
    t = taps(out, size);
    tapCache.set(key, t);
  }
  return t;
}

/**
 * The output indices [start, end) whose taps touch the band [from, from + length) of the canvas;
 * outside it both taps sit in the zero padding and the output is exactly 0. Taps are
 * non-decreasing, so the indices form one run.
 */
function liveRange(t: Taps, from: number, length: number): [number, number] {
  const { lo, hi } = t;
  let start = 0;
  while (start < hi.length && hi[start]! < from) start++;
  let end = lo.length;
  while (end > start && lo[end - 1]! >= from + length) end--;
  return [start, end];
}

/** Zero rows [r0, r1) × columns [c0, c1) of each of the three `outSize`² planes at `offset`. */
function zeroRect(
  dst: Float32Array,
  offset: number,
  outSize: number,
  r0: number,
  r1: number,
  c0: number,
  c1: number,
): void {
  if (r0 >= r1 || c0 >= c1) return;
  for (let p = 0; p < 3; p++) {
    const planeStart = offset + p * outSize * outSize;
    if (c0 === 0 && c1 === outSize) dst.fill(0, planeStart + r0 * outSize, planeStart + r1 * outSize);
    else
      for (let r = r0; r < r1; r++) dst.fill(0, planeStart + r * outSize + c0, planeStart + r * outSize + c1);
  }
}

/**
 * One canvas row at a time: a view straight into the source when the region spans the whole
 * canvas width, otherwise the region's pixels copied into a zeroed scratch row (so the blend loop
 * never has to test for padding).
 */
class CanvasRows {
  private readonly zero: Uint8Array;
  private readonly scratch: [Uint8Array, Uint8Array];
  private readonly loaded: [number, number] = [-1, -1];
  private nextSlot = 0;
  private readonly direct: boolean;

  constructor(
    private readonly image: RgbImage,
    private readonly region: PaddedRegion,
  ) {
    const bytes = region.size * 3;
    this.zero = new Uint8Array(bytes);
    this.scratch = [new Uint8Array(bytes), new Uint8Array(bytes)];
    this.direct = region.left === 0 && region.width === region.size;
  }

  /** Canvas row `y` as RGB bytes, `size * 3` long. Valid until two other rows were fetched. */
  row(y: number): Uint8Array {
    const { region, image } = this;
    const sy = y - region.top;
    if (sy < 0 || sy >= region.height) return this.zero;
    const start = ((sy + region.y) * image.width + region.x) * 3;
    if (this.direct) return image.data.subarray(start, start + region.size * 3);
    for (let s = 0; s < 2; s++) if (this.loaded[s] === y) return this.scratch[s as 0 | 1];
    const slot = this.nextSlot as 0 | 1;
    this.nextSlot ^= 1;
    this.loaded[slot] = y;
    const buf = this.scratch[slot];
    buf.set(image.data.subarray(start, start + region.width * 3), region.left * 3);
    return buf;
  }
}

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
  const rowTaps = cachedTaps(outSize, region.size);
  const colTaps = cachedTaps(outSize, region.size);
  const rows = new CanvasRows(image, region);
  const { lo: colLo, hi: colHi, frac: colFrac } = colTaps;
  // Outputs whose four taps all fall in the padding are zeros, written by fill instead of
  // blended: a 4:3 camera frame padded to a square leaves a quarter of the detector input black.
  const [rowStart, rowEnd] = liveRange(rowTaps, region.top, region.height);
  const [colStart, colEnd] = liveRange(colTaps, region.left, region.width);
  zeroRect(dst, dstOffset, outSize, 0, rowStart, 0, outSize);
  zeroRect(dst, dstOffset, outSize, rowEnd, outSize, 0, outSize);
  zeroRect(dst, dstOffset, outSize, rowStart, rowEnd, 0, colStart);
  zeroRect(dst, dstOffset, outSize, rowStart, rowEnd, colEnd, outSize);
  for (let r = rowStart; r < rowEnd; r++) {
    const upper = rows.row(rowTaps.lo[r]!);
    const lower = rows.row(rowTaps.hi[r]!);
    const fy = rowTaps.frac[r]!;
    const red = dstOffset + r * outSize;
    const green = red + plane;
    const blue = green + plane;
    for (let c = colStart; c < colEnd; c++) {
      const a = colLo[c]! * 3;
      const b = colHi[c]! * 3;
      const fx = colFrac[c]!;
      let tl = upper[a]!;
      let tr = upper[b]!;
      let bl = lower[a]!;
      let br = lower[b]!;
      let top = tl + (tr - tl) * fx;
      dst[red + c] = top + (bl + (br - bl) * fx - top) * fy;
      tl = upper[a + 1]!;
      tr = upper[b + 1]!;
      bl = lower[a + 1]!;
      br = lower[b + 1]!;
      top = tl + (tr - tl) * fx;
      dst[green + c] = top + (bl + (br - bl) * fx - top) * fy;
      tl = upper[a + 2]!;
      tr = upper[b + 2]!;
      bl = lower[a + 2]!;
      br = lower[b + 2]!;
      top = tl + (tr - tl) * fx;
      dst[blue + c] = top + (bl + (br - bl) * fx - top) * fy;
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
