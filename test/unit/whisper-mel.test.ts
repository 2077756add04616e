import { describe, expect, it } from 'vitest';
import { directDft, FftPlan } from '../../daemon/pipeline/stt/whisper/fft.js';
import {
  LogMelExtractor,
  type MelOptions,
  slaneyMelFilters,
  WHISPER_MEL,
} from '../../daemon/pipeline/stt/whisper/mel.js';

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}

describe('FftPlan', () => {
  it.each([400, 16, 25, 7, 60, 1])('matches a direct DFT on random complex input (N=%i)', (n) => {
    const r = lcg(n);
    const re = Float64Array.from({ length: n }, r);
    const im = Float64Array.from({ length: n }, r);
    const outRe = new Float64Array(n);
    const outIm = new Float64Array(n);
    new FftPlan(n).forward(re, im, outRe, outIm);
    const ref = directDft(re, im);
    for (let k = 0; k < n; k++) {
      expect(outRe[k]).toBeCloseTo(ref.re[k]!, 9);
      expect(outIm[k]).toBeCloseTo(ref.im[k]!, 9);
    }
  });
});

describe('slaneyMelFilters', () => {
  it('has unit-area triangles (Slaney norm) peaking in increasing order', () => {
    const f = slaneyMelFilters(16000, 400, 80);
    const nBins = 201;
    let lastPeak = -1;
    for (let m = 0; m < 80; m++) {
      const row = f.subarray(m * nBins, (m + 1) * nBins);
      let peak = 0;
      for (let b = 1; b < nBins; b++) if (row[b]! > row[peak]!) peak = b;
      expect(peak).toBeGreaterThanOrEqual(lastPeak);
      lastPeak = peak;
      // Area in Hz (40 Hz bins) ≈ 1 once triangles span several bins.
      if (m > 40) expect(row.reduce((a, v) => a + v, 0) * 40).toBeCloseTo(1, 1);
    }
  });
});

/** The reference, computed the slow obvious way: reflect-padded frames, direct DFT, dense filterbank. */
function referenceLogMel(audio: Float32Array, opts: MelOptions): Float32Array {
  const { nFft, hopLength, nMels, nSamples } = opts;
  const x = new Float32Array(nSamples);
  x.set(audio.subarray(0, nSamples));
  const nFrames = nSamples / hopLength;
  const nBins = nFft / 2 + 1;
  const filters = slaneyMelFilters(opts.sampleRateHz, nFft, nMels);
  const out = new Float32Array(nMels * nFrames);
  for (let t = 0; t < nFrames; t++) {
    const re = new Float64Array(nFft);
    for (let n = 0; n < nFft; n++) {
      let o = t * hopLength - nFft / 2 + n;
      if (o < 0) o = -o;
      if (o >= nSamples) o = 2 * (nSamples - 1) - o;
      re[n] = x[o]! * (0.5 - 0.5 * Math.cos((2 * Math.PI * n) / nFft));
    }
    const X = directDft(re, new Float64Array(nFft));
    for (let m = 0; m < nMels; m++) {
      let s = 0;
      for (let b = 0; b < nBins; b++) s += filters[m * nBins + b]! * (X.re[b]! ** 2 + X.im[b]! ** 2);
      out[m * nFrames + t] = Math.log10(Math.max(s, 1e-10));
    }
  }
  const max = out.reduce((a, v) => Math.max(a, v), Number.NEGATIVE_INFINITY);
  return out.map((v) => (Math.max(v, max - 8) + 4) / 4);
}

describe('LogMelExtractor', () => {
  it('equals a direct-DFT reference on a short signal (0.4 s of tone + noise, padded to 0.5 s)', () => {
    const opts: MelOptions = { ...WHISPER_MEL, nSamples: 8000 };
    const r = lcg(3);
    const audio = Float32Array.from(
      { length: 6400 },
      (_, i) => 0.4 * Math.sin((2 * Math.PI * 300 * i) / 16000) + 0.1 * r(),
    );
    const got = new LogMelExtractor(opts).compute(audio);
    const want = referenceLogMel(audio, opts);
    expect(got.length).toBe(80 * 50);
    let maxErr = 0;
    for (let i = 0; i < got.length; i++) maxErr = Math.max(maxErr, Math.abs(got[i]! - want[i]!));
    expect(maxErr).toBeLessThan(1e-4);
  });

  it('an extractor reused after a longer, louder clip gives what a fresh one gives (its scratch is not carried over)', () => {
    const opts: MelOptions = { ...WHISPER_MEL, nSamples: 8000 };
    const r = lcg(5);
    const long = Float32Array.from({ length: 8000 }, () => 0.9 * r());
    const short = Float32Array.from(
      { length: 1600 },
      (_, i) => 0.3 * Math.sin((2 * Math.PI * 440 * i) / 16000),
    );
    const reused = new LogMelExtractor(opts);
    reused.compute(long);
    const again = reused.compute(short);
    const fresh = new LogMelExtractor(opts).compute(short);
    expect(Array.from(again)).toEqual(Array.from(fresh));
  });

  it('produces 80 × 3000 features for a 30 s window, silent tail at the clamp floor', () => {
    const audio = new Int16Array(16000).map((_, i) =>
      Math.round(8000 * Math.sin((2 * Math.PI * 1000 * i) / 16000)),
    );
    const mel = new LogMelExtractor().compute(audio);
    expect(mel.length).toBe(80 * 3000);
    let max = Number.NEGATIVE_INFINITY;
    let min = Number.POSITIVE_INFINITY;
    for (const v of mel) {
      max = Math.max(max, v);
      min = Math.min(min, v);
    }
    // Dynamic range clamp: exactly 8 decades below the peak, i.e. 2 after (x + 4) / 4.
    expect(max - min).toBeCloseTo(2, 5);
    // A frame well past the audio (frame 2000 of band 10) is at the floor.
    expect(mel[10 * 3000 + 2000]).toBeCloseTo(min, 6);
    // The 1 kHz tone's band is louder than a distant band in a frame inside the audio.
    const frame = 50;
    const bandOf1k = (m: number): number => mel[m * 3000 + frame]!;
    expect(Math.max(...Array.from({ length: 80 }, (_, m) => bandOf1k(m)))).toBeGreaterThan(bandOf1k(79));
  });
});
