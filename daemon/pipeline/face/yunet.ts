/**
 * YuNet (OpenCV Zoo face_detection_yunet_2023mar.onnx) behind the FaceDetector contract: an
 * alternative to the face-api conversion that users may prefer, picked by the manifest format
 * `yunet` (daemon/pipeline/face/factory.ts).
 *
 * The model: input `input` [1, 3, H, W], BGR float 0..255 with no mean or scale; the 2023mar export
 * is fixed at 640 × 640 (opencv/opencv_zoo#229: OpenCV's DNN re-plans per input, ONNX Runtime
 * enforces the declared shape). Per stride s in 8, 16, 32 it returns, for the (H/s) × (W/s) cells
 * in row-major order: `cls_s` and `obj_s` [1, N, 1] (already through a sigmoid), `bbox_s` [1, N, 4]
 * (centre offset in cells, log size in strides) and `kps_s` [1, N, 10] (five landmarks as offsets in
 * cells). Decoding follows OpenCV's FaceDetectorYN::postProcess (modules/objdetect/src/face_detect.cpp):
 * score = sqrt(clamp01(cls) × clamp01(obj)), centre = (cell + offset) × s, size = exp(delta) × s,
 * then greedy NMS (OpenCV defaults: score 0.9, NMS 0.3, top-k 5000).
 *
 * Pre-processing: OpenCV pads the image bottom/right to the input size; we scale the frame to fit
 * first (aspect kept) and pad bottom/right with zeros, so coordinates map back by one factor.
 */
import { EdgeloomError, ErrorCode } from '../../errors.js';
import { type Feeds, type OutputSpec, type Outputs, tensor } from '../onnx-session.js';
import { bottomRightSquare, type RgbImage, resizeBilinearToPlanar } from '../preprocess/bilinear.js';
import { nonMaxSuppression } from './boxes.js';
import type { DetectedFace, FaceDetector, FaceModelSession } from './face-analyser.js';

/** Feature-map strides of YuNet's three heads, px. */
export const YUNET_STRIDES = [8, 16, 32] as const;

/** A landmark point in source-frame pixels. */
export interface Point {
  readonly x: number;
  readonly y: number;
}

/**
 * A YuNet face: box and score as every detector reports, plus its five landmarks in OpenCV's order
 * (right eye, left eye, nose tip, right mouth corner, left mouth corner; "right" is the person's).
 */
export interface YuNetFace extends DetectedFace {
  readonly landmarks: readonly Point[];
}

/** The output tensors of one stride, flat (row-major cells). */
export interface YuNetLevel {
  readonly stride: number;
  readonly cls: Float32Array;
  readonly obj: Float32Array;
  readonly bbox: Float32Array;
  readonly kps: Float32Array;
}

/** Input and output declarations for OnnxModel.load of a YuNet model of `inputSize` × `inputSize`. */
export function yunetIo(inputSize: number): { inputs: readonly string[]; outputs: readonly OutputSpec[] } {
  const outputs: OutputSpec[] = [];
  for (const [head, width] of [
    ['cls', 1],
    ['obj', 1],
    ['bbox', 4],
    ['kps', 10],
  ] as const) {
    for (const s of YUNET_STRIDES) {
      outputs.push({ name: `${head}_${s}`, type: 'float32', dims: [1, (inputSize / s) ** 2, width] });
    }
  }
  return { inputs: ['input'], outputs };
}

const clamp01 = (v: number): number => (v < 0 ? 0 : v > 1 ? 1 : v);

/**
 * Decode the raw heads of a square `inputSize` input into faces whose score is at least
 * `scoreThreshold`, in source pixels: network pixels × `pixelsPerInput` (source side / input side
 * for a letterboxed frame). Pure; no NMS.
 */
export function decodeYunet(
  levels: readonly YuNetLevel[],
  inputSize: number,
  scoreThreshold: number,
  pixelsPerInput = 1,
): YuNetFace[] {
  const faces: YuNetFace[] = [];
  for (const { stride, cls, obj, bbox, kps } of levels) {
    const cols = inputSize / stride;
    const cells = cols * cols;
    const unit = stride * pixelsPerInput;
    for (let i = 0; i < cells; i++) {
      const score = Math.sqrt(clamp01(cls[i]!) * clamp01(obj[i]!));
      if (!(score >= scoreThreshold)) continue;
      const col = i % cols;
      const row = (i - col) / cols;
      const b = i * 4;
      const cx = (col + bbox[b]!) * unit;
      const cy = (row + bbox[b + 1]!) * unit;
      const width = Math.exp(bbox[b + 2]!) * unit;
      const height = Math.exp(bbox[b + 3]!) * unit;
      const landmarks: Point[] = [];
      for (let k = i * 10; k < i * 10 + 10; k += 2) {
        landmarks.push({ x: (col + kps[k]!) * unit, y: (row + kps[k + 1]!) * unit });
      }
      faces.push({ x: cx - width / 2, y: cy - height / 2, width, height, score, landmarks });
    }
  }
  return faces;
}

export interface YuNetDetectorOptions {
  /** Square network input side, px, a multiple of 32 (default 640: the 2023mar export's fixed size). */
  readonly inputSize?: number;
  /** Minimum face score, 0..1 exclusive (default 0.9, OpenCV FaceDetectorYN's). */
  readonly scoreThreshold?: number;
  /** NMS overlap (IoU) above which the weaker face is dropped, 0..1 (default 0.3, OpenCV's). */
  readonly iouThreshold?: number;
  /**
   * Candidates kept for NMS, best first (default 5000, OpenCV's top-k). Overflow policy: the
   * lowest-scoring candidates are dropped, bounding NMS's quadratic cost on a noisy frame.
   */
  readonly maxCandidates?: number;
}

function checkOptions(
  inputSize: number,
  scoreThreshold: number,
  iouThreshold: number,
  maxCandidates: number,
): void {
  const bad = (key: string, msg: string): never => {
    throw new EdgeloomError(ErrorCode.E_CONFIG, `yunet ${key} ${msg}`, { where: `face.detector.${key}` });
  };
  if (!Number.isInteger(inputSize) || inputSize <= 0 || inputSize % 32 !== 0) {
    bad('inputSize', `must be a positive multiple of 32, got ${inputSize}`);
  }
  if (!(scoreThreshold > 0 && scoreThreshold < 1))
    bad('scoreThreshold', `must be in (0, 1), got ${scoreThreshold}`);
  if (!(iouThreshold >= 0 && iouThreshold <= 1))
    bad('iouThreshold', `must be in [0, 1], got ${iouThreshold}`);
  if (!Number.isInteger(maxCandidates) || maxCandidates < 1) {
    bad('maxCandidates', `must be a positive integer, got ${maxCandidates}`);
  }
}

function floatOutput(out: Outputs, name: string, modelId: string): Float32Array {
  const t = out[name];
  if (t === undefined || !(t.data instanceof Float32Array)) {
    throw new EdgeloomError(
      ErrorCode.E_ONNX_OUTPUT,
      `model ${modelId}: output ${name} missing or not float32`,
      {
        where: modelId,
      },
    );
  }
  return t.data;
}

/** YuNet on ONNX Runtime. One preallocated input tensor, reused per frame. */
export class YuNetDetector implements FaceDetector {
  readonly modelId: string;
  private readonly model: FaceModelSession;
  private readonly inputSize: number;
  private readonly scoreThreshold: number;
  private readonly iouThreshold: number;
  private readonly maxCandidates: number;
  private readonly input: Float32Array;
  private readonly feeds: Feeds;

  constructor(model: FaceModelSession, options: YuNetDetectorOptions = {}) {
    this.inputSize = options.inputSize ?? 640;
    this.scoreThreshold = options.scoreThreshold ?? 0.9;
    this.iouThreshold = options.iouThreshold ?? 0.3;
    this.maxCandidates = options.maxCandidates ?? 5000;
    checkOptions(this.inputSize, this.scoreThreshold, this.iouThreshold, this.maxCandidates);
    this.model = model;
    this.modelId = model.modelId;
    this.input = new Float32Array(3 * this.inputSize * this.inputSize);
    this.feeds = { input: tensor('float32', this.input, [1, 3, this.inputSize, this.inputSize]) };
  }

  async detect(image: RgbImage): Promise<YuNetFace[]> {
    const size = this.inputSize;
    const canvas = bottomRightSquare(image.width, image.height);
    resizeBilinearToPlanar(image, canvas, size, this.input);
    // resizeBilinearToPlanar writes R, G, B planes; YuNet was trained on OpenCV's BGR order.
    const plane = size * size;
    const x = this.input;
    for (let i = 0, j = 2 * plane; i < plane; i++, j++) {
      const r = x[i]!;
      x[i] = x[j]!;
      x[j] = r;
    }
    const out = await this.model.run(this.feeds);
    const levels = YUNET_STRIDES.map((stride) => ({
      stride,
      cls: floatOutput(out, `cls_${stride}`, this.modelId),
      obj: floatOutput(out, `obj_${stride}`, this.modelId),
      bbox: floatOutput(out, `bbox_${stride}`, this.modelId),
      kps: floatOutput(out, `kps_${stride}`, this.modelId),
    }));
    let candidates = decodeYunet(levels, size, this.scoreThreshold, canvas.size / size);
    if (candidates.length > this.maxCandidates) {
      candidates = candidates.sort((a, b) => b.score - a.score).slice(0, this.maxCandidates);
    }
    return nonMaxSuppression(candidates, this.iouThreshold).map((i) => candidates[i]!);
  }
}
