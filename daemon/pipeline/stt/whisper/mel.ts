/**
 * Whisper's log-mel features, computed the way the reference does (openai/whisper audio.py and
 * Hugging Face's WhisperFeatureExtractor): audio padded or trimmed to 30 s at 16 kHz, a centred
 * 400-point STFT (periodic Hann window, reflect padding, hop 160), power spectrum, an 80-band
 * Slaney mel filterbank, log10 of max(1e-10, ·), a dynamic range clamp at (max − 8), then
 * (x + 4) / 4. The last of the 3 001 STFT frames is dropped, leaving exactly 3 000.
 */
import { FftPlan } from './fft.js';

export interface MelOptions {
  /** Input sample rate the model expects, Hz (Whisper: 16 000). Audio must already be at this rate. */
  readonly sampleRateHz: number;
  /** STFT size in samples (Whisper: 400 = 25 ms). */
  readonly nFft: number;
  /** STFT hop in samples (Whisper: 160 = 10 ms). */
  readonly hopLength: number;
  /** Mel bands (Whisper tiny..large-v2: 80). */
  readonly nMels: number;
  /** Window length the model sees, in samples (Whisper: 480 000 = 30 s). */
  readonly nSamples: number;
}

/** log10 of the floor Whisper applies to band energies (max(1e-10, ·)): the value of a silent frame. */
const SILENT_LOG = Math.log10(1e-10);

export const WHISPER_MEL: MelOptions = Object.freeze({
  sampleRateHz: 16_000,
  nFft: 400,
  hopLength: 160,
  nMels: 80,
  nSamples: 480_000,
});

/** Slaney-style mel scale (librosa htk=False): linear below 1 kHz, logarithmic above. */
function hzToMel(hz: number): number {
  const fSp = 200 / 3;
  const minLogHz = 1000;
  const minLogMel = minLogHz / fSp;
  const logStep = Math.log(6.4) / 27;
  return hz >= minLogHz ? minLogMel + Math.log(hz / minLogHz) / logStep : hz / fSp;
}

function melToHz(mel: number): number {
  const fSp = 200 / 3;
  const minLogHz = 1000;
  const minLogMel = minLogHz / fSp;
  const logStep = Math.log(6.4) / 27;
  return mel >= minLogMel ? minLogHz * Math.exp(logStep * (mel - minLogMel)) : fSp * mel;
}

/**
 * The mel filterbank as librosa.filters.mel(sr, n_fft, n_mels, fmin=0, fmax=sr/2, htk=False,
 * norm='slaney') builds it: triangles on mel-spaced centres, each scaled to unit area.
 * Returned row-major [nMels][nFft/2 + 1].
 */
export function slaneyMelFilters(sampleRateHz: number, nFft: number, nMels: number): Float32Array {
  const nBins = Math.floor(nFft / 2) + 1;
  const fftFreqs = new Float64Array(nBins);
  for (let i = 0; i < nBins; i++) fftFreqs[i] = (i * sampleRateHz) / nFft;
  const melMin = hzToMel(0);
  const melMax = hzToMel(sampleRateHz / 2);
  const melF = new Float64Array(nMels + 2);
  for (let i = 0; i < nMels + 2; i++) melF[i] = melToHz(melMin + ((melMax - melMin) * i) / (nMels + 1));
  const out = new Float32Array(nMels * nBins);
  for (let m = 0; m < nMels; m++) {
    const lo = melF[m]!;
    const mid = melF[m + 1]!;
    const hi = melF[m + 2]!;
    const enorm = 2 / (hi - lo);
    for (let b = 0; b < nBins; b++) {
      const f = fftFreqs[b]!;
      const lower = (f - lo) / (mid - lo);
      const upper = (hi - f) / (hi - mid);
      out[m * nBins + b] = Math.max(0, Math.min(lower, upper)) * enorm;
    }
  }
  return out;
}

/**
 * Computes log-mel features. Holds its FFT plan, window and filterbank (sparse: each band keeps
 * only its non-zero bin range), so construct once per model and reuse.
 */
export class LogMelExtractor {
  readonly options: MelOptions;
  /** Output frames (nSamples / hopLength). */
  readonly nFrames: number;
  private readonly plan: FftPlan;
  private readonly window: Float64Array;
  private readonly filters: Float32Array;
  private readonly bandStart: Int32Array;
  private readonly bandEnd: Int32Array;
  private readonly nBins: number;
  /**
   * Scratch reused by every compute() (it is synchronous and neither escapes): the 30 s sample
   * window and the power plane, 1.9 + 2.4 MB that were allocated per utterance and were a quarter
   * of the bytes the daemon allocated at real-time speed (BENCHMARKS.md, pipeline).
   */
  private readonly samples: Float32Array;
  private readonly powerScratch: Float32Array;

  /**
   * @param filters optional precomputed filterbank, row-major [nMels][nFft/2+1] (the
   *   `mel_filters` of a preprocessor_config.json, transposed if stored bins-first); computed
   *   with slaneyMelFilters() when omitted.
   */
  constructor(options: MelOptions = WHISPER_MEL, filters?: Float32Array) {
    this.options = options;
    this.nBins = Math.floor(options.nFft / 2) + 1;
    this.nFrames = Math.floor(options.nSamples / options.hopLength);
    this.samples = new Float32Array(options.nSamples);
    this.powerScratch = new Float32Array(this.nFrames * this.nBins);
    this.plan = new FftPlan(options.nFft);
    this.window = new Float64Array(options.nFft);
    // Periodic Hann (torch.hann_window(periodic=True)): the DFT-even window STFTs use.
    for (let n = 0; n < options.nFft; n++)
      this.window[n] = 0.5 - 0.5 * Math.cos((2 * Math.PI * n) / options.nFft);
    this.filters = filters ?? slaneyMelFilters(options.sampleRateHz, options.nFft, options.nMels);
    if (this.filters.length !== options.nMels * this.nBins) {
      throw new RangeError(
        `mel filterbank has ${this.filters.length} values, expected ${options.nMels}×${this.nBins}`,
      );
    }
    this.bandStart = new Int32Array(options.nMels);
    this.bandEnd = new Int32Array(options.nMels);
    for (let m = 0; m < options.nMels; m++) {
      let s = this.nBins;
      let e = 0;
      for (let b = 0; b < this.nBins; b++) {
        if (this.filters[m * this.nBins + b] !== 0) {
          s = Math.min(s, b);
          e = b + 1;
        }
      }
      this.bandStart[m] = s;
      this.bandEnd[m] = Math.max(s, e);
    }
  }

  /**
   * Features for one window: Float32Array of nMels × nFrames, mel-major (the [1, 80, 3000]
   * `input_features` tensor). Int16 input is scaled by 1/32768.
   */
  compute(audio: Int16Array | Float32Array): Float32Array {
    const { nMels, nSamples } = this.options;
    const x = this.samples;
    const len = Math.min(audio.length, nSamples);
    x.fill(0, len);
    const scale = audio instanceof Int16Array ? 1 / 32768 : 1;
    let lastNonZero = -1;
    for (let i = 0; i < len; i++) {
      const v = audio[i]! * scale;
      x[i] = v;
      if (v !== 0) lastNonZero = i;
    }
    const { power, active } = this.powerSpectrogram(x, lastNonZero);
    const { nFrames, nBins, filters, bandStart, bandEnd } = this;
    const out = new Float32Array(nMels * nFrames);
    // Frames past `active` see only zeros: their power is 0, so every band is log10(1e-10) = -10.
    // Whisper pads every utterance to 30 s, so for a 10 s utterance this skips 2/3 of the work.
    let maxLog = active < nFrames ? SILENT_LOG : Number.NEGATIVE_INFINITY;
    for (let m = 0; m < nMels; m++) out.fill(SILENT_LOG, m * nFrames + active, (m + 1) * nFrames);
    for (let t = 0; t < active; t++) {
      const base = t * nBins;
      for (let m = 0; m < nMels; m++) {
        let s = 0;
        const fRow = m * nBins;
        for (let b = bandStart[m]!; b < bandEnd[m]!; b++) s += filters[fRow + b]! * power[base + b]!;
        const v = Math.log10(Math.max(s, 1e-10));
        out[m * nFrames + t] = v;
        if (v > maxLog) maxLog = v;
      }
    }
    const floor = maxLog - 8;
    for (let i = 0; i < out.length; i++) out[i] = (Math.max(out[i]!, floor) + 4) / 4;
    return out;
  }

  /**
   * |STFT|² as [nFrames][nBins]. Frame t is centred on sample t·hop (reflect padding at the
   * edges, like torch.stft(center=True)). Two real frames share one complex FFT (one in the real
   * part, one in the imaginary part), and frames that only see trailing zeros are skipped:
   * `active` is the number of leading frames computed, the rest are all zero.
   */
  private powerSpectrogram(x: Float32Array, lastNonZero: number): { power: Float32Array; active: number } {
    const { nFft, hopLength } = this.options;
    const { nFrames, nBins, window, plan } = this;
    const half = nFft >> 1;
    const L = x.length;
    const re = new Float64Array(nFft);
    const im = new Float64Array(nFft);
    const zr = new Float64Array(nFft);
    const zi = new Float64Array(nFft);
    const sample = (o: number): number => {
      // Reflect without repeating the edge sample (numpy/torch 'reflect').
      if (o < 0) o = -o;
      if (o >= L) o = 2 * (L - 1) - o;
      return x[o]!;
    };
    // Frames starting after the last non-zero sample (and not reaching the reflected end) are silent.
    let active = nFrames;
    for (let t = 0; t < nFrames; t++) {
      const start = t * hopLength - half;
      if (start > lastNonZero && start + nFft <= L) {
        active = t;
        break;
      }
    }
    // Every value of the first `active` frames is written below; the rest is never read.
    const power = this.powerScratch;
    for (let t = 0; t < active; t += 2) {
      const t2 = t + 1 < active ? t + 1 : -1;
      const s1 = t * hopLength - half;
      const s2 = t2 >= 0 ? t2 * hopLength - half : 0;
      for (let n = 0; n < nFft; n++) {
        re[n] = sample(s1 + n) * window[n]!;
        im[n] = t2 >= 0 ? sample(s2 + n) * window[n]! : 0;
      }
      plan.forward(re, im, zr, zi);
      // Split the packed transform: A[k] = (Z[k] + conj Z[N−k]) / 2, B[k] = (Z[k] − conj Z[N−k]) / 2i.
      for (let k = 0; k < nBins; k++) {
        const nk = (nFft - k) % nFft;
        const aRe = (zr[k]! + zr[nk]!) / 2;
        const aIm = (zi[k]! - zi[nk]!) / 2;
        power[t * nBins + k] = aRe * aRe + aIm * aIm;
        if (t2 >= 0) {
          const bRe = (zi[k]! + zi[nk]!) / 2;
          const bIm = (zr[nk]! - zr[k]!) / 2;
          power[t2 * nBins + k] = bRe * bRe + bIm * bIm;
        }
      }
    }
    return { power, active };
  }
}
