import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isEdgeloomError } from '../../daemon/errors.js';
import {
  type SegmenterEvent,
  type SegmenterOptions,
  SpeechSegmenter,
} from '../../daemon/pipeline/vad/speech-segmenter.js';

const FRAME = 512;
const FRAME_MS = 32;
const BASE_MS = 1_000;

/** Frame i holds the value i in every sample, so emitted audio shows which frames it came from. */
function frame(i: number): Int16Array {
  return new Int16Array(FRAME).fill(i % 32767);
}

/** Feed a probability sequence; returns the events with the index of the frame that caused them. */
function run(probs: readonly number[], options: SegmenterOptions, flush = true) {
  const seg = new SpeechSegmenter(options);
  const events: { at: number; e: SegmenterEvent }[] = [];
  probs.forEach((p, i) => {
    for (const e of seg.push(frame(i), p, BASE_MS + i * FRAME_MS)) events.push({ at: i, e });
  });
  if (flush) for (const e of seg.flush()) events.push({ at: probs.length, e });
  return { seg, events };
}

const ms = (frameIndex: number): number => BASE_MS + frameIndex * FRAME_MS;
const plain: SegmenterOptions = { minSpeechMs: 0, preRollMs: 0, redemptionMs: 3 * FRAME_MS };

describe('SpeechSegmenter', () => {
  it('applies hysteresis: starts only at ≥ positive, in-between frames sustain speech and extend the end', () => {
    const probs = [0.1, 0.45, 0.6, 0.4, 0.4, 0.2, 0.2, 0.2, 0.1];
    const { events } = run(probs, plain, false);
    expect(events.map((x) => [x.at, x.e.kind])).toEqual([
      [2, 'speech-start'],
      [7, 'speech-end'],
    ]);
    const end = events[1]!.e;
    if (end.kind !== 'speech-end') throw new Error('expected end');
    expect(end.startMs).toBe(ms(2));
    expect(end.endMs).toBe(ms(5)); // end of frame 4, the last one ≥ negative
    expect(Array.from(new Set(end.audio))).toEqual([2, 3, 4]);
    expect(end.meanProbability).toBeCloseTo((0.6 + 0.4 + 0.4) / 3, 6);
  });

  it('redemption: a quiet run shorter than redemptionMs does not end the segment', () => {
    const probs = [0.9, 0.1, 0.1, 0.9, 0.1, 0.1, 0.1, 0.0];
    const { events } = run(probs, plain, false);
    expect(events.map((x) => [x.at, x.e.kind])).toEqual([
      [0, 'speech-start'],
      [6, 'speech-end'],
    ]);
    const end = events[1]!.e;
    expect(end.kind === 'speech-end' && end.endMs).toBe(ms(4));
  });

  it('a frame in between the thresholds neither resets nor extends the redemption count', () => {
    // quiet, in-between, quiet, quiet: with redemption 3 frames the third quiet frame ends it.
    const { events } = run([0.9, 0.1, 0.4, 0.1, 0.1, 0.1], plain, false);
    expect(events.map((x) => [x.at, x.e.kind])).toEqual([
      [0, 'speech-start'],
      [4, 'speech-end'],
    ]);
  });

  it('discards segments with less speech than minSpeechMs as misfires', () => {
    const opts = { ...plain, minSpeechMs: 100 };
    const short = run([0.9, 0.9, 0.9, 0, 0, 0, 0], opts);
    expect(short.events.map((x) => x.e.kind)).toEqual(['speech-start', 'misfire']);
    expect(short.seg.stats()).toMatchObject({ misfires: 1, segments: 0 });
    const long = run([0.9, 0.9, 0.9, 0.9, 0, 0, 0], opts);
    expect(long.events.map((x) => x.e.kind)).toEqual(['speech-start', 'speech-end']);
    expect(long.seg.stats()).toMatchObject({ misfires: 0, segments: 1 });
  });

  it('prepends preRollMs of audio and clamps it at the start of the stream', () => {
    const opts = { ...plain, preRollMs: 3 * FRAME_MS };
    const mid = run([0, 0, 0, 0, 0, 0.9, 0.9, 0, 0, 0], opts);
    const start = mid.events[0]!.e;
    expect(start).toMatchObject({ kind: 'speech-start', startMs: ms(2), onsetMs: ms(5) });
    const end = mid.events[1]!.e;
    if (end.kind !== 'speech-end') throw new Error('expected end');
    expect(end.startMs).toBe(ms(2));
    expect(Array.from(new Set(end.audio))).toEqual([2, 3, 4, 5, 6]);

    const early = run([0, 0.9, 0.9, 0, 0, 0], opts);
    expect(early.events[0]!.e).toMatchObject({ kind: 'speech-start', startMs: ms(0), onsetMs: ms(1) });
  });

  it('cuts at maxSegmentMs: a truncated end, then a new segment continuing at the next frame', () => {
    const opts = { ...plain, maxSegmentMs: 10 * FRAME_MS };
    const probs = Array.from({ length: 25 }, () => 0.9);
    const { events, seg } = run(probs, opts);
    expect(events.map((x) => [x.at, x.e.kind])).toEqual([
      [0, 'speech-start'],
      [10, 'speech-end'],
      [10, 'speech-start'],
      [20, 'speech-end'],
      [20, 'speech-start'],
      [25, 'speech-end'],
    ]);
    const ends = events.map((x) => x.e).filter((e) => e.kind === 'speech-end');
    expect(ends.map((e) => e.truncated)).toEqual([true, true, false]);
    expect(ends.map((e) => e.audio.length)).toEqual([10 * FRAME, 10 * FRAME, 5 * FRAME]);
    expect(ends[1]!.startMs).toBe(ends[0]!.endMs);
    expect(seg.stats().truncated).toBe(2);
  });

  it('refuses bad options with E_VAD_OPTIONS naming the key, and bad frames with E_VAD_FRAME', () => {
    const cases: [SegmenterOptions, string][] = [
      [{ positiveSpeechThreshold: 0.3, negativeSpeechThreshold: 0.5 }, 'negativeSpeechThreshold'],
      [{ positiveSpeechThreshold: 1.5 }, 'positiveSpeechThreshold'],
      [{ maxSegmentMs: 64, preRollMs: 192 }, 'maxSegmentMs'],
      [{ minSpeechMs: -1 }, 'minSpeechMs'],
    ];
    for (const [opts, key] of cases) {
      let err: unknown;
      try {
        new SpeechSegmenter(opts);
      } catch (e) {
        err = e;
      }
      expect(isEdgeloomError(err, 'E_VAD_OPTIONS')).toBe(true);
      expect((err as { where: string }).where).toBe(key);
    }
    const seg = new SpeechSegmenter();
    expect(() => seg.push(new Int16Array(100), 0.9, 0)).toThrow(/expected 512/);
  });

  it('property: segments are ordered, never overlap, match their audio and stay within maxSegmentMs', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.double({ min: 0, max: 1, noNaN: true }), fc.constantFrom(0, 0.95)), {
          maxLength: 400,
        }),
        fc.record({
          positiveSpeechThreshold: fc.double({ min: 0.3, max: 0.9, noNaN: true }),
          negativeGap: fc.double({ min: 0, max: 0.3, noNaN: true }),
          minSpeechMs: fc.integer({ min: 0, max: 300 }),
          redemptionMs: fc.integer({ min: 0, max: 500 }),
          preRollMs: fc.integer({ min: 0, max: 300 }),
          maxSegmentMs: fc.integer({ min: 640, max: 3000 }),
        }),
        (probs, r) => {
          const opts: SegmenterOptions = {
            ...r,
            negativeSpeechThreshold: Math.max(0, r.positiveSpeechThreshold - r.negativeGap),
          };
          const { events } = run(probs, opts);
          let open: number | undefined;
          let lastEnd = Number.NEGATIVE_INFINITY;
          for (const { e } of events) {
            if (e.kind === 'speech-start') {
              expect(open).toBeUndefined();
              expect(e.startMs).toBeGreaterThanOrEqual(lastEnd);
              expect(e.startMs).toBeLessThanOrEqual(e.onsetMs);
              open = e.startMs;
              continue;
            }
            expect(e.startMs).toBe(open);
            open = undefined;
            if (e.kind === 'misfire') continue;
            expect(e.endMs).toBeGreaterThan(e.startMs);
            expect(e.endMs - e.startMs).toBeLessThanOrEqual(r.maxSegmentMs);
            expect(e.audio.length).toBe(((e.endMs - e.startMs) * FRAME) / FRAME_MS);
            // The first sample belongs to the frame that starts at startMs.
            expect(e.audio[0]).toBe((e.startMs - BASE_MS) / FRAME_MS);
            lastEnd = e.endMs;
          }
          expect(open).toBeUndefined();
        },
      ),
      { numRuns: 300 },
    );
  });
});
