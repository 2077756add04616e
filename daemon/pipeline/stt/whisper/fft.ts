/**
 * A mixed-radix complex FFT for any length, planned once per size. Whisper's STFT is 400 points
 * (not a power of two: 400 = 4·4·5·5), and zero-padding to 512 would change the bins, so the
 * transform is a recursive decimation-in-time Cooley–Tukey over the prime factors of N, with one
 * shared twiddle table. Cost is N·Σfactors complex multiply-adds (7 200 for N = 400, against
 * 160 000 for a direct DFT).
 */
export class FftPlan {
  /** Transform length. */
  readonly size: number;
  private readonly factors: number[];
  /** cos/sin of -2πe/N for e in 0..N-1 (W_N^e = cos + i·sin). */
  private readonly twRe: Float64Array;
  private readonly twIm: Float64Array;
  private readonly tmpRe: Float64Array;
  private readonly tmpIm: Float64Array;
  /**
   * Input index of each output slot before the butterflies: the leaves of the decimation in time
   * (digit-reversed order over the mixed radices), computed once so a transform is one gather
   * plus one in-place pass per factor, without recursion.
   */
  private readonly order: Int32Array;

  constructor(size: number) {
    if (!Number.isInteger(size) || size < 1)
      throw new RangeError(`FFT size must be a positive integer, got ${size}`);
    this.size = size;
    this.factors = factorize(size);
    this.twRe = new Float64Array(size);
    this.twIm = new Float64Array(size);
    for (let e = 0; e < size; e++) {
      const a = (-2 * Math.PI * e) / size;
      this.twRe[e] = Math.cos(a);
      this.twIm[e] = Math.sin(a);
    }
    const maxFactor = Math.max(1, ...this.factors);
    this.tmpRe = new Float64Array(maxFactor);
    this.tmpIm = new Float64Array(maxFactor);
    this.order = new Int32Array(size);
    this.leaves(0, 1, size, 0, 0);
  }

  /** Forward DFT of (inRe, inIm) into (outRe, outIm); X[k] = Σ x[n]·e^{-2πikn/N}. Inputs are not modified. */
  forward(inRe: ArrayLike<number>, inIm: ArrayLike<number>, outRe: Float64Array, outIm: Float64Array): void {
    const { order, size: N, factors } = this;
    for (let i = 0; i < N; i++) {
      const src = order[i]!;
      outRe[i] = inRe[src]!;
      outIm[i] = inIm[src]!;
    }
    // Innermost factor first: each pass merges p sub-transforms of length m into one of p·m.
    let m = 1;
    for (let fi = factors.length - 1; fi >= 0; fi--) {
      const p = factors[fi]!;
      const n = p * m;
      const stride = N / n;
      for (let block = 0; block < N; block += n) {
        if (p === 4) this.radix4(outRe, outIm, block, m, stride);
        else this.radixP(outRe, outIm, block, m, stride, p);
      }
      m = n;
    }
  }

  /** Where each leaf of the recursive decimation reads from (see `order`). */
  private leaves(inOff: number, stride: number, n: number, outOff: number, fi: number): void {
    if (n === 1) {
      this.order[outOff] = inOff;
      return;
    }
    const p = this.factors[fi]!;
    const m = n / p;
    for (let j = 0; j < p; j++) this.leaves(inOff + j * stride, stride * p, m, outOff + j * m, fi + 1);
  }

  /**
   * One radix-4 merge: twiddle the four inputs, then the 4-point DFT with its ±1/±i factors
   * written out (no multiplies).
   */
  private radix4(re: Float64Array, im: Float64Array, off: number, m: number, stride: number): void {
    const { twRe, twIm } = this;
    for (let k = 0; k < m; k++) {
      const i0 = off + k;
      const i1 = i0 + m;
      const i2 = i1 + m;
      const i3 = i2 + m;
      const e1 = k * stride;
      const e2 = 2 * e1;
      const e3 = 3 * e1;
      const a0r = re[i0]!;
      const a0i = im[i0]!;
      const a1r = re[i1]! * twRe[e1]! - im[i1]! * twIm[e1]!;
      const a1i = re[i1]! * twIm[e1]! + im[i1]! * twRe[e1]!;
      const a2r = re[i2]! * twRe[e2]! - im[i2]! * twIm[e2]!;
      const a2i = re[i2]! * twIm[e2]! + im[i2]! * twRe[e2]!;
      const a3r = re[i3]! * twRe[e3]! - im[i3]! * twIm[e3]!;
      const a3i = re[i3]! * twIm[e3]! + im[i3]! * twRe[e3]!;
      const s02r = a0r + a2r;
      const s02i = a0i + a2i;
      const d02r = a0r - a2r;
      const d02i = a0i - a2i;
      const s13r = a1r + a3r;
      const s13i = a1i + a3i;
      const d13r = a1r - a3r;
      const d13i = a1i - a3i;
      // X_q = Σ_j a_j · W_4^{jq}, W_4 = −i.
      re[i0] = s02r + s13r;
      im[i0] = s02i + s13i;
      re[i1] = d02r + d13i;
      im[i1] = d02i - d13r;
      re[i2] = s02r - s13r;
      im[i2] = s02i - s13i;
      re[i3] = d02r - d13i;
      im[i3] = d02i + d13r;
    }
  }

  /** One merge for any radix p: twiddle, then a direct p-point DFT. */
  private radixP(
    re: Float64Array,
    im: Float64Array,
    off: number,
    m: number,
    stride: number,
    p: number,
  ): void {
    const N = this.size;
    const { twRe, twIm, tmpRe, tmpIm } = this;
    // W_n^x = W_N^{x·stride}; W_p^x = W_N^{x·N/p}.
    const pStep = N / p;
    for (let k = 0; k < m; k++) {
      for (let j = 0; j < p; j++) {
        const idx = off + j * m + k;
        const e = (j * k * stride) % N;
        const xr = re[idx]!;
        const xi = im[idx]!;
        tmpRe[j] = xr * twRe[e]! - xi * twIm[e]!;
        tmpIm[j] = xr * twIm[e]! + xi * twRe[e]!;
      }
      for (let q = 0; q < p; q++) {
        let sRe = 0;
        let sIm = 0;
        for (let j = 0; j < p; j++) {
          const e = ((j * q) % p) * pStep;
          sRe += tmpRe[j]! * twRe[e]! - tmpIm[j]! * twIm[e]!;
          sIm += tmpRe[j]! * twIm[e]! + tmpIm[j]! * twRe[e]!;
        }
        re[off + q * m + k] = sRe;
        im[off + q * m + k] = sIm;
      }
    }
  }
}

/** Prime factors, 4s first (fewer levels), then ascending primes. */
function factorize(n: number): number[] {
  const out: number[] = [];
  let r = n;
  while (r % 4 === 0) {
    out.push(4);
    r /= 4;
  }
  for (let f = 2; r > 1; f++) {
    while (r % f === 0) {
      out.push(f);
      r /= f;
    }
    if (f * f > r && r > 1) {
      out.push(r);
      break;
    }
  }
  return out;
}

/** The O(N²) reference DFT, for tests. */
export function directDft(
  inRe: ArrayLike<number>,
  inIm: ArrayLike<number>,
): { re: Float64Array; im: Float64Array } {
  const N = inRe.length;
  const re = new Float64Array(N);
  const im = new Float64Array(N);
  for (let k = 0; k < N; k++) {
    let sr = 0;
    let si = 0;
    for (let t = 0; t < N; t++) {
      const a = (-2 * Math.PI * ((k * t) % N)) / N;
      const c = Math.cos(a);
      const s = Math.sin(a);
      sr += inRe[t]! * c - inIm[t]! * s;
      si += inRe[t]! * s + inIm[t]! * c;
    }
    re[k] = sr;
    im[k] = si;
  }
  return { re, im };
}
