/**
 * Speech for the bundled fixtures: each sentence is rendered separately by espeak-ng, resampled to
 * 16 kHz mono by sox (no dither, so the render is repeatable), trimmed to where its 10 ms RMS first and last exceeds a threshold, and laid on
 * a timeline at known offsets over a low noise floor. The truth therefore comes from measuring
 * the rendered audio, not from guessing how long espeak speaks.
 */
import { spawnSync } from 'node:child_process';
import { gaussian, mulberry32 } from './imu-model.js';

export const SAMPLE_RATE_HZ = 16_000;
/** Window for the energy measurement: 10 ms. */
export const ENERGY_WINDOW_SAMPLES = 160;
/** RMS above this counts as speech: 1% of full scale (-40 dBFS), far above the noise floor. */
export const SPEECH_RMS_THRESHOLD = 328;
/** Noise floor standard deviation: 20/32768 ≈ -64 dBFS. */
export const NOISE_FLOOR_STD = 20;

export const ESPEAK_VOICE = 'en-us';
/** espeak-ng speed, words per minute (fixed so the render is reproducible). */
export const ESPEAK_WPM = 150;

function run(cmd: string, args: string[], input?: Buffer): Buffer {
  const r = spawnSync(cmd, args, { input, maxBuffer: 64 * 1024 * 1024 });
  if (r.error) throw new Error(`${cmd}: ${r.error.message}`);
  if (r.status !== 0) throw new Error(`${cmd} exited ${r.status}: ${r.stderr.toString()}`);
  return r.stdout;
}

/** Render `text` with espeak-ng and convert to 16 kHz mono s16 samples. */
export function renderSentence(text: string): Int16Array {
  const wav = run('espeak-ng', ['-v', ESPEAK_VOICE, '-s', String(ESPEAK_WPM), '--stdout', text]);
  const raw = run(
    'sox',
    [
      '-D',
      '-t',
      'wav',
      '-',
      '-t',
      'raw',
      '-r',
      String(SAMPLE_RATE_HZ),
      '-c',
      '1',
      '-b',
      '16',
      '-e',
      'signed',
      '-',
    ],
    wav,
  );
  const out = new Int16Array(raw.length >> 1);
  Buffer.from(out.buffer).set(raw.subarray(0, out.length * 2));
  return out;
}

/** Per-window RMS of the samples. */
export function windowRms(samples: Int16Array, window = ENERGY_WINDOW_SAMPLES): number[] {
  const out: number[] = [];
  for (let i = 0; i + window <= samples.length; i += window) {
    let sum = 0;
    for (let j = i; j < i + window; j++) sum += samples[j]! * samples[j]!;
    out.push(Math.sqrt(sum / window));
  }
  return out;
}

/** The sentence cut to its first..last window above the threshold (whole windows). */
export function trimToSpeech(samples: Int16Array): Int16Array {
  const rms = windowRms(samples);
  const first = rms.findIndex((r) => r > SPEECH_RMS_THRESHOLD);
  const last = rms.findLastIndex((r) => r > SPEECH_RMS_THRESHOLD);
  if (first < 0) throw new Error('rendered sentence has no sample above the speech threshold');
  return samples.slice(first * ENERGY_WINDOW_SAMPLES, (last + 1) * ENERGY_WINDOW_SAMPLES);
}

export interface Placement {
  readonly text: string;
  /** Where the trimmed speech starts on the timeline, ms (a multiple of 10 ms). */
  readonly atMs: number;
}

/**
 * Build a track of `totalMs` with each sentence placed at its offset over the noise floor.
 * Returns the samples and the measured truth (start/end of speech in ms).
 */
export function buildSpeechTrack(
  placements: readonly Placement[],
  totalMs: number,
  seed: number,
): { samples: Int16Array; truth: Array<{ start_ms: number; end_ms: number; text: string }> } {
  const samples = new Int16Array((totalMs * SAMPLE_RATE_HZ) / 1000);
  const noise = gaussian(mulberry32(seed));
  for (let i = 0; i < samples.length; i++) samples[i] = Math.round(NOISE_FLOOR_STD * noise());
  const truth: Array<{ start_ms: number; end_ms: number; text: string }> = [];
  let previousEnd = 0;
  for (const p of placements) {
    const clip = trimToSpeech(renderSentence(p.text));
    const at = (p.atMs * SAMPLE_RATE_HZ) / 1000;
    if (at < previousEnd || at + clip.length > samples.length) {
      throw new Error(`"${p.text}" at ${p.atMs} ms overlaps the previous sentence or the end of the track`);
    }
    for (let i = 0; i < clip.length; i++) {
      samples[at + i] = Math.max(-32768, Math.min(32767, samples[at + i]! + clip[i]!));
    }
    previousEnd = at + clip.length;
    truth.push({ start_ms: p.atMs, end_ms: p.atMs + (clip.length * 1000) / SAMPLE_RATE_HZ, text: p.text });
  }
  return { samples, truth };
}

/** Place sentences one after another: leadMs of noise, then each sentence followed by its gap. */
export function sequence(
  sentences: ReadonlyArray<{ text: string; gapAfterMs: number }>,
  leadMs: number,
): { placements: Placement[]; endMs: number } {
  const placements: Placement[] = [];
  let at = leadMs;
  for (const s of sentences) {
    placements.push({ text: s.text, atMs: at });
    const clipMs = (trimToSpeech(renderSentence(s.text)).length * 1000) / SAMPLE_RATE_HZ;
    at += clipMs + s.gapAfterMs;
  }
  return { placements, endMs: at };
}
