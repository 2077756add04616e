import { describe, expect, it } from 'vitest';
import {
  clipToFrame,
  cropRect,
  decodeTinyYoloGrid,
  type GridSpec,
  nonMaxSuppression,
  toPixelBox,
} from '../../daemon/pipeline/face/boxes.js';

const logit = (p: number): number => Math.log(p / (1 - p));
const ANCHORS: GridSpec['anchors'] = [
  [1, 2],
  [3, 3],
];

/** A grid of `cells`² whose objectness logits are all very low (nothing detected). */
function emptyGrid(cells: number): Float32Array {
  const plane = cells * cells;
  const g = new Float32Array(ANCHORS.length * 5 * plane);
  for (let a = 0; a < ANCHORS.length; a++) g.fill(-20, (a * 5 + 4) * plane, (a * 5 + 5) * plane);
  return g;
}

describe('TinyYolo grid decoding', () => {
  it('decodes one confident cell with the anchor size, sigmoid offsets and exp scales', () => {
    const cells = 4;
    const g = emptyGrid(cells);
    const at = (a: number, k: number, row: number, col: number): number => (a * 5 + k) * 16 + row * 4 + col;
    g[at(1, 0, 2, 1)] = 0; // sigmoid 0.5
    g[at(1, 1, 2, 1)] = logit(0.25);
    g[at(1, 2, 2, 1)] = Math.log(2);
    g[at(1, 3, 2, 1)] = 0;
    g[at(1, 4, 2, 1)] = logit(0.9);
    const spec = { anchors: ANCHORS, inputSize: 128, scoreThreshold: 0.5 };
    const boxes = decodeTinyYoloGrid(g, cells, spec, 100, 100);
    expect(boxes).toHaveLength(1);
    const b = boxes[0]!;
    expect(b.score).toBeCloseTo(0.9, 6);
    // centre (1.5/4, 2.25/4), size (2*3/4, 1*3/4)
    expect(b.x + b.width / 2).toBeCloseTo(1.5 / 4, 5);
    expect(b.y + b.height / 2).toBeCloseTo(2.25 / 4, 5);
    expect(b.width).toBeCloseTo(1.5, 5);
    expect(b.height).toBeCloseTo(0.75, 5);
  });

  it('corrects for the bottom/right padding of a non-square image', () => {
    const g = emptyGrid(1);
    g[4] = logit(0.8); // anchor 0, the only cell, centred offsets (0 → 0.5)
    const spec = { anchors: ANCHORS, inputSize: 32, scoreThreshold: 0.5 };
    const [wide] = decodeTinyYoloGrid(g, 1, spec, 200, 100);
    // The image fills the top half of the square, so relative y coordinates double.
    expect(wide!.x + wide!.width / 2).toBeCloseTo(0.5, 6);
    expect(wide!.y + wide!.height / 2).toBeCloseTo(1, 6);
    expect(wide!.height / wide!.width).toBeCloseTo(2 * 2, 5);
  });

  it('keeps only scores strictly above the threshold', () => {
    const g = emptyGrid(1);
    g[4] = 0; // sigmoid exactly 0.5
    expect(
      decodeTinyYoloGrid(g, 1, { anchors: ANCHORS, inputSize: 32, scoreThreshold: 0.5 }, 10, 10),
    ).toHaveLength(0);
    expect(
      decodeTinyYoloGrid(g, 1, { anchors: ANCHORS, inputSize: 32, scoreThreshold: 0.49 }, 10, 10),
    ).toHaveLength(1);
  });
});

describe('non-maximum suppression (face-api semantics)', () => {
  const box = (x: number, y: number, w: number, h: number, score: number) => ({
    x,
    y,
    width: w,
    height: h,
    score,
  });

  it('keeps the best of overlapping boxes and every separate box, best first', () => {
    const boxes = [box(0, 0, 10, 10, 0.6), box(1, 1, 10, 10, 0.9), box(50, 50, 10, 10, 0.7)];
    expect(nonMaxSuppression(boxes, 0.4)).toEqual([1, 2]);
  });

  it('keeps a box whose IoU equals the threshold and drops one just above it', () => {
    // Two 10x10 boxes shifted by 5: IoU = 50 / 150 = 1/3.
    const boxes = [box(0, 0, 10, 10, 0.9), box(5, 0, 10, 10, 0.8)];
    expect(nonMaxSuppression(boxes, 1 / 3)).toEqual([0, 1]);
    expect(nonMaxSuppression(boxes, 0.33)).toEqual([0]);
  });

  it('scales before comparing without changing which boxes survive', () => {
    const boxes = [box(0, 0, 0.1, 0.1, 0.5), box(0.01, 0.01, 0.1, 0.1, 0.8)];
    expect(nonMaxSuppression(boxes, 0.4, 416)).toEqual([1]);
  });

  it('returns nothing for no boxes', () => {
    expect(nonMaxSuppression([], 0.4)).toEqual([]);
  });
});

describe('face crops and frame boxes', () => {
  it('converts relative boxes to pixels', () => {
    const b = toPixelBox({ x: 0.25, y: 0.5, width: 0.5, height: 0.25 }, 640, 480);
    expect(b.x).toBeCloseTo(160, 9);
    expect(b.y).toBeCloseTo(240, 9);
    expect(b.width).toBeCloseTo(320, 9);
    expect(b.height).toBeCloseTo(120, 9);
  });

  it('clips the crop at the image borders, then floors (face-api clipAtImageBorders)', () => {
    expect(cropRect({ x: -10.5, y: 20.7, width: 50.9, height: 500 }, 640, 480)).toEqual({
      x: 0,
      y: 20,
      width: 40,
      height: 459,
    });
  });

  it('returns null for a crop that is empty after clipping', () => {
    expect(cropRect({ x: 700, y: 10, width: 20, height: 20 }, 640, 480)).toBeNull();
    expect(cropRect({ x: 10, y: 10, width: 0.5, height: 20 }, 640, 480)).toBeNull();
  });

  it('clips published boxes to the frame', () => {
    expect(clipToFrame({ x: -5, y: 470, width: 20, height: 20 }, 640, 480)).toEqual({
      x: 0,
      y: 470,
      width: 15,
      height: 10,
    });
  });
});
