/**
 * Builds the face analyser from two manifest entries, choosing each implementation by the entry's
 * `format` (standard ONNX face models behind the same contracts; README, "Models and the memory
 * budget"):
 *
 * | format             | role       | implementation                       |
 * |--------------------|------------|--------------------------------------|
 * | faceapi-tiny-yolo  | detector   | TinyFaceDetector (face-api.ts)       |
 * | yunet              | detector   | YuNetDetector (yunet.ts)             |
 * | faceapi-expression | classifier | FaceApiExpressionNet (face-api.ts)   |
 * | ferplus            | classifier | FerPlusClassifier (ferplus.ts)       |
 *
 * Any detector pairs with any classifier: they meet only through FaceDetector / EmotionClassifier.
 */
import { EdgeloomError, ErrorCode } from '../../errors.js';
import type { ModelEntry } from '../../models/manifest.js';
import type { OnnxModel, OnnxModelOptions, OutputSpec } from '../onnx-session.js';
import {
  type EmotionClassifier,
  FaceAnalyser,
  type FaceAnalyserOptions,
  type FaceDetector,
} from './face-analyser.js';
import {
  FACE_API_SESSION_OPTIONS,
  FACE_EXPRESSION_IO,
  FaceApiExpressionNet,
  TINY_FACE_DETECTOR_IO,
  TinyFaceDetector,
} from './face-api.js';
import { FERPLUS_IO, FerPlusClassifier } from './ferplus.js';
import { YuNetDetector, yunetIo } from './yunet.js';

/** Opens one model session: OnnxModel.load, or a ModelManager-backed wrapper with the same shape. */
export type FaceSessionLoader = (
  source: string | Uint8Array,
  options: OnnxModelOptions,
) => Promise<OnnxModel>;

/** One model of the stage: its manifest entry and where its .onnx file is. */
export interface FaceModelChoice {
  /** `id` names the session (and the published modelId); `format` picks the code; `inputs` may fix the input size. */
  readonly entry: Pick<ModelEntry, 'id' | 'format' | 'inputs'>;
  /** Resolved path of the model file (or its bytes). */
  readonly source: string | Uint8Array;
}

export interface FaceFactoryOptions extends FaceAnalyserOptions {
  /**
   * Square detector input side, px, a multiple of 32 (config `input_size`). Used where the model
   * accepts any size (faceapi-tiny-yolo); a manifest entry declaring a fixed size (YuNet 2023mar:
   * 640) wins, since ONNX Runtime refuses any other shape.
   */
  readonly inputSize?: number;
  /** Minimum detection score, 0..1 (config `min_score`; default per detector). */
  readonly scoreThreshold?: number;
  /** NMS overlap above which the weaker box is dropped, 0..1 (config `iou_threshold`; default per detector). */
  readonly iouThreshold?: number;
  /**
   * Intra-op threads per session (default 1). Measured on the 2-core bench machine, a second
   * intra-op thread did not lower the face-api detector's best time (7.5 ms either way at 416)
   * and raised its median under load (9.3 → 11.9 ms), since the worker must be woken (spinning is
   * off) and waits whenever the other core is busy.
   */
  readonly intraOpNumThreads?: number;
}

export const DETECTOR_FORMATS = ['faceapi-tiny-yolo', 'yunet'] as const;
export const CLASSIFIER_FORMATS = ['faceapi-expression', 'ferplus'] as const;

interface Io {
  readonly inputs: readonly string[];
  readonly outputs: readonly OutputSpec[];
  /** Per-model session setting (face-api's nets measured faster with the arena, see face-api.ts). */
  readonly enableCpuMemArena?: boolean;
}

/** The fixed square side an entry's first input declares ([1, 3, S, S]), or undefined when symbolic. */
function declaredSquareSide(entry: FaceModelChoice['entry']): number | undefined {
  const dims = entry.inputs[0]?.dims;
  const h = dims?.[2];
  const w = dims?.[3];
  return typeof h === 'number' && h === w ? h : undefined;
}

function unsupported(entry: FaceModelChoice['entry'], role: string, formats: readonly string[]): never {
  throw new EdgeloomError(
    ErrorCode.E_MODEL_FORMAT,
    `model ${entry.id}: format ${entry.format} cannot be the face ${role} (supported: ${formats.join(', ')})`,
    { where: `face.${role}:${entry.id}` },
  );
}

type Build<T> = { io: Io; make: (session: OnnxModel) => T };

function detectorPlan(choice: FaceModelChoice, o: FaceFactoryOptions): Build<FaceDetector> {
  const { entry } = choice;
  const thresholds = {
    ...(o.scoreThreshold !== undefined ? { scoreThreshold: o.scoreThreshold } : {}),
    ...(o.iouThreshold !== undefined ? { iouThreshold: o.iouThreshold } : {}),
  };
  switch (entry.format) {
    case 'faceapi-tiny-yolo':
      return {
        io: { ...TINY_FACE_DETECTOR_IO, ...FACE_API_SESSION_OPTIONS },
        make: (s) =>
          new TinyFaceDetector(s, { ...thresholds, ...(o.inputSize ? { inputSize: o.inputSize } : {}) }),
      };
    case 'yunet': {
      const inputSize = declaredSquareSide(entry) ?? o.inputSize ?? 640;
      return { io: yunetIo(inputSize), make: (s) => new YuNetDetector(s, { ...thresholds, inputSize }) };
    }
    default:
      return unsupported(entry, 'detector', DETECTOR_FORMATS);
  }
}

function classifierPlan(choice: FaceModelChoice): Build<EmotionClassifier> {
  switch (choice.entry.format) {
    case 'faceapi-expression':
      return {
        io: { ...FACE_EXPRESSION_IO, ...FACE_API_SESSION_OPTIONS },
        make: (s) => new FaceApiExpressionNet(s),
      };
    case 'ferplus':
      return { io: FERPLUS_IO, make: (s) => new FerPlusClassifier(s) };
    default:
      return unsupported(choice.entry, 'classifier', CLASSIFIER_FORMATS);
  }
}

/**
 * Load the detector and classifier the two entries name and wire them into a FaceAnalyser. Formats
 * are checked before anything loads (`E_MODEL_FORMAT` naming the model id and the supported
 * formats); a failure after the first load releases what was loaded.
 */
export async function createFaceAnalyser(
  detector: FaceModelChoice,
  classifier: FaceModelChoice,
  load: FaceSessionLoader,
  options: FaceFactoryOptions = {},
): Promise<{ analyser: FaceAnalyser; models: OnnxModel[] }> {
  const detectorBuild = detectorPlan(detector, options);
  const classifierBuild = classifierPlan(classifier);
  const intraOpNumThreads = options.intraOpNumThreads ?? 1;
  const models: OnnxModel[] = [];
  try {
    const detectorModel = await load(detector.source, {
      modelId: detector.entry.id,
      intraOpNumThreads,
      ...detectorBuild.io,
    });
    models.push(detectorModel);
    const classifierModel = await load(classifier.source, {
      modelId: classifier.entry.id,
      intraOpNumThreads,
      ...classifierBuild.io,
    });
    models.push(classifierModel);
    const analyser = new FaceAnalyser(
      detectorBuild.make(detectorModel),
      classifierBuild.make(classifierModel),
      options,
    );
    return { analyser, models };
  } catch (err) {
    // A bad option or a second model that fails to load must not leak the session already open.
    await Promise.all(models.map((m) => m.release()));
    throw err;
  }
}

export interface FaceApiModelFiles {
  /** Path of tiny-face-detector.onnx (scripts/convert-face-api.ts output). */
  readonly detectorPath: string;
  /** Path of face-expression.onnx. */
  readonly expressionPath: string;
}

/**
 * The converted face-api pair by file path, without a manifest (the equivalence test and the face
 * benchmark). Session ids are `face-api-tiny-face-detector` and `face-api-expression`.
 */
export function loadFaceApiAnalyser(
  files: FaceApiModelFiles,
  load: FaceSessionLoader,
  options: FaceFactoryOptions = {},
): Promise<{ analyser: FaceAnalyser; models: OnnxModel[] }> {
  return createFaceAnalyser(
    {
      entry: { id: 'face-api-tiny-face-detector', format: 'faceapi-tiny-yolo', inputs: [] },
      source: files.detectorPath,
    },
    {
      entry: { id: 'face-api-expression', format: 'faceapi-expression', inputs: [] },
      source: files.expressionPath,
    },
    load,
    options,
  );
}
