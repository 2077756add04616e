/**
 * FER+ (ONNX Model Zoo emotion-ferplus-8.onnx) behind the EmotionClassifier contract: an
 * alternative to face-api's expression net, picked by the manifest format `ferplus`
 * (daemon/pipeline/face/factory.ts).
 *
 * The model: input `Input3` [1, 1, 64, 64], one greyscale face, float 0..255 with no
 * normalisation (the model zoo's preprocessing: PIL `convert('L')`, resize to 64 × 64); output
 * `Plus692_Output_0` [1, 8], unnormalised scores over FER+'s classes in this order.
 */
import { type Box, EMOTIONS, type Emotion } from '../../bus/topics.js';
import { EdgeloomError, ErrorCode } from '../../errors.js';
import type { OutputSpec } from '../onnx-session.js';
import { tensor } from '../onnx-session.js';
import { type PaddedRegion, type RgbImage, resizeBilinearToPlanar } from '../preprocess/bilinear.js';
import type { EmotionClassifier, FaceModelSession } from './face-analyser.js';

/** FER+'s classes in the order of the model's output (onnx/models emotion_ferplus README). */
export const FERPLUS_CLASSES = [
  'neutral',
  'happiness',
  'surprise',
  'sadness',
  'anger',
  'disgust',
  'fear',
  'contempt',
] as const;

/**
 * Where each FER+ class lands among the project's EMOTIONS. Contempt has no class of its own here
 * (face-api's seven are Ekman's six basic emotions plus neutral); it is added to `disgusted`, its
 * nearest neighbour (both are expressions of rejection; Ekman added contempt later as a relative
 * of disgust), so the seven probabilities still sum to 1 and the evidence is kept instead of being
 * renormalised away. A contemptuous face therefore reads as disgusted.
 */
const CLASS_TO_EMOTION: readonly Emotion[] = [
  'neutral',
  'happy',
  'surprised',
  'sad',
  'angry',
  'disgusted',
  'fearful',
  'disgusted',
];
const EMOTION_SLOT = CLASS_TO_EMOTION.map((e) => EMOTIONS.indexOf(e));

/** Input side of FER+, px. */
export const FERPLUS_INPUT_SIZE = 64;

/** Input and output declarations for OnnxModel.load of emotion-ferplus-8.onnx. */
export const FERPLUS_IO: { inputs: readonly string[]; outputs: readonly OutputSpec[] } = {
  inputs: ['Input3'],
  outputs: [{ name: 'Plus692_Output_0', type: 'float32', dims: [1, FERPLUS_CLASSES.length] }],
};

/**
 * FER+ scores (8, model order) → probabilities over EMOTIONS (7, summing to 1): a softmax (max
 * subtracted for stability), then contempt folded into disgusted.
 */
export function ferplusToEmotions(logits: ArrayLike<number>): Float32Array {
  let max = Number.NEGATIVE_INFINITY;
  for (let k = 0; k < FERPLUS_CLASSES.length; k++) max = Math.max(max, logits[k]!);
  const exp = new Float64Array(FERPLUS_CLASSES.length);
  let sum = 0;
  for (let k = 0; k < exp.length; k++) {
    exp[k] = Math.exp(logits[k]! - max);
    sum += exp[k]!;
  }
  const out = new Float64Array(EMOTIONS.length);
  for (let k = 0; k < exp.length; k++) out[EMOTION_SLOT[k]!]! += exp[k]! / sum;
  return Float32Array.from(out);
}

/**
 * The square around a face box (side = its longer edge, same centre) as a canvas region: the part
 * inside the image is drawn, any part outside stays zero. FER+ was trained on square face crops, so
 * the short side is widened with real pixels instead of being stretched.
 */
export function squareAround(face: Box, imageWidth: number, imageHeight: number): PaddedRegion {
  const size = Math.max(1, Math.round(Math.max(face.width, face.height)));
  const sx = Math.round(face.x + face.width / 2 - size / 2);
  const sy = Math.round(face.y + face.height / 2 - size / 2);
  const x = Math.max(0, sx);
  const y = Math.max(0, sy);
  return {
    x,
    y,
    width: Math.max(0, Math.min(sx + size, imageWidth) - x),
    height: Math.max(0, Math.min(sy + size, imageHeight) - y),
    left: x - sx,
    top: y - sy,
    size,
  };
}

/** FER+ on ONNX Runtime: one face per run (the export's batch is fixed at 1). */
export class FerPlusClassifier implements EmotionClassifier {
  readonly modelId: string;
  private readonly model: FaceModelSession;
  /** RGB planes of the resized crop, then folded to grey into `grey`. */
  private readonly rgb = new Float32Array(3 * FERPLUS_INPUT_SIZE ** 2);
  private readonly grey = new Float32Array(FERPLUS_INPUT_SIZE ** 2);

  constructor(model: FaceModelSession) {
    this.model = model;
    this.modelId = model.modelId;
  }

  async classify(image: RgbImage, faces: readonly Box[]): Promise<Float32Array[]> {
    const size = FERPLUS_INPUT_SIZE;
    const plane = size * size;
    const results: Float32Array[] = [];
    for (const face of faces) {
      resizeBilinearToPlanar(image, squareAround(face, image.width, image.height), size, this.rgb);
      // ITU-R 601-2 luma, what PIL's convert('L') computes for the model zoo's preprocessing.
      for (let i = 0; i < plane; i++) {
        this.grey[i] = this.rgb[i]! * 0.299 + this.rgb[plane + i]! * 0.587 + this.rgb[2 * plane + i]! * 0.114;
      }
      const out = await this.model.run({ Input3: tensor('float32', this.grey, [1, 1, size, size]) });
      const logits = out.Plus692_Output_0;
      if (logits === undefined || !(logits.data instanceof Float32Array)) {
        throw new EdgeloomError(
          ErrorCode.E_ONNX_OUTPUT,
          `model ${this.modelId}: output Plus692_Output_0 missing or not float32`,
          {
            where: this.modelId,
          },
        );
      }
      results.push(ferplusToEmotions(logits.data));
    }
    return results;
  }
}
