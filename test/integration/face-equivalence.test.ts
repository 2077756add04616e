/**
 * Proof that the ONNX face stage is face-api: the converted models plus our pre/post-processing
 * against @vladmandic/face-api on tfjs-wasm, on the same decoded pixels. Same faces in the same
 * order, boxes within 1 px, expression probabilities within 0.001.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMOTIONS } from '../../daemon/bus/topics.js';
import { clipToFrame } from '../../daemon/pipeline/face/boxes.js';
import type { FaceAnalyser } from '../../daemon/pipeline/face/face-analyser.js';
import { loadFaceApiAnalyser } from '../../daemon/pipeline/face/factory.js';
import { OnnxModel } from '../../daemon/pipeline/onnx-session.js';
import type { RgbImage } from '../../daemon/pipeline/preprocess/bilinear.js';
import { decodeRgb } from '../../daemon/pipeline/preprocess/decode.js';
import { FaceApiBaseline } from '../bench/faceapi-baseline.js';
import { needs, REPO_ROOT } from '../helpers/tools.js';

/** scikit-image's sample photos, from Debian's python3-skimage (installed by .ci/run). */
const SKIMAGE = '/usr/lib/python3/dist-packages/skimage/data';
const DEMO = join(REPO_ROOT, 'node_modules/@vladmandic/face-api/demo');
const IMAGES: Record<string, string> = {
  astronaut: join(SKIMAGE, 'astronaut.png'),
  coffee: join(SKIMAGE, 'coffee.png'),
  ...Object.fromEntries([1, 2, 3, 4, 5, 6].map((i) => [`sample${i}`, join(DEMO, `sample${i}.jpg`)])),
};

describe.runIf(needs({ files: Object.values(IMAGES) }))('face stage ≡ face-api (tfjs-wasm)', () => {
  let baseline: FaceApiBaseline;
  let stage: FaceAnalyser;
  let models: OnnxModel[] = [];
  const decoded = new Map<string, RgbImage>();

  beforeAll(async () => {
    baseline = await FaceApiBaseline.load(REPO_ROOT);
    ({ analyser: stage, models } = await loadFaceApiAnalyser(
      {
        detectorPath: join(REPO_ROOT, 'models/face/tiny-face-detector.onnx'),
        expressionPath: join(REPO_ROOT, 'models/face/face-expression.onnx'),
      },
      OnnxModel.load.bind(OnnxModel),
    ));
    for (const [name, file] of Object.entries(IMAGES))
      decoded.set(name, await decodeRgb(readFileSync(file), file));
  });

  afterAll(async () => {
    for (const m of models) await m.release();
  });

  for (const name of Object.keys(IMAGES)) {
    it(`${name}: same faces, boxes within 1 px, probabilities within 0.001`, async () => {
      const image = decoded.get(name)!;
      const expected = await baseline.detect(image);
      const actual = await stage.analyse(image);
      expect(actual.length).toBe(expected.length);
      actual.forEach((face, i) => {
        const want = expected[i]!;
        const box = clipToFrame(want.box, image.width, image.height);
        expect(Math.abs(face.box.x - box.x)).toBeLessThanOrEqual(1);
        expect(Math.abs(face.box.y - box.y)).toBeLessThanOrEqual(1);
        expect(Math.abs(face.box.width - box.width)).toBeLessThanOrEqual(1);
        expect(Math.abs(face.box.height - box.height)).toBeLessThanOrEqual(1);
        expect(Math.abs(face.score - want.score)).toBeLessThanOrEqual(0.001);
        for (const e of EMOTIONS)
          expect(Math.abs(face.probabilities[e] - want.probabilities[e])).toBeLessThanOrEqual(0.001);
      });
    });
  }

  it('finds the astronaut, happy, and no face in the coffee photo', async () => {
    const astronaut = await stage.analyse(decoded.get('astronaut')!);
    expect(astronaut).toHaveLength(1);
    expect(astronaut[0]!.emotion).toBe('happy');
    expect(await stage.analyse(decoded.get('coffee')!)).toHaveLength(0);
  });

  it('the group photos contain several faces (the comparison above is not vacuous)', async () => {
    let total = 0;
    for (let i = 1; i <= 6; i++) total += (await stage.analyse(decoded.get(`sample${i}`)!)).length;
    expect(total).toBeGreaterThan(6);
  });
});
