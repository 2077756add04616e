/**
 * Small ONNX models with exactly the I/O of the standard face models edgeloom accepts (YuNet
 * 2023mar, FER+ 8), whose outputs are known functions of the input. The real weights cannot be
 * downloaded here (no network), so tests run the real loading, pre-processing and decoding code on
 * these instead, through real ONNX Runtime sessions.
 *
 * - YuNet: `cls_s` = mean of the input's channel 0 (blue, in YuNet's BGR order) over each s × s
 *   cell, / 255; `obj_s`, `bbox_s`, `kps_s` are constants, zero except at planted cells. A planted
 *   cell therefore scores sqrt(blueness × obj) and decodes to the box and landmarks planted there.
 * - FER+: logit k = `gain` × mean of rows 8k..8k+7 of the grey 64 × 64 input / 255, so a face
 *   whose k-th horizontal band is bright scores class k.
 *
 * Usage: `node dist/scripts/make-face-standard-test-models.js <out-dir>` writes yunet-test.onnx and
 * ferplus-test.onnx (the tests build them in memory; the files are for trying the CLI by hand).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { encodeModel, GraphBuilder } from '../models/tools/onnx-writer.js';

/** A face planted in the YuNet test model at one cell of one stride. */
export interface PlantedCell {
  readonly stride: 8 | 16 | 32;
  readonly row: number;
  readonly col: number;
  /** Raw objectness (the decoder clamps it to 0..1). */
  readonly obj: number;
  /** Centre offset in cells (x, y) and log size in strides (w, h). */
  readonly bbox: readonly [number, number, number, number];
  /** Five landmarks as (x, y) offsets in cells. */
  readonly kps: readonly number[];
}

export interface YunetTestModelOptions {
  /** Square input side, px (default 640, the real export's). */
  readonly inputSize?: number;
  readonly planted: readonly PlantedCell[];
  /** Values per cell of kps_* (default 10, the real layout; anything else makes a wrong-shaped model). */
  readonly kpsWidth?: number;
}

const STRIDES = [8, 16, 32] as const;
const int64 = (values: readonly number[]): BigInt64Array => BigInt64Array.from(values.map((v) => BigInt(v)));

/** YuNet-shaped test model; see the file comment for what it computes. */
export function buildYunetTestModel(options: YunetTestModelOptions): Uint8Array {
  const size = options.inputSize ?? 640;
  const kpsWidth = options.kpsWidth ?? 10;
  const g = new GraphBuilder('yunet-test');
  g.input('input', 'float32', [1, 3, size, size]);
  g.initializer('blue_starts', int64([0]), [1]);
  g.initializer('blue_ends', int64([1]), [1]);
  g.initializer('blue_axes', int64([1]), [1]);
  g.initializer('inv255', new Float32Array([1 / 255]), []);
  const blue = g.node('Slice', ['input', 'blue_starts', 'blue_ends', 'blue_axes'], ['blue']);
  for (const s of STRIDES) {
    const cols = size / s;
    const cells = cols * cols;
    const pooled = g.node('AveragePool', [blue], [`pool_${s}`], { kernel_shape: [s, s], strides: [s, s] });
    const scaled = g.node('Mul', [pooled, 'inv255'], [`blue_${s}`]);
    g.initializer(`cls_shape_${s}`, int64([1, cells, 1]), [3]);
    g.node('Reshape', [scaled, `cls_shape_${s}`], [`cls_${s}`]);
    const obj = new Float32Array(cells);
    const bbox = new Float32Array(cells * 4);
    const kps = new Float32Array(cells * kpsWidth);
    for (const p of options.planted.filter((c) => c.stride === s)) {
      const i = p.row * cols + p.col;
      obj[i] = p.obj;
      bbox.set(p.bbox, i * 4);
      kps.set(p.kps.slice(0, kpsWidth), i * kpsWidth);
    }
    for (const [name, data, width] of [
      ['obj', obj, 1],
      ['bbox', bbox, 4],
      ['kps', kps, kpsWidth],
    ] as const) {
      g.initializer(`${name}_${s}_const`, data, [1, cells, width]);
      g.node('Identity', [`${name}_${s}_const`], [`${name}_${s}`]);
    }
  }
  for (const [head, width] of [
    ['cls', 1],
    ['obj', 1],
    ['bbox', 4],
    ['kps', kpsWidth],
  ] as const) {
    for (const s of STRIDES) g.output(`${head}_${s}`, 'float32', [1, (size / s) ** 2, width]);
  }
  return encodeModel({ graph: g, opset: 17, producer: 'edgeloom-face-standard-test' });
}

export interface FerplusTestModelOptions {
  /** Logit of a band that is white (255) throughout (default 10). */
  readonly gain?: number;
  /** Classes in the output (default 8, the real layout; anything else makes a wrong-shaped model). */
  readonly classes?: number;
}

/** FER+-shaped test model; see the file comment for what it computes. */
export function buildFerplusTestModel(options: FerplusTestModelOptions = {}): Uint8Array {
  const gain = options.gain ?? 10;
  const classes = options.classes ?? 8;
  const side = 64;
  const bandRows = side / 8;
  const g = new GraphBuilder('ferplus-test');
  g.input('Input3', 'float32', [1, 1, side, side]);
  g.initializer('flat_shape', int64([1, side * side]), [2]);
  const weights = new Float32Array(side * side * classes);
  const perPixel = gain / (bandRows * side * 255);
  for (let p = 0; p < side * side; p++) {
    const band = Math.floor(p / side / bandRows);
    if (band < classes) weights[p * classes + band] = perPixel;
  }
  g.initializer('weights', weights, [side * side, classes]);
  g.initializer('bias', new Float32Array(classes), [classes]);
  const flat = g.node('Reshape', ['Input3', 'flat_shape'], ['flat']);
  const logits = g.node('MatMul', [flat, 'weights'], ['logits']);
  g.node('Add', [logits, 'bias'], ['Plus692_Output_0']);
  g.output('Plus692_Output_0', 'float32', [1, classes]);
  return encodeModel({ graph: g, opset: 17, producer: 'edgeloom-face-standard-test' });
}

/** One planted face per stride, for trying the CLI by hand. */
const DEMO_PLANTED: readonly PlantedCell[] = [
  {
    stride: 16,
    row: 10,
    col: 12,
    obj: 1,
    bbox: [0.5, 0.5, Math.log(4), Math.log(5)],
    kps: [0, 0, 1, 0, 0.5, 0.5, 0, 1, 1, 1],
  },
];

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const outDir = process.argv[2];
  if (outDir === undefined) {
    console.error('usage: make-face-standard-test-models.js <out-dir>');
    process.exit(2);
  }
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, 'yunet-test.onnx'), buildYunetTestModel({ planted: DEMO_PLANTED }));
  writeFileSync(join(outDir, 'ferplus-test.onnx'), buildFerplusTestModel());
  console.log(`wrote ${outDir}/yunet-test.onnx and ${outDir}/ferplus-test.onnx`);
}
