/**
 * A fixture for the wake-word tests, written to a temporary directory: the bundled speech
 * fixture's utterances (espeak-ng, fixtures/speech) re-spaced around a 1 kHz tone, which the
 * generated openWakeWord test models (scripts/make-oww-test-models.ts) score as "the wake word".
 * A tone stands in for "hey jarvis" because the real classifier cannot be downloaded here; the
 * framing, sessions, stage, gate and STT are the real ones.
 *
 * Layout: noise, utterance 0, noise, the tone, noise, utterances 1 and 2, a long gap (longer than
 * the listening window), utterance 4 ("stop", utterance 3, is too short to clip cleanly), noise.
 * The truth lists where each utterance and the tone are, from the bundled fixture's own truth.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { encodeWav, parseWavHeader } from '../../daemon/media/wav.js';
import { REPO_ROOT } from './tools.js';

const RATE_HZ = 16_000;
const ms = (n: number): number => Math.round((n * RATE_HZ) / 1000);

export interface WakeFixtureTruth {
  readonly speech: readonly { readonly start_ms: number; readonly end_ms: number; readonly text: string }[];
  readonly tone: { readonly start_ms: number; readonly end_ms: number; readonly hz: number };
}

export interface WakeFixtureOptions {
  /** Tone length, ms (default 1800). */
  readonly toneMs?: number;
  /** Silence between the tone and utterance 1, ms (default 600). */
  readonly afterToneMs?: number;
  /** Silence before the last utterance, ms (default 7000: past a 5 s window). */
  readonly longGapMs?: number;
}

/** Writes fixture.json and mic.wav into `dir`; returns the samples and the truth. */
export function writeWakeFixture(
  dir: string,
  o: WakeFixtureOptions = {},
): { samples: Int16Array; truth: WakeFixtureTruth } {
  const src = join(REPO_ROOT, 'fixtures/speech');
  const wav = readFileSync(join(src, 'mic.wav'));
  const info = parseWavHeader(wav, wav.length, 'fixtures/speech/mic.wav');
  const pcm = new Int16Array(
    wav.buffer.slice(wav.byteOffset + info.dataOffset, wav.byteOffset + info.dataOffset + info.dataBytes),
  );
  const bundled = (
    JSON.parse(readFileSync(join(src, 'fixture.json'), 'utf8')) as {
      truth: { speech: { start_ms: number; end_ms: number; text: string }[] };
    }
  ).truth.speech;
  const margin = { before: 250, after: 300 };
  const clip = (i: number): { audio: Int16Array; speechAt: number; speechMs: number; text: string } => {
    const t = bundled[i]!;
    return {
      audio: pcm.slice(ms(t.start_ms - margin.before), ms(t.end_ms + margin.after)),
      speechAt: margin.before,
      speechMs: t.end_ms - t.start_ms,
      text: t.text,
    };
  };
  const toneMs = o.toneMs ?? 1800;
  const plan: ({ gap: number } | { clip: number } | { tone: number })[] = [
    { gap: 1000 },
    { clip: 0 },
    { gap: 1000 },
    { tone: toneMs },
    { gap: o.afterToneMs ?? 600 },
    { clip: 1 },
    { gap: 1000 },
    { clip: 2 },
    { gap: o.longGapMs ?? 7000 },
    { clip: 4 },
    { gap: 2500 },
  ];
  const parts: Int16Array[] = [];
  const speech: { start_ms: number; end_ms: number; text: string }[] = [];
  let tone = { start_ms: 0, end_ms: 0, hz: 1000 };
  let atMs = 0;
  let seed = 4242;
  const noise = (n: number): Int16Array => {
    const out = new Int16Array(n);
    for (let i = 0; i < n; i++) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      out[i] = Math.round((seed / 2 ** 31 - 0.5) * 60);
    }
    return out;
  };
  for (const step of plan) {
    if ('gap' in step) {
      parts.push(noise(ms(step.gap)));
      atMs += step.gap;
    } else if ('tone' in step) {
      const n = ms(step.tone);
      const t = noise(n);
      for (let i = 0; i < n; i++)
        t[i] = t[i]! + Math.round(8000 * Math.sin((2 * Math.PI * 1000 * i) / RATE_HZ));
      parts.push(t);
      tone = { start_ms: atMs, end_ms: atMs + step.tone, hz: 1000 };
      atMs += step.tone;
    } else {
      const c = clip(step.clip);
      parts.push(c.audio);
      speech.push({ start_ms: atMs + c.speechAt, end_ms: atMs + c.speechAt + c.speechMs, text: c.text });
      atMs += (c.audio.length * 1000) / RATE_HZ;
    }
  }
  const samples = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    samples.set(p, off);
    off += p.length;
  }
  const truth: WakeFixtureTruth = { speech, tone };
  writeFileSync(join(dir, 'mic.wav'), encodeWav(samples, RATE_HZ));
  writeFileSync(
    join(dir, 'fixture.json'),
    JSON.stringify(
      {
        format: 'edgeloom-fixture',
        version: 1,
        sensors: ['mic'],
        start_time: '2024-01-01T00:00:00.000Z',
        description:
          'wake-word test: fixtures/speech utterances around a 1 kHz tone (the generated test wake word)',
        truth: { speech },
      },
      null,
      2,
    ),
  );
  return { samples, truth };
}
