import { describe, expect, it } from 'vitest';
import { type Feeds, OnnxModel, type Outputs, tensor } from '../../daemon/pipeline/onnx-session.js';
import { encodeModel, float, GraphBuilder } from '../../models/tools/onnx-writer.js';

/** Load through onnx-session (the project's only onnxruntime importer), run once, release. */
async function run(bytes: Uint8Array, feeds: Feeds): Promise<Outputs> {
  const model = await OnnxModel.load(bytes, { modelId: 'writer-test', outputs: [] });
  try {
    return await model.run(feeds);
  } finally {
    await model.release();
  }
}

describe('onnx-writer', () => {
  it('encodes Add with a broadcast initializer that onnxruntime runs', async () => {
    const g = new GraphBuilder('add');
    g.input('x', 'float32', ['batch', 3]);
    g.initializer('b', new Float32Array([1, 2.5, -3]), [1, 3]);
    g.node('Add', ['x', 'b'], ['y']);
    g.output('y', 'float32', ['batch', 3]);
    const out = await run(encodeModel({ graph: g, opset: 17, producer: 'test' }), {
      x: tensor('float32', new Float32Array([10, 20, 30, 40, 50, 60]), [2, 3]),
    });
    expect(Array.from(out.y!.data as Float32Array)).toEqual([11, 22.5, 27, 41, 52.5, 57]);
    expect(out.y!.dims).toEqual([2, 3]);
  });

  it('encodes Conv with int-list attributes, LeakyRelu with a float alpha and an int64 Reshape shape', async () => {
    // 1x1x3x3 input, one 2x2 filter of ones, stride 1, pads only bottom/right (TF "same" style).
    const g = new GraphBuilder('conv');
    g.input('x', 'float32', [1, 1, 3, 3]);
    g.initializer('w', new Float32Array([1, 1, 1, 1]), [1, 1, 2, 2]);
    g.initializer('bias', new Float32Array([-20]), [1]);
    g.initializer('shape', new BigInt64Array([-1n]), [1]);
    g.node('Conv', ['x', 'w', 'bias'], ['c'], { kernel_shape: [2, 2], pads: [0, 0, 1, 1], strides: [1, 1] });
    g.node('LeakyRelu', ['c'], ['l'], { alpha: float(0.5) });
    g.node('Reshape', ['l', 'shape'], ['y']);
    g.output('y', 'float32', [9]);
    const x = new Float32Array([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const out = await run(encodeModel({ graph: g, opset: 17, producer: 'test' }), {
      x: tensor('float32', x, [1, 1, 3, 3]),
    });
    // Expected by hand: each output is the sum of the 2x2 window (zero beyond the edge) minus 20.
    const expected: number[] = [];
    for (let r = 0; r < 3; r++) {
      for (let c = 0; c < 3; c++) {
        let s = -20;
        for (let dr = 0; dr < 2; dr++) {
          for (let dc = 0; dc < 2; dc++) {
            if (r + dr < 3 && c + dc < 3) s += x[(r + dr) * 3 + c + dc]!;
          }
        }
        expected.push(s >= 0 ? s : s * 0.5);
      }
    }
    expect(Array.from(out.y!.data as Float32Array)).toEqual(expected);
  });

  it('carries string and tensor attributes and model metadata', async () => {
    const g = new GraphBuilder('const');
    g.input('x', 'int32', [2]);
    g.node('Constant', [], ['k'], { value: { data: new Int32Array([7, -8]), dims: [2] } });
    g.node('Mul', ['x', 'k'], ['m']);
    // A string attribute that changes the result: reflect padding of [21, -32] by one on each side.
    g.initializer('pads', new BigInt64Array([1n, 1n]), [2]);
    g.node('Pad', ['m', 'pads'], ['y'], { mode: 'reflect' });
    g.output('y', 'int32', [4]);
    const bytes = encodeModel({ graph: g, opset: 18, producer: 'test', metadata: { source: 'unit' } });
    const out = await run(bytes, { x: tensor('int32', new Int32Array([3, 4]), [2]) });
    expect(Array.from(out.y!.data as Int32Array)).toEqual([-32, 21, -32, 21]);
  });

  it('rejects an opset older than 17 and an initializer whose dims do not match its data', () => {
    expect(() => encodeModel({ graph: new GraphBuilder(), opset: 13, producer: 't' })).toThrow(/opset/);
    expect(() => new GraphBuilder().initializer('w', new Float32Array(3), [2, 2])).toThrow(/dims/);
  });
});
