/**
 * Whisper's log-mel features checked against an independent implementation.
 *
 * The whisper-tiny weights cannot be had on this machine, so the model half of the real whisper
 * path is tested on a generated model with the real tensor names and shapes. The feature half can
 * be checked for real: test/helpers/whisper_log_mel.py computes `log_mel_spectrogram` in numpy
 * from the published reference (openai/whisper audio.py; librosa's Slaney filterbank), sharing
 * nothing with daemon/pipeline/stt/whisper/mel.ts, and both must agree on the espeak-ng speech
 * fixture within 1e-4 — the tolerance float32 arithmetic in a different summation order allows.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseWavHeader } from '../../daemon/media/wav.js';
import { LogMelExtractor, WHISPER_MEL } from '../../daemon/pipeline/stt/whisper/mel.js';
import { needs, REPO_ROOT } from '../helpers/tools.js';

const NUMPY = '/usr/lib/python3/dist-packages/numpy/__init__.py';
const SPEECH_WAV = join(REPO_ROOT, 'fixtures', 'speech', 'mic.wav');
const SCRIPT = join(REPO_ROOT, 'test', 'helpers', 'whisper_log_mel.py');
const TOLERANCE = 1e-4;

function readPcm16(path: string): Int16Array {
  const file = readFileSync(path);
  const info = parseWavHeader(file.subarray(0, 4096), statSync(path).size, path);
  expect([info.sampleRateHz, info.channels, info.bitsPerSample]).toEqual([16_000, 1, 16]);
  const data = file.subarray(info.dataOffset, info.dataOffset + info.dataBytes);
  return new Int16Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength));
}

/** Runs the numpy reference on a WAV; returns its [80, 3000] features, mel-major. */
function numpyFeatures(wavPath: string, dir: string): Float32Array {
  const out = join(dir, `${Math.random().toString(36).slice(2)}.f32`);
  const run = spawnSync('python3', [SCRIPT, wavPath, out], { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`whisper_log_mel.py failed: ${run.stderr}`);
  const bytes = readFileSync(out);
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

function maxAbsDiff(a: Float32Array, b: Float32Array): { diff: number; at: number } {
  let diff = 0;
  let at = -1;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (d > diff) {
      diff = d;
      at = i;
    }
  }
  return { diff, at };
}

describe.runIf(needs({ tools: ['python3'], files: [NUMPY] }))(
  "whisper's log-mel features ≡ a numpy implementation of the reference",
  () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgeloom-mel-'));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));
    const extractor = new LogMelExtractor(WHISPER_MEL);
    const nFrames = WHISPER_MEL.nSamples / WHISPER_MEL.hopLength;

    it('the espeak-ng speech fixture: every one of 80 × 3000 values within 1e-4', () => {
      const ours = extractor.compute(readPcm16(SPEECH_WAV));
      const reference = numpyFeatures(SPEECH_WAV, dir);
      expect(reference.length).toBe(WHISPER_MEL.nMels * nFrames);
      expect(ours.length).toBe(reference.length);
      // The fixture has speech and silence: the features span the whole clamped range, so a
      // constant or shifted output could not pass.
      let lo = Number.POSITIVE_INFINITY;
      let hi = Number.NEGATIVE_INFINITY;
      for (const v of reference) {
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
      expect(hi - lo).toBeGreaterThan(1.5);
      const { diff, at } = maxAbsDiff(ours, reference);
      expect(diff, `mel ${Math.floor(at / nFrames)}, frame ${at % nFrames}`).toBeLessThan(TOLERANCE);
    });
  },
);
