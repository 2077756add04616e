/** FER+ post-processing (pure): softmax, contempt folded into disgusted, and the square face crop. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EMOTIONS } from '../../daemon/bus/topics.js';
import { FERPLUS_CLASSES, ferplusToEmotions, squareAround } from '../../daemon/pipeline/face/ferplus.js';

const at = (probs: Float32Array, e: (typeof EMOTIONS)[number]): number => probs[EMOTIONS.indexOf(e)]!;

describe('ferplusToEmotions', () => {
  it('maps each FER+ class to its emotion and contempt to disgusted', () => {
    const expected = [
      'neutral',
      'happy',
      'surprised',
      'sad',
      'angry',
      'disgusted',
      'fearful',
      'disgusted',
    ] as const;
    FERPLUS_CLASSES.forEach((_, k) => {
      const logits = new Array(8).fill(0);
      logits[k] = 20;
      const probs = ferplusToEmotions(logits);
      expect(at(probs, expected[k]!)).toBeGreaterThan(0.999);
    });
  });

  it('is a softmax over the eight logits with contempt added to disgust', () => {
    const logits = [1, 2, 0.5, -1, 0, 1.5, -2, 0.7];
    const e = logits.map(Math.exp);
    const sum = e.reduce((a, b) => a + b, 0);
    const probs = ferplusToEmotions(logits);
    expect(at(probs, 'happy')).toBeCloseTo(e[1]! / sum, 6);
    expect(at(probs, 'disgusted')).toBeCloseTo((e[5]! + e[7]!) / sum, 6);
    expect(at(probs, 'fearful')).toBeCloseTo(e[6]! / sum, 6);
    expect(at(probs, 'surprised')).toBeCloseTo(e[2]! / sum, 6);
  });

  it('always gives seven finite probabilities summing to 1, even for huge logits', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -1e4, max: 1e4, noNaN: true }), { minLength: 8, maxLength: 8 }),
        (logits) => {
          const probs = ferplusToEmotions(logits);
          expect(probs).toHaveLength(7);
          expect(probs.every((p) => Number.isFinite(p) && p >= 0)).toBe(true);
          expect(probs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 5);
        },
      ),
    );
  });
});

describe('squareAround', () => {
  it('widens the short side around the same centre with real pixels', () => {
    expect(squareAround({ x: 100, y: 50, width: 60, height: 100 }, 400, 300)).toEqual({
      x: 80,
      y: 50,
      width: 100,
      height: 100,
      left: 0,
      top: 0,
      size: 100,
    });
  });

  it('leaves the part outside the image as padding (left/top offsets, clipped extent)', () => {
    const r = squareAround({ x: 0, y: 10, width: 20, height: 80 }, 50, 300);
    expect(r).toEqual({ x: 0, y: 10, width: 50, height: 80, left: 30, top: 0, size: 80 });
  });
});
