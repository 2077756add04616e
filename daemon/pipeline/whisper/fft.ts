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
  }

  /** Forward DFT of (inRe, inIm) into (outRe, outIm); X[k] = Σ x[n]·e^{-2πikn/N}. Inputs are not modified. */
  forward(inRe: ArrayLike<number>, inIm: ArrayLike<number>, outRe: Float64Array, outIm: Float64Array): void {
    this.rec(inRe, inIm, 0, 1, this.size, outRe, outIm, 0, 0);
  }

  private rec(
    inRe: ArrayLike<number>,
    inIm: ArrayLike<number>,
    inOff: number,
    stride: number,
    n: number,
    outRe: Float64Array,
    outIm: Float64Array,
    outOff: number,
    fi: number,
  ): void {
    if (n === 1) {
      outRe[outOff] = inRe[inOff]!;
      outIm[outOff] = inIm[inOff]!;
      return;
    }
    const p = this.factors[fi]!;
    const m = n / p;
    // Sub-transforms of the p interleaved subsequences land side by side in the output.
    for (let j = 0; j < p; j++)
      this.rec(inRe, inIm, inOff + j * stride, stride * p, m, outRe, outIm, outOff + j * m, fi + 1);
    const N = this.size;
    const { twRe, twIm, tmpRe, tmpIm } = this;
    // W_n^x = W_N^{x·stride}; W_p^x = W_N^{x·N/p}.
    const pStep = N / p;
    for (let k = 0; k < m; k++) {
      for (let j = 0; j < p; j++) {
        const idx = outOff + j * m + k;
        const e = (j * k * stride) % N;
        const re = outRe[idx]!;
        const im = outIm[idx]!;
        tmpRe[j] = re * twRe[e]! - im * twIm[e]!;
        tmpIm[j] = re * twIm[e]! + im * twRe[e]!;
      }
      for (let q = 0; q < p; q++) {
        let sRe = 0;
        let sIm = 0;
        for (let j = 0; j < p; j++) {
          const e = (((j * q) % p) * pStep) % N;
          sRe += tmpRe[j]! * twRe[e]! - tmpIm[j]! * twIm[e]!;
          sIm += tmpRe[j]! * twIm[e]! + tmpIm[j]! * twRe[e]!;
        }
        outRe[outOff + q * m + k] = sRe;
        outIm[outOff + q * m + k] = sIm;
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
