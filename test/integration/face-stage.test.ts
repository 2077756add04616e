/** The face stage end to end on real models: CameraFrame in, FaceInference out; bad input is a coded error. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMOTIONS } from '../../daemon/bus/topics.js';
import { isEdgeloomError } from '../../daemon/errors.js';
import { FaceAnalyser, type FaceDetector } from '../../daemon/pipeline/face/face-analyser.js';
import { FaceApiExpressionNet, TinyFaceDetector } from '../../daemon/pipeline/face/face-api.js';
import { loadFaceApiAnalyser } from '../../daemon/pipeline/face/factory.js';
import { OnnxModel } from '../../daemon/pipeline/onnx-session.js';
import type { RgbImage } from '../../daemon/pipeline/preprocess/bilinear.js';
import { REPO_ROOT } from '../helpers/tools.js';

const files = {
  detectorPath: join(REPO_ROOT, 'models/face/tiny-face-detector.onnx'),
  expressionPath: join(REPO_ROOT, 'models/face/face-expression.onnx'),
};
const sample = (i: number): Buffer =>
  readFileSync(join(REPO_ROOT, `node_modules/@vladmandic/face-api/demo/sample${i}.jpg`));

describe('face stage', () => {
  let stage: FaceAnalyser;
  let limited: FaceAnalyser;
  const models: OnnxModel[] = [];

  beforeAll(async () => {
    const load = OnnxModel.load.bind(OnnxModel);
    const a = await loadFaceApiAnalyser(files, load, { intraOpNumThreads: 1 });
    const b = await loadFaceApiAnalyser(files, load, { intraOpNumThreads: 1, maxFaces: 2 });
    stage = a.analyser;
    limited = b.analyser;
    models.push(...a.models, ...b.models);
  });

  afterAll(async () => {
    for (const m of models) await m.release();
  });

  it('turns a JPEG camera frame into a FaceInference with boxes inside the frame and normalised probabilities', async () => {
    const result = await stage.process({ seq: 7, tsMs: 1234, width: 1920, height: 1537, jpeg: sample(6) });
    expect(result).toMatchObject({ frameSeq: 7, inputTsMs: 1234, width: 1920, height: 1537 });
    expect(result.modelId).toBe('face-api-tiny-face-detector+face-api-expression');
    expect(result.faces.length).toBeGreaterThan(2);
    expect(result.confidence).toBe(Math.max(...result.faces.map((f) => f.score)));
    for (const face of result.faces) {
      expect(face.box.x).toBeGreaterThanOrEqual(0);
      expect(face.box.y).toBeGreaterThanOrEqual(0);
      expect(face.box.x + face.box.width).toBeLessThanOrEqual(1920);
      expect(face.box.y + face.box.height).toBeLessThanOrEqual(1537);
      const probs = EMOTIONS.map((e) => face.probabilities[e]);
      expect(probs.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
      expect(face.probabilities[face.emotion]).toBe(Math.max(...probs));
    }
    expect(stage.lastTimings.decodeMs).toBeGreaterThan(0);
  });

  it('keeps only the best maxFaces faces and counts the rest', async () => {
    const all = await stage.process({ seq: 0, tsMs: 0, width: 0, height: 0, jpeg: sample(5) });
    const few = await limited.process({ seq: 0, tsMs: 0, width: 0, height: 0, jpeg: sample(5) });
    expect(all.faces.length).toBeGreaterThan(2);
    expect(few.faces).toHaveLength(2);
    expect(limited.droppedFaces).toBe(all.faces.length - 2);
    const best = [...all.faces].sort((a, b) => b.score - a.score).slice(0, 2);
    expect(few.faces.map((f) => f.score)).toEqual(best.map((f) => f.score));
  });

  it('reports an undecodable frame as E_IMAGE_DECODE and keeps working', async () => {
    const bad = Buffer.concat([
      Buffer.from([0xff, 0xd8, 0xff, 0xe0]),
      Buffer.alloc(64, 7),
      Buffer.from([0xff, 0xd9]),
    ]);
    const err = await stage
      .process({ seq: 1, tsMs: 0, width: 0, height: 0, jpeg: bad }, 'sensor/camera/front/frame')
      .catch((e: unknown) => e);
    expect(isEdgeloomError(err, 'E_IMAGE_DECODE')).toBe(true);
    expect((err as { where?: string }).where).toBe('sensor/camera/front/frame');
    const after = await stage.process({ seq: 2, tsMs: 0, width: 0, height: 0, jpeg: sample(2) });
    expect(after.faces.length).toBeGreaterThan(0);
  });

  it('frees each decoded frame once it is analysed, and when the analysis fails', async () => {
    // The real models behind a detector that shows the test the decoded image it was given.
    const [detectorModel, expressionModel] = models as [OnnxModel, OnnxModel];
    const real = new TinyFaceDetector(detectorModel);
    const seen: RgbImage[] = [];
    let fail = false;
    const watching: FaceDetector = {
      modelId: real.modelId,
      detect: async (image) => {
        seen.push(image);
        if (fail) throw new Error('detector failed');
        return real.detect(image);
      },
    };
    const analyser = new FaceAnalyser(watching, new FaceApiExpressionNet(expressionModel));
    const result = await analyser.process({ seq: 1, tsMs: 0, width: 0, height: 0, jpeg: sample(2) });
    expect(result.faces.length).toBeGreaterThan(0);
    fail = true;
    await expect(analyser.process({ seq: 2, tsMs: 0, width: 0, height: 0, jpeg: sample(2) })).rejects.toThrow(
      'detector failed',
    );
    // Detached (Node ≥ 22): V8 no longer counts its bytes towards the next full collection. Node
    // 20 has no way to detach, and keeps them until the collector finds them.
    const canRelease = typeof (ArrayBuffer.prototype as { transfer?: unknown }).transfer === 'function';
    expect(seen).toHaveLength(2);
    for (const image of seen)
      expect(image.data.byteLength).toBe(canRelease ? 0 : image.width * image.height * 3);
  });

  it('refuses a detector input size that is not a multiple of 32 when loading', async () => {
    await expect(
      loadFaceApiAnalyser(files, OnnxModel.load.bind(OnnxModel), { inputSize: 300 }),
    ).rejects.toMatchObject({ code: 'E_CONFIG' });
  });
});
