/**
 * The bundled face models: face-api's TinyFaceDetector and FaceExpressionNet on ONNX Runtime,
 * running the models that scripts/convert-face-api.ts builds from @vladmandic/face-api's weights,
 * with face-api's own pre- and post-processing (verified in
 * test/integration/face-equivalence.test.ts).
 */
import { type Box, EMOTIONS } from '../../bus/topics.js';
import { EdgeloomError, ErrorCode } from '../../errors.js';
import { type Feeds, type Outputs, tensor } from '../onnx-session.js';
import {
  bottomRightSquare,
  centredSquare,
  type RgbImage,
  resizeBilinearToPlanar,
} from '../preprocess/bilinear.js';
import { decodeTinyYoloGrid, type GridSpec, nonMaxSuppression, toPixelBox } from './boxes.js';
import type { DetectedFace, EmotionClassifier, FaceDetector, FaceModelSession } from './face-analyser.js';

export interface TinyFaceDetectorOptions {
  /** Square network input side, px, a multiple of 32 (face-api default 416; 320 or 224 are faster). */
  readonly inputSize?: number;
  /** Minimum detection score, 0..1 exclusive (face-api default 0.5). */
  readonly scoreThreshold?: number;
  /** NMS overlap above which the weaker box is dropped, 0..1 (face-api's TinyFaceDetector uses 0.4). */
  readonly iouThreshold?: number;
}

/** face-api's TinyFaceDetector anchors in grid cells (src/tinyFaceDetector/const.ts). */
const TINY_FACE_ANCHORS: readonly (readonly [number, number])[] = [
  [1.603231, 2.094468],
  [6.041143, 7.080126],
  [2.882459, 3.518061],
  [4.266906, 5.178857],
  [9.041765, 10.66308],
];

/** Output spec for OnnxModel.load of tiny-face-detector.onnx (grid cells = inputSize / 32). */
export const TINY_FACE_DETECTOR_IO = {
  inputs: ['image'],
  outputs: [{ name: 'grid', type: 'float32', dims: [1, 25, null, null] }],
} as const;

/**
 * Session options for both face-api models, beside their IO specs. The CPU arena is on
 * (OnnxModel's default is off): at 416² one detector run needs ~25 MB of activations, which glibc
 * serves from fresh mmap'd pages on every run without it. Measured over 120 frames of the 640×480
 * camera fixture: the detector's CPU per frame fell from 7.6 to 5.9 ms (1.7 ms had been kernel
 * time faulting those pages in), the expression net's from 1.6 to 1.2 ms, and process RSS from
 * 565 to 165 MB, since the arena reuses one block where malloc'd blocks were left scattered.
 */
export const FACE_API_SESSION_OPTIONS = { enableCpuMemArena: true } as const;

/** Output spec for OnnxModel.load of face-expression.onnx. */
export const FACE_EXPRESSION_IO = {
  inputs: ['face'],
  outputs: [{ name: 'probabilities', type: 'float32', dims: [null, 7] }],
} as const;

function output(out: Outputs, name: string, modelId: string): Float32Array {
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

/**
 * The detector's input for a frame: padded at the bottom right to a square, as face-api pads,
 * and resized to `inputSize`² planar RGB in `dst` (3 × inputSize² floats).
 */
export function tinyFaceDetectorInput(image: RgbImage, inputSize: number, dst: Float32Array): void {
  resizeBilinearToPlanar(image, bottomRightSquare(image.width, image.height), inputSize, dst);
}

/** face-api's TinyFaceDetector on ONNX Runtime. One preallocated input tensor, reused per frame. */
export class TinyFaceDetector implements FaceDetector {
  readonly modelId: string;
  private readonly model: FaceModelSession;
  private readonly spec: GridSpec;
  private readonly iouThreshold: number;
  private readonly input: Float32Array;
  private readonly feeds: Feeds;

  constructor(model: FaceModelSession, options: TinyFaceDetectorOptions = {}) {
    const inputSize = options.inputSize ?? 416;
    const scoreThreshold = options.scoreThreshold ?? 0.5;
    if (!Number.isInteger(inputSize) || inputSize <= 0 || inputSize % 32 !== 0) {
      throw new EdgeloomError(
        ErrorCode.E_CONFIG,
        `inputSize must be a positive multiple of 32, got ${inputSize}`,
        {
          where: 'face.detector.inputSize',
        },
      );
    }
    if (!(scoreThreshold > 0 && scoreThreshold < 1)) {
      throw new EdgeloomError(ErrorCode.E_CONFIG, `scoreThreshold must be in (0, 1), got ${scoreThreshold}`, {
        where: 'face.detector.scoreThreshold',
      });
    }
    this.model = model;
    this.modelId = model.modelId;
    this.spec = { anchors: TINY_FACE_ANCHORS, inputSize, scoreThreshold };
    this.iouThreshold = options.iouThreshold ?? 0.4;
    this.input = new Float32Array(3 * inputSize * inputSize);
    this.feeds = { image: tensor('float32', this.input, [1, 3, inputSize, inputSize]) };
  }

  async detect(image: RgbImage): Promise<DetectedFace[]> {
    const { inputSize } = this.spec;
    tinyFaceDetectorInput(image, inputSize, this.input);
    const out = await this.model.run(this.feeds);
    const grid = output(out, 'grid', this.modelId);
    const cells = inputSize / 32;
    const candidates = decodeTinyYoloGrid(grid, cells, this.spec, image.width, image.height);
    return nonMaxSuppression(candidates, this.iouThreshold, inputSize).map((i) => {
      const c = candidates[i]!;
      return { ...toPixelBox(c, image.width, image.height), score: c.score };
    });
  }
}

/** face-api's FaceExpressionNet on ONNX Runtime: all faces of a frame in one batched run. */
export class FaceApiExpressionNet implements EmotionClassifier {
  static readonly INPUT_SIZE = 112;
  readonly modelId: string;
  private readonly model: FaceModelSession;
  /** Grown on demand to the largest face count seen (bounded by FaceAnalyser's maxFaces). */
  private buffer = new Float32Array(0);

  constructor(model: FaceModelSession) {
    this.model = model;
    this.modelId = model.modelId;
  }

  async classify(image: RgbImage, faces: readonly Box[]): Promise<Float32Array[]> {
    if (faces.length === 0) return [];
    const size = FaceApiExpressionNet.INPUT_SIZE;
    const per = 3 * size * size;
    if (this.buffer.length < faces.length * per) this.buffer = new Float32Array(faces.length * per);
    faces.forEach((f, i) => {
      resizeBilinearToPlanar(image, centredSquare(f.x, f.y, f.width, f.height), size, this.buffer, i * per);
    });
    const data = this.buffer.subarray(0, faces.length * per);
    const out = await this.model.run({ face: tensor('float32', data, [faces.length, 3, size, size]) });
    const probs = output(out, 'probabilities', this.modelId);
    return faces.map((_, i) => probs.slice(i * EMOTIONS.length, (i + 1) * EMOTIONS.length));
  }
}
