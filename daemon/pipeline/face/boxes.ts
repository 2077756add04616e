/**
 * Pure box arithmetic of the face stage: TinyYolov2 grid decoding, face-api's non-maximum
 * suppression and the crop rectangle face-api cuts for the expression net. Every formula mirrors
 * @vladmandic/face-api 1.7.15 (src/tinyYolov2/TinyYolov2Base.ts, src/ops/nonMaxSuppression.ts,
 * src/classes/Box.ts) step for step, in the same float64 order, so results match face-api's to
 * the last bit wherever the network outputs do.
 */
import type { Box } from '../../bus/topics.js';

/** A scored box; coordinates relative (0..1 of the image) or in pixels depending on the producer. */
export interface ScoredBox extends Box {
  readonly score: number;
}

/** TinyYolov2 decoding parameters. */
export interface GridSpec {
  /** Anchor sizes in grid cells, [width, height] per anchor; the grid has 5 values per anchor. */
  readonly anchors: readonly (readonly [number, number])[];
  /** Square network input side, px (416 in face-api's default). */
  readonly inputSize: number;
  /** Keep cells whose objectness sigmoid is strictly above this, 0..1. */
  readonly scoreThreshold: number;
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

/**
 * Decode the raw `grid` output ([1, anchors × 5, cells, cells], NCHW: channel anchor × 5 + k,
 * k = tx, ty, tw, th, objectness) into boxes relative to the source image of `imageWidth` ×
 * `imageHeight`. The image was padded bottom/right to a square before resizing, so coordinates
 * are corrected by inputSize / reshaped size exactly as face-api's extractBoxes does.
 */
export function decodeTinyYoloGrid(
  grid: Float32Array,
  cells: number,
  spec: GridSpec,
  imageWidth: number,
  imageHeight: number,
): ScoredBox[] {
  const scale = spec.inputSize / Math.max(imageHeight, imageWidth);
  const reshapedWidth = Math.round(imageWidth * scale);
  const reshapedHeight = Math.round(imageHeight * scale);
  const side = Math.max(reshapedWidth, reshapedHeight);
  const correctionX = side / reshapedWidth;
  const correctionY = side / reshapedHeight;
  const plane = cells * cells;
  const out: ScoredBox[] = [];
  for (let row = 0; row < cells; row++) {
    for (let col = 0; col < cells; col++) {
      for (let a = 0; a < spec.anchors.length; a++) {
        const base = a * 5 * plane + row * cells + col;
        const score = sigmoid(grid[base + 4 * plane]!);
        if (!(score > spec.scoreThreshold)) continue;
        const [anchorW, anchorH] = spec.anchors[a]!;
        const ctX = ((col + sigmoid(grid[base]!)) / cells) * correctionX;
        const ctY = ((row + sigmoid(grid[base + plane]!)) / cells) * correctionY;
        const w = ((Math.exp(grid[base + 2 * plane]!) * anchorW) / cells) * correctionX;
        const h = ((Math.exp(grid[base + 3 * plane]!) * anchorH) / cells) * correctionY;
        const x = ctX - w / 2;
        const y = ctY - h / 2;
        // face-api stores left/top/right/bottom and derives width as right − left.
        out.push({ x, y, width: x + w - x, height: y + h - y, score });
      }
    }
  }
  return out;
}

function iou(a: Box, b: Box): number {
  const width = Math.max(0, Math.min(a.x + a.width, b.x + b.width) - Math.max(a.x, b.x));
  const height = Math.max(0, Math.min(a.y + a.height, b.y + b.height) - Math.max(a.y, b.y));
  const inter = width * height;
  return inter / (a.width * a.height + b.width * b.height - inter);
}

/**
 * Greedy NMS: take the best remaining box, drop every other box overlapping it by more than
 * `iouThreshold`, repeat. Boxes are compared after scaling by `scale` (face-api scales relative
 * boxes by the input size first). Returns indices, best first. Ties keep face-api's order: its
 * stable ascending sort pops the later of two equal scores first.
 */
export function nonMaxSuppression(boxes: readonly ScoredBox[], iouThreshold: number, scale = 1): number[] {
  const scaled = boxes.map((b) => ({
    x: b.x * scale,
    y: b.y * scale,
    width: b.width * scale,
    height: b.height * scale,
  }));
  let order = boxes
    .map((b, i) => ({ score: b.score, i }))
    .sort((p, q) => p.score - q.score)
    .map((p) => p.i);
  const pick: number[] = [];
  while (order.length > 0) {
    const best = order.pop()!;
    pick.push(best);
    order = order.filter((i) => iou(scaled[best]!, scaled[i]!) <= iouThreshold);
  }
  return pick;
}

/** `v` taken to relative units and back, as face-api's Box.rescale(dims.reverse()) then rescale(dims) does. */
function roundTrip(v: number, dim: number): number {
  return v * (1 / dim) * dim;
}

/**
 * The box face-api reports (`detection.box`) for a relative detection: one relative → pixel
 * conversion in detect(), one relative round trip in locateFaces().
 */
export function toPixelBox(rel: Box, width: number, height: number): Box {
  return {
    x: roundTrip(rel.x * width, width),
    y: roundTrip(rel.y * height, height),
    width: roundTrip(rel.width * width, width),
    height: roundTrip(rel.height * height, height),
  };
}

/**
 * The integer crop face-api cuts for the expression net from a reported pixel box: two more
 * relative round trips (FaceDetection.forSize), then clipAtImageBorders (clip, then floor).
 * Returns null for an empty crop (face-api skips those).
 */
export function cropRect(box: Box, width: number, height: number): Box | null {
  const x = roundTrip(roundTrip(box.x, width), width);
  const y = roundTrip(roundTrip(box.y, height), height);
  const w = roundTrip(roundTrip(box.width, width), width);
  const h = roundTrip(roundTrip(box.height, height), height);
  const cx = Math.max(x, 0);
  const cy = Math.max(y, 0);
  const crop = {
    x: Math.floor(cx),
    y: Math.floor(cy),
    width: Math.floor(Math.min(x + w - cx, width - cx)),
    height: Math.floor(Math.min(y + h - cy, height - cy)),
  };
  return crop.width > 0 && crop.height > 0 ? crop : null;
}

/** Clip a pixel box to the frame (what the stage publishes: no coordinates outside the image). */
export function clipToFrame(box: Box, width: number, height: number): Box {
  const x = Math.min(Math.max(box.x, 0), width);
  const y = Math.min(Math.max(box.y, 0), height);
  const right = Math.min(Math.max(box.x + box.width, 0), width);
  const bottom = Math.min(Math.max(box.y + box.height, 0), height);
  return { x, y, width: right - x, height: bottom - y };
}
