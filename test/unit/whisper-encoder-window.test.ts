import { describe, expect, it } from 'vitest';
import {
  cropFeatures,
  fullWindowFrames,
  windowFrames,
} from '../../daemon/pipeline/stt/whisper/encoder-window.js';
import { WHISPER_MEL } from '../../daemon/pipeline/stt/whisper/mel.js';
import type { WhisperSpec } from '../../daemon/pipeline/stt/whisper/model-files.js';

/** Only `mel` is read by the window arithmetic. */
const spec = { mel: WHISPER_MEL } as WhisperSpec;
const samples = (seconds: number): number => Math.round(seconds * 16000);

describe('encoder window arithmetic', () => {
  it("the 30 s window is Whisper's 3000 frames whatever the audio length", () => {
    expect(fullWindowFrames(spec)).toBe(3000);
    for (const s of [0.2, 2, 29.9, 45]) expect(windowFrames(samples(s), 30, spec)).toBe(3000);
  });

  it('a shorter window pads short audio to it and grows in whole seconds for longer audio', () => {
    expect(windowFrames(samples(1.2), 5, spec)).toBe(500);
    expect(windowFrames(samples(5), 5, spec)).toBe(500);
    expect(windowFrames(samples(5.01), 5, spec)).toBe(600);
    expect(windowFrames(samples(12.4), 5, spec)).toBe(1300);
    expect(windowFrames(samples(45), 5, spec)).toBe(3000);
  });

  it('cropping keeps the first frames of every mel row, in mel-major order', () => {
    const nMels = 3;
    const full = 6;
    const features = Float32Array.from({ length: nMels * full }, (_, i) => i);
    expect(Array.from(cropFeatures(features, nMels, full, 2))).toEqual([0, 1, 6, 7, 12, 13]);
    expect(cropFeatures(features, nMels, full, full)).toBe(features);
  });
});
