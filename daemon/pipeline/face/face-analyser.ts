/**
 * The face analyser: camera JPEG → sharp decode → detector → boxes + NMS → crop each face →
 * expression classifier → FaceInference, one frame at a time (the bus side is face-stage.ts).
 * Models sit behind two small contracts so a standard ONNX detector (YuNet, UltraFace) or emotion
 * net (FER+) can replace the face-api conversions through a manifest entry: implement
 * FaceDetector / EmotionClassifier, hand them to FaceAnalyser (factory.ts picks them by format).
 * Implementations: face-api.ts (bundled), yunet.ts, ferplus.ts.
 */
import {
  type Box,
  type CameraFrame,
  EMOTIONS,
  type Emotion,
  type FaceInference,
  type FaceResult,
} from '../../bus/topics.js';
import { type Clock, SystemClock } from '../../util/clock.js';
import { releaseNow } from '../../util/release-now.js';
import type { OnnxModel } from '../onnx-session.js';
import type { RgbImage } from '../preprocess/bilinear.js';
import { decodeRgb } from '../preprocess/decode.js';
import { clipToFrame, cropRect, type ScoredBox } from './boxes.js';

/** What the face models need from a session (OnnxModel satisfies it; tests may pass their own). */
export type FaceModelSession = Pick<OnnxModel, 'modelId' | 'run'>;

/** A detected face in source-frame pixels (may extend past the frame edge, as the detector saw it). */
export type DetectedFace = ScoredBox;

/** Finds faces in a decoded frame. */
export interface FaceDetector {
  readonly modelId: string;
  detect(image: RgbImage): Promise<DetectedFace[]>;
}

/** Scores each face crop over EMOTIONS (in that order, summing to 1). */
export interface EmotionClassifier {
  readonly modelId: string;
  classify(image: RgbImage, faces: readonly Box[]): Promise<Float32Array[]>;
}

export interface FaceAnalyserOptions {
  /** Faces classified per frame, best scores first (default 8); further faces are dropped and counted. */
  readonly maxFaces?: number;
  /** Clock for latency (default: the system clock). */
  readonly clock?: Clock;
  /**
   * Largest image decoded, pixels as its header declares them (default: sharp's own 268 MP).
   * The pipeline passes four times the configured camera size (twice each side): a frame
   * declaring more is `E_IMAGE_DECODE` before a pixel is allocated.
   */
  readonly maxInputPixels?: number;
}

/** Time spent per step of the last frame, ms (for the benchmark and health). */
export interface FaceTimings {
  readonly decodeMs: number;
  readonly detectMs: number;
  readonly classifyMs: number;
}

/** Runs one frame at a time through decode → detect → classify. */
export class FaceAnalyser {
  private readonly detector: FaceDetector;
  private readonly classifier: EmotionClassifier;
  private readonly maxFaces: number;
  private readonly clock: Clock;
  private readonly maxInputPixels: number | undefined;
  /** Faces beyond maxFaces, summed over all frames. */
  droppedFaces = 0;
  lastTimings: FaceTimings = { decodeMs: 0, detectMs: 0, classifyMs: 0 };

  constructor(detector: FaceDetector, classifier: EmotionClassifier, options: FaceAnalyserOptions = {}) {
    this.detector = detector;
    this.classifier = classifier;
    this.maxFaces = options.maxFaces ?? 8;
    this.clock = options.clock ?? new SystemClock();
    this.maxInputPixels = options.maxInputPixels;
  }

  /** The model id FaceInference carries: detector and classifier joined. */
  get modelId(): string {
    return `${this.detector.modelId}+${this.classifier.modelId}`;
  }

  /** Decode and analyse one camera frame. Undecodable JPEG → `E_IMAGE_DECODE`. */
  async process(frame: CameraFrame, where = 'face'): Promise<FaceInference> {
    const t0 = this.clock.monotonicMs();
    const image = await decodeRgb(frame.jpeg, where, this.maxInputPixels);
    const t1 = this.clock.monotonicMs();
    let faces: FaceResult[];
    try {
      faces = await this.analyse(image);
    } finally {
      // The decoded frame (width × height × 3 bytes) is read by nothing after analyse: free it
      // now, or it counts towards V8's next full collection until a scavenge finds it dead.
      releaseNow(image.data);
    }
    const t2 = this.clock.monotonicMs();
    this.lastTimings = { ...this.lastTimings, decodeMs: t1 - t0 };
    return {
      modelId: this.modelId,
      confidence: faces.reduce((m, f) => Math.max(m, f.score), 0),
      latencyMs: t2 - t0,
      inputTsMs: frame.tsMs,
      frameSeq: frame.seq,
      width: image.width,
      height: image.height,
      faces,
    };
  }

  /** Detect and classify faces in an already decoded image; boxes are clipped to the frame. */
  async analyse(image: RgbImage): Promise<FaceResult[]> {
    const t0 = this.clock.monotonicMs();
    let detected = await this.detector.detect(image);
    const t1 = this.clock.monotonicMs();
    if (detected.length > this.maxFaces) {
      this.droppedFaces += detected.length - this.maxFaces;
      detected = [...detected].sort((a, b) => b.score - a.score).slice(0, this.maxFaces);
    }
    const kept: { face: DetectedFace; crop: Box }[] = [];
    for (const face of detected) {
      const crop = cropRect(face, image.width, image.height);
      if (crop !== null) kept.push({ face, crop });
    }
    const probabilities = await this.classifier.classify(
      image,
      kept.map((k) => k.crop),
    );
    this.lastTimings = { decodeMs: 0, detectMs: t1 - t0, classifyMs: this.clock.monotonicMs() - t1 };
    return kept.map(({ face }, i) => toResult(face, probabilities[i]!, image));
  }
}

function toResult(face: DetectedFace, probs: Float32Array, image: RgbImage): FaceResult {
  let best = 0;
  for (let k = 1; k < EMOTIONS.length; k++) if (probs[k]! > probs[best]!) best = k;
  const probabilities = Object.fromEntries(EMOTIONS.map((e, k) => [e, probs[k]!])) as Record<Emotion, number>;
  return {
    box: clipToFrame(face, image.width, image.height),
    score: face.score,
    emotion: EMOTIONS[best]!,
    probabilities,
  };
}
