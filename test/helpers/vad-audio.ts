/**
 * Speech audio with known boundaries for the VAD tests and benchmark: espeak-ng speaks a phrase,
 * sox resamples it to 16 kHz mono s16, and the clip is placed between stretches of quiet noise.
 * The truth is measured from the clip's energy (10 ms RMS windows), not assumed.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const SAMPLE_RATE_HZ = 16000;

/** espeak-ng → sox → Int16 PCM at 16 kHz mono. */
export function speak(text: string, voice = 'en-us'): Int16Array {
  const dir = mkdtempSync(join(tmpdir(), 'edgeloom-speak-'));
  try {
    const wav = join(dir, 'raw.wav');
    const raw = join(dir, 'out.raw');
    execFileSync('espeak-ng', ['-v', voice, '-w', wav, text], { stdio: 'ignore' });
    execFileSync(
      'sox',
      [wav, '-t', 'raw', '-e', 'signed-integer', '-b', '16', '-c', '1', '-r', '16000', raw],
      {
        stdio: 'ignore',
      },
    );
    const buf = readFileSync(raw);
    return new Int16Array(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** First and last sample of `clip` inside 10 ms windows whose RMS is within 30 dB of the loudest. */
export function energyBounds(clip: Int16Array): { first: number; last: number } {
  const win = SAMPLE_RATE_HZ / 100;
  const rms: number[] = [];
  for (let s = 0; s + win <= clip.length; s += win) {
    let sum = 0;
    for (let i = s; i < s + win; i++) sum += clip[i]! * clip[i]!;
    rms.push(Math.sqrt(sum / win));
  }
  const floor = Math.max(...rms) * 10 ** (-30 / 20);
  const firstWin = rms.findIndex((r) => r > floor);
  let lastWin = rms.length - 1;
  while (lastWin > 0 && rms[lastWin]! <= floor) lastWin--;
  return { first: firstWin * win, last: (lastWin + 1) * win };
}

export interface SpeechTrack {
  readonly samples: Int16Array;
  /** Truth from the clip's energy, ms from the start of `samples`. */
  readonly speech: readonly { readonly startMs: number; readonly endMs: number }[];
}

/**
 * `clips` separated (and surrounded) by `gapMs` of low deterministic noise (about -60 dBFS), so
 * the silence is not digital zero.
 */
export function track(clips: readonly Int16Array[], gapMs = 1000): SpeechTrack {
  const gap = (gapMs * SAMPLE_RATE_HZ) / 1000;
  const total = clips.reduce((n, c) => n + c.length, 0) + gap * (clips.length + 1);
  const samples = new Int16Array(total);
  let seed = 12345;
  for (let i = 0; i < total; i++) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    samples[i] = Math.round((seed / 2 ** 31 - 0.5) * 60);
  }
  const speech: { startMs: number; endMs: number }[] = [];
  let at = gap;
  for (const clip of clips) {
    for (let i = 0; i < clip.length; i++)
      samples[at + i] = Math.max(-32768, Math.min(32767, samples[at + i]! + clip[i]!));
    const b = energyBounds(clip);
    speech.push({
      startMs: ((at + b.first) * 1000) / SAMPLE_RATE_HZ,
      endMs: ((at + b.last) * 1000) / SAMPLE_RATE_HZ,
    });
    at += clip.length + gap;
  }
  return { samples, speech };
}

/** Split into whole 512-sample frames (a trailing partial frame is dropped). */
export function frames(samples: Int16Array, frameSamples = 512): Int16Array[] {
  const out: Int16Array[] = [];
  for (let s = 0; s + frameSamples <= samples.length; s += frameSamples)
    out.push(samples.slice(s, s + frameSamples));
  return out;
}
