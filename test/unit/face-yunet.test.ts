/** YuNet decoding (pure): OpenCV FaceDetectorYN's formulas on hand-built head outputs. */
import { describe, expect, it } from 'vitest';
import { isEdgeloomError } from '../../daemon/errors.js';
import {
  decodeYunet,
  YUNET_STRIDES,
  YuNetDetector,
  type YuNetLevel,
  yunetIo,
} from '../../daemon/pipeline/face/yunet.js';

const INPUT = 64;

/** Empty heads for every stride of a INPUT × INPUT input. */
function emptyLevels(): YuNetLevel[] {
  return YUNET_STRIDES.map((stride) => {
    const cells = (INPUT / stride) ** 2;
    return {
      stride,
      cls: new Float32Array(cells),
      obj: new Float32Array(cells),
      bbox: new Float32Array(cells * 4),
      kps: new Float32Array(cells * 10),
    };
  });
}

function plant(
  level: YuNetLevel,
  row: number,
  col: number,
  cls: number,
  obj: number,
  bbox: number[],
  kps: number[],
): void {
  const i = row * (INPUT / level.stride) + col;
  level.cls[i] = cls;
  level.obj[i] = obj;
  level.bbox.set(bbox, i * 4);
  level.kps.set(kps, i * 10);
}

describe('decodeYunet', () => {
  it('decodes a planted cell to centre (cell + offset) × stride, size exp(delta) × stride, scaled to source pixels', () => {
    const levels = emptyLevels();
    const kps = [0.1, 0.2, 0.9, 0.2, 0.5, 0.5, 0.2, 0.8, 0.8, 0.9];
    plant(levels[1]!, 2, 3, 0.81, 1, [0.25, 0.75, Math.log(3), Math.log(2)], kps);
    const scale = 2.5;
    const faces = decodeYunet(levels, INPUT, 0.5, scale);
    expect(faces).toHaveLength(1);
    const f = faces[0]!;
    const unit = 16 * scale;
    expect(f.score).toBeCloseTo(Math.sqrt(0.81), 6);
    expect(f.x + f.width / 2).toBeCloseTo((3 + 0.25) * unit, 4);
    expect(f.y + f.height / 2).toBeCloseTo((2 + 0.75) * unit, 4);
    expect(f.width).toBeCloseTo(3 * unit, 4);
    expect(f.height).toBeCloseTo(2 * unit, 4);
    expect(f.landmarks).toHaveLength(5);
    f.landmarks.forEach((p, k) => {
      expect(p.x).toBeCloseTo((3 + kps[2 * k]!) * unit, 4);
      expect(p.y).toBeCloseTo((2 + kps[2 * k + 1]!) * unit, 4);
    });
  });

  it('clamps cls and obj to 0..1 before the geometric mean and applies the threshold inclusively', () => {
    const levels = emptyLevels();
    plant(levels[0]!, 0, 0, 1.7, 1.2, [0, 0, 0, 0], new Array(10).fill(0));
    plant(levels[0]!, 1, 1, -0.5, 1, [0, 0, 0, 0], new Array(10).fill(0));
    plant(levels[2]!, 1, 0, 0.25, 1, [0, 0, 0, 0], new Array(10).fill(0));
    const faces = decodeYunet(levels, INPUT, 0.5);
    expect(faces.map((f) => f.score)).toEqual([1, 0.5]);
    expect(decodeYunet(levels, INPUT, 0.51).map((f) => f.score)).toEqual([1]);
  });

  it('walks cells row-major: index = row × cols + col', () => {
    const levels = emptyLevels();
    plant(levels[0]!, 5, 2, 1, 1, [0, 0, 0, 0], new Array(10).fill(0));
    const [f] = decodeYunet(levels, INPUT, 0.5);
    expect(f!.x + f!.width / 2).toBeCloseTo(2 * 8, 6);
    expect(f!.y + f!.height / 2).toBeCloseTo(5 * 8, 6);
  });
});

describe('yunetIo', () => {
  it('declares the twelve heads with (input / stride)² cells each', () => {
    const io = yunetIo(640);
    expect(io.inputs).toEqual(['input']);
    expect(io.outputs).toHaveLength(12);
    expect(io.outputs.find((o) => o.name === 'kps_8')?.dims).toEqual([1, 6400, 10]);
    expect(io.outputs.find((o) => o.name === 'bbox_32')?.dims).toEqual([1, 400, 4]);
    expect(io.outputs.find((o) => o.name === 'cls_16')?.dims).toEqual([1, 1600, 1]);
  });
});

describe('YuNetDetector options', () => {
  const session = { modelId: 'yunet-x', run: async () => ({}) };
  it.each([
    [{ inputSize: 100 }, 'inputSize'],
    [{ scoreThreshold: 1 }, 'scoreThreshold'],
    [{ iouThreshold: 1.5 }, 'iouThreshold'],
    [{ maxCandidates: 0 }, 'maxCandidates'],
  ])('rejects %o naming the key', (options, key) => {
    try {
      new YuNetDetector(session, options);
      expect.unreachable();
    } catch (err) {
      expect(isEdgeloomError(err, 'E_CONFIG')).toBe(true);
      expect((err as Error).message).toContain(key);
    }
  });
});
