/**
 * The privacy proofs' byte inspection: the real speech and face fixtures loaded once, and a search
 * of any recorded request body for audio or an image, by format signature and by the fixtures' own
 * bytes (raw, base64 or as a data: URL). A test that proves nothing left under a private tier also
 * proves, under public, that the same search does find the media, so the search itself can fail.
 */
import { join } from 'node:path';
import { type FixtureFrame, openFixture } from '../../daemon/recording/reader.js';
import { REPO_ROOT } from './tools.js';

export const SPEECH_FIXTURE = join(REPO_ROOT, 'fixtures/speech');
export const FACES_FIXTURE = join(REPO_ROOT, 'fixtures/faces');

/** One spoken sentence of the speech fixture: its truth and its samples (16 kHz mono). */
export interface Utterance {
  readonly startMs: number;
  readonly endMs: number;
  readonly text: string;
  readonly audio: Int16Array;
}

/** Every utterance of the speech fixture's truth, with the audio between its start and end. */
export async function speechUtterances(fixture = SPEECH_FIXTURE): Promise<Utterance[]> {
  const speech = await openFixture(fixture);
  const parts: Int16Array[] = [];
  for await (const f of speech.micFrames(512)) parts.push(f.samples);
  const all = new Int16Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  const truth = (
    speech.manifest as unknown as { truth: { speech: { start_ms: number; end_ms: number; text: string }[] } }
  ).truth.speech;
  // 16 samples per ms at the fixtures' 16 kHz.
  return truth.map((t) => ({
    startMs: t.start_ms,
    endMs: t.end_ms,
    text: t.text,
    audio: all.slice(t.start_ms * 16, t.end_ms * 16),
  }));
}

/** The first `limit` camera frames of a fixture (all of them by default). */
export async function fixtureFrames(
  fixture = FACES_FIXTURE,
  limit = Number.POSITIVE_INFINITY,
): Promise<FixtureFrame[]> {
  const out: FixtureFrame[] = [];
  if (limit <= 0) return out;
  for await (const f of (await openFixture(fixture)).cameraFrames()) {
    out.push(f);
    if (out.length >= limit) break;
  }
  return out;
}

/** Base64 and text signatures of WAV, JPEG and PNG, and the data: URL and MIME forms. */
const TEXT_SIGNATURES = ['UklGR', '/9j/', 'iVBORw0KGgo', 'data:image/', 'data:audio/', 'audio/wav'];

/**
 * Finds audio and images in bytes. Labels (one per finding, so counts can be asserted):
 * `RIFF/WAVE header`, `JPEG SOI`, `PNG signature`, `signature <s>`, `samples of "<text>"` (64 bytes
 * from the middle of an utterance: real speech, never all zeros), `JPEG scan bytes` (64 bytes inside
 * a frame), `JPEG base64 part` (200 characters inside a frame's base64), `JPEG base64` (a whole frame's
 * base64, as a vision request's data: URL carries it).
 */
export class MediaInspector {
  private readonly audioWindows: { text: string; bytes: Buffer }[];
  private readonly frames: { scan: Buffer; base64: string }[];

  constructor(utterances: readonly Utterance[], frames: readonly { jpeg: Buffer }[]) {
    this.audioWindows = utterances.map((u) => {
      const mid = Math.floor(u.audio.length / 2);
      return { text: u.text, bytes: Buffer.from(u.audio.buffer, u.audio.byteOffset + mid * 2, 64) };
    });
    this.frames = frames.map((f) => ({ scan: f.jpeg.subarray(200, 264), base64: f.jpeg.toString('base64') }));
  }

  find(body: Buffer): string[] {
    const found: string[] = [];
    const text = body.toString('latin1');
    if (/RIFF....WAVE/s.test(text)) found.push('RIFF/WAVE header');
    if (body.includes(Buffer.from([0xff, 0xd8]))) found.push('JPEG SOI');
    if (body.includes(Buffer.from([0x89, 0x50, 0x4e, 0x47]))) found.push('PNG signature');
    for (const sig of TEXT_SIGNATURES) if (text.includes(sig)) found.push(`signature ${sig}`);
    for (const w of this.audioWindows) if (body.includes(w.bytes)) found.push(`samples of "${w.text}"`);
    for (const f of this.frames) {
      if (body.includes(f.scan)) found.push('JPEG scan bytes');
      if (text.includes(f.base64.slice(400, 600))) found.push('JPEG base64 part');
      if (text.includes(f.base64)) found.push('JPEG base64');
    }
    return found;
  }
}
