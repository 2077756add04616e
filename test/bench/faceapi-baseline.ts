/**
 * The baseline for the face stage: @vladmandic/face-api itself on TensorFlow.js's wasm backend
 * (dev dependency), loaded from the local node_modules (no network). Used by the equivalence test
 * and the benchmark.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { EMOTIONS, type Emotion } from '../../daemon/bus/topics.js';
import type { RgbImage } from '../../daemon/pipeline/preprocess/bilinear.js';

export interface BaselineFace {
  readonly box: { x: number; y: number; width: number; height: number };
  readonly score: number;
  readonly probabilities: Record<Emotion, number>;
}

interface TfTensor {
  dispose(): void;
}
interface FaceApiModule {
  tf: {
    setBackend(name: string): Promise<boolean>;
    ready(): Promise<void>;
    getBackend(): string;
    tensor3d(data: Int32Array, shape: [number, number, number], dtype: 'int32'): TfTensor;
  };
  nets: Record<'tinyFaceDetector' | 'faceExpressionNet', { loadFromDisk(dir: string): Promise<void> }>;
  TinyFaceDetectorOptions: new (o: { inputSize: number; scoreThreshold: number }) => unknown;
  detectAllFaces(
    input: TfTensor,
    options: unknown,
  ): {
    withFaceExpressions(): Promise<
      {
        detection: { score: number; box: { x: number; y: number; width: number; height: number } };
        expressions: Record<string, number>;
      }[]
    >;
  };
}

/** face-api with both nets loaded on the wasm backend. */
export class FaceApiBaseline {
  private constructor(
    private readonly api: FaceApiModule,
    private readonly inputSize: number,
    private readonly scoreThreshold: number,
  ) {}

  static async load(repoRoot: string, inputSize = 416, scoreThreshold = 0.5): Promise<FaceApiBaseline> {
    const require = createRequire(join(repoRoot, 'package.json'));
    const api = require('@vladmandic/face-api/dist/face-api.node-wasm.js') as FaceApiModule;
    const wasm = require('@tensorflow/tfjs-backend-wasm') as { setWasmPaths(prefix: string): void };
    wasm.setWasmPaths(join(repoRoot, 'node_modules/@tensorflow/tfjs-backend-wasm/dist/'));
    await api.tf.setBackend('wasm');
    await api.tf.ready();
    if (api.tf.getBackend() !== 'wasm') throw new Error(`face-api runs on ${api.tf.getBackend()}, not wasm`);
    const modelDir = join(repoRoot, 'node_modules/@vladmandic/face-api/model');
    await api.nets.tinyFaceDetector.loadFromDisk(modelDir);
    await api.nets.faceExpressionNet.loadFromDisk(modelDir);
    return new FaceApiBaseline(api, inputSize, scoreThreshold);
  }

  /** detectAllFaces(...).withFaceExpressions() on decoded RGB pixels (the same pixels the ONNX path gets). */
  async detect(image: RgbImage): Promise<BaselineFace[]> {
    const t = this.api.tf.tensor3d(new Int32Array(image.data), [image.height, image.width, 3], 'int32');
    try {
      const options = new this.api.TinyFaceDetectorOptions({
        inputSize: this.inputSize,
        scoreThreshold: this.scoreThreshold,
      });
      const results = await this.api.detectAllFaces(t, options).withFaceExpressions();
      return results.map((r) => ({
        box: {
          x: r.detection.box.x,
          y: r.detection.box.y,
          width: r.detection.box.width,
          height: r.detection.box.height,
        },
        score: r.detection.score,
        probabilities: Object.fromEntries(EMOTIONS.map((e) => [e, r.expressions[e] ?? Number.NaN])) as Record<
          Emotion,
          number
        >,
      }));
    } finally {
      t.dispose();
    }
  }
}
