/**
 * Converts @vladmandic/face-api's TF.js weights (tiny face detector, face expression net) into
 * ONNX models by re-building both architectures as ONNX graphs (face-api ships weights only; the
 * architectures are code in its src/). Run after `npm run build`:
 *
 *   node dist/scripts/convert-face-api.js [--weights node_modules/@vladmandic/face-api/model] [--out models/face]
 *
 * Writes tiny-face-detector.onnx, face-expression.onnx and checksums.json (sha256 of each) to --out.
 *
 * Layout: TF.js filters are [kh, kw, in, out] over NHWC images; ONNX Conv wants [out, in, kh, kw]
 * over NCHW. A TF separable conv is a grouped (depthwise) Conv followed by a 1x1 Conv that
 * carries the bias. TF's 'same' padding puts the odd pixel at the bottom/right, which is ONNX's
 * `auto_pad: SAME_UPPER`, so the graphs keep working at any input size face-api accepts.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { encodeModel, float, GraphBuilder } from '../models/tools/onnx-writer.js';

/** One dequantised weight tensor in TF.js layout. */
export interface TfWeight {
  readonly data: Float32Array;
  readonly shape: readonly number[];
}

interface ManifestWeight {
  readonly name: string;
  readonly shape: number[];
  readonly dtype: string;
  readonly quantization?: { dtype: string; scale: number; min: number };
}

/**
 * Read a TF.js weights manifest and its .bin shards. Weights are laid out back to back in
 * manifest order; each is either uint8-quantised (`q * scale + min`, computed in float64 and
 * stored as float32, exactly as tfjs-core's decodeWeight does) or raw little-endian float32.
 */
export function readTfjsWeights(manifestPath: string): Map<string, TfWeight> {
  const dir = resolve(manifestPath, '..');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as {
    paths: string[];
    weights: ManifestWeight[];
  }[];
  const out = new Map<string, TfWeight>();
  for (const group of manifest) {
    const bin = Buffer.concat(group.paths.map((p) => readFileSync(join(dir, p))));
    let offset = 0;
    for (const w of group.weights) {
      if (w.dtype !== 'float32') throw new Error(`${w.name}: unsupported dtype ${w.dtype}`);
      const count = w.shape.reduce((a, b) => a * b, 1);
      const data = new Float32Array(count);
      const q = w.quantization;
      if (q === undefined) {
        for (let i = 0; i < count; i++) data[i] = bin.readFloatLE(offset + i * 4);
        offset += count * 4;
      } else if (q.dtype === 'uint8') {
        for (let i = 0; i < count; i++) data[i] = bin[offset + i]! * q.scale + q.min;
        offset += count;
      } else {
        throw new Error(`${w.name}: unsupported quantization ${q.dtype}`);
      }
      out.set(w.name, { data, shape: w.shape });
    }
    if (offset !== bin.length)
      throw new Error(`${manifestPath}: read ${offset} of ${bin.length} weight bytes`);
  }
  return out;
}

function get(weights: Map<string, TfWeight>, name: string, rank: number): TfWeight {
  const w = weights.get(name);
  if (w === undefined) throw new Error(`weight ${name} missing`);
  if (w.shape.length !== rank) throw new Error(`weight ${name}: rank ${w.shape.length}, expected ${rank}`);
  return w;
}

/** [kh, kw, in, out] → [out, in, kh, kw]. Covers depthwise ([kh,kw,in,1] → [in,1,kh,kw] after the caller swaps) too. */
function hwioToOihw(w: TfWeight): { data: Float32Array; dims: number[] } {
  const [kh, kw, ci, co] = w.shape as [number, number, number, number];
  const data = new Float32Array(w.data.length);
  for (let h = 0; h < kh; h++) {
    for (let x = 0; x < kw; x++) {
      for (let i = 0; i < ci; i++) {
        for (let o = 0; o < co; o++) {
          data[((o * ci + i) * kh + h) * kw + x] = w.data[((h * kw + x) * ci + i) * co + o]!;
        }
      }
    }
  }
  return { data, dims: [co, ci, kh, kw] };
}

/** Depthwise [kh, kw, c, 1] → grouped-Conv weight [c, 1, kh, kw]. */
function depthwiseToOihw(w: TfWeight): { data: Float32Array; dims: number[] } {
  const [kh, kw, c] = w.shape as [number, number, number, number];
  const t = hwioToOihw({ data: w.data, shape: [kh, kw, 1, c] });
  return { data: t.data, dims: [c, 1, kh, kw] };
}

/** An input normalisation `(x − meanRgb) / divisor` (face-api's `normalize(x, meanRgb).div(255)`). */
interface InputAffine {
  /** Per-channel mean subtracted first; absent when the graph keeps its own Sub. */
  readonly meanRgb?: readonly number[];
  readonly divisor: number;
}

/**
 * Fold an input normalisation into the conv that consumes it: conv(W, (x − m) / d) + b =
 * conv(W / d, x) + (b − Σ W·m / d). Saves two full passes over the input tensor per frame (Sub,
 * Div: the detector's CPU time per 416² run fell from 6.3 to 5.9 ms). Exact in real
 * arithmetic; in float32 the results move by a few ulps (test/integration/face-equivalence.test.ts
 * bounds what that may cost). Computed in float64, rounded once.
 */
function foldInputAffine(
  filters: { data: Float32Array; dims: number[] },
  bias: Float32Array,
  affine: InputAffine,
): { filters: { data: Float32Array; dims: number[] }; bias: Float32Array } {
  const [co, ci, kh, kw] = filters.dims as [number, number, number, number];
  if (affine.meanRgb !== undefined && affine.meanRgb.length !== ci) {
    throw new Error(`mean has ${affine.meanRgb.length} channels, conv input has ${ci}`);
  }
  const data = new Float32Array(filters.data.length);
  const folded = new Float32Array(co);
  const taps = kh * kw;
  for (let o = 0; o < co; o++) {
    let shift = 0;
    for (let i = 0; i < ci; i++) {
      for (let t = 0; t < taps; t++) {
        const at = (o * ci + i) * taps + t;
        const w = filters.data[at]! / affine.divisor;
        data[at] = w;
        shift += w * (affine.meanRgb?.[i] ?? 0);
      }
    }
    folded[o] = bias[o]! - shift;
  }
  return { filters: { data, dims: filters.dims }, bias: folded };
}

/** Small helper binding a GraphBuilder to a weight map, naming intermediate values uniquely. */
class NetBuilder {
  readonly g: GraphBuilder;
  private readonly weights: Map<string, TfWeight>;
  private n = 0;

  constructor(name: string, weights: Map<string, TfWeight>) {
    this.g = new GraphBuilder(name);
    this.weights = weights;
  }

  private next(tag: string): string {
    return `${tag}_${this.n++}`;
  }

  /**
   * Regular conv (`prefix/filters`, `prefix/bias`) with TF padding 'valid' or 'same'. `folded`
   * moves the input normalisation that precedes it into its weights (see foldInputAffine).
   */
  conv(x: string, prefix: string, stride: number, padding: 'valid' | 'same', folded?: InputAffine): string {
    let f = hwioToOihw(get(this.weights, `${prefix}/filters`, 4));
    let bias = get(this.weights, `${prefix}/bias`, 1).data;
    if (folded !== undefined) {
      if (folded.meanRgb !== undefined && padding !== 'valid') {
        // With 'same' the zero padding sits after the mean subtraction; folded, it would not.
        throw new Error(`${prefix}: a mean can only be folded into a 'valid' conv`);
      }
      ({ filters: f, bias } = foldInputAffine(f, bias, folded));
    }
    this.g.initializer(`${prefix}/filters`, f.data, f.dims);
    this.g.initializer(`${prefix}/bias`, bias, [bias.length]);
    return this.g.node('Conv', [x, `${prefix}/filters`, `${prefix}/bias`], [this.next(prefix)], {
      kernel_shape: f.dims.slice(2),
      strides: [stride, stride],
      ...(padding === 'same' ? { auto_pad: 'SAME_UPPER' } : { pads: [0, 0, 0, 0] }),
    });
  }

  /**
   * TF separableConv2d + bias: depthwise grouped Conv (no bias), then a 1x1 Conv with the bias.
   * `pads` gives explicit symmetric padding (face-api's tinyYolov2 pads by 1 then runs 'valid');
   * otherwise TF 'same' padding.
   */
  separable(x: string, prefix: string, stride: number, pads?: number): string {
    const dw = depthwiseToOihw(get(this.weights, `${prefix}/depthwise_filter`, 4));
    const pw = hwioToOihw(get(this.weights, `${prefix}/pointwise_filter`, 4));
    const b = get(this.weights, `${prefix}/bias`, 1);
    const channels = dw.dims[0]!;
    this.g.initializer(`${prefix}/depthwise_filter`, dw.data, dw.dims);
    this.g.initializer(`${prefix}/pointwise_filter`, pw.data, pw.dims);
    this.g.initializer(`${prefix}/bias`, b.data, [b.data.length]);
    const depthwise = this.g.node('Conv', [x, `${prefix}/depthwise_filter`], [this.next(`${prefix}/dw`)], {
      group: channels,
      kernel_shape: dw.dims.slice(2),
      strides: [stride, stride],
      ...(pads === undefined ? { auto_pad: 'SAME_UPPER' } : { pads: [pads, pads, pads, pads] }),
    });
    return this.g.node(
      'Conv',
      [depthwise, `${prefix}/pointwise_filter`, `${prefix}/bias`],
      [this.next(`${prefix}/pw`)],
      { kernel_shape: [1, 1], strides: [1, 1] },
    );
  }

  op(opType: string, inputs: string[], attrs: Parameters<GraphBuilder['node']>[3] = {}): string {
    return this.g.node(opType, inputs, [this.next(opType.toLowerCase())], attrs);
  }

  /** Subtract a per-channel mean (the first half of face-api's normalisation; the /255 is folded). */
  subtractMean(x: string, meanRgb: readonly number[]): string {
    this.g.initializer('mean_rgb', new Float32Array(meanRgb), [1, 3, 1, 1]);
    return this.op('Sub', [x, 'mean_rgb']);
  }
}

/** face-api's TinyFaceDetector mean (src/tinyFaceDetector/const.ts). */
export const DETECTOR_MEAN_RGB = [117.001, 114.697, 97.404] as const;
/** face-api's TinyFaceDetector anchors in grid cells (src/tinyFaceDetector/const.ts). */
export const DETECTOR_ANCHORS = [
  [1.603231, 2.094468],
  [6.041143, 7.080126],
  [2.882459, 3.518061],
  [4.266906, 5.178857],
  [9.041765, 10.66308],
] as const;
/** face-api's FaceFeatureExtractor mean (src/faceFeatureExtractor/FaceFeatureExtractor.ts). */
export const EXPRESSION_MEAN_RGB = [122.782, 117.001, 104.298] as const;

/**
 * TinyFaceDetector (TinyYolov2Base.runMobilenet with isFirstLayerConv2d, 7 filter sizes):
 * input `image` [1, 3, S, S] float RGB 0..255 (already padded to square and resized),
 * output `grid` [1, 25, S/32, S/32] raw (5 anchors × [tx, ty, tw, th, objectness]).
 */
export function buildTinyFaceDetector(weights: Map<string, TfWeight>): GraphBuilder {
  const b = new NetBuilder('tiny_face_detector', weights);
  b.g.input('image', 'float32', [1, 3, 'size', 'size']);
  // leaky() in face-api is relu(x - 0.1x) + 0.1x, i.e. LeakyRelu with alpha 0.1.
  const leaky = (v: string): string => b.op('LeakyRelu', [v], { alpha: float(0.10000000149011612) });
  const maxPool = (v: string, stride: number): string =>
    b.op('MaxPool', [v], { kernel_shape: [2, 2], strides: [stride, stride], auto_pad: 'SAME_UPPER' });
  // conv0 is 'valid' (no padding), so the whole normalisation folds into it.
  const normalised = { meanRgb: DETECTOR_MEAN_RGB, divisor: 255 };
  let x = maxPool(leaky(b.conv('image', 'conv0', 1, 'valid', normalised)), 2);
  for (const layer of ['conv1', 'conv2', 'conv3', 'conv4'])
    x = maxPool(leaky(b.separable(x, layer, 1, 1)), 2);
  x = maxPool(leaky(b.separable(x, 'conv5', 1, 1)), 1);
  const grid = b.conv(x, 'conv8', 1, 'valid');
  b.g.node('Identity', [grid], ['grid']);
  b.g.output('grid', 'float32', [1, 25, 'cells', 'cells']);
  return b.g;
}

/**
 * FaceExpressionNet = FaceFeatureExtractor (4 dense blocks of separable convs, 7x7 average pool)
 * + fully connected 256 → 7 + softmax. Input `face` [N, 3, 112, 112] float RGB 0..255 (crop
 * padded to square, centred, resized); output `probabilities` [N, 7] in face-api's class order.
 */
export function buildFaceExpressionNet(weights: Map<string, TfWeight>): GraphBuilder {
  const b = new NetBuilder('face_expression', weights);
  b.g.input('face', 'float32', ['faces', 3, 112, 112]);
  // dense0/conv0 pads ('same') after the mean subtraction, so only the /255 folds into it.
  let x = b.subtractMean('face', EXPRESSION_MEAN_RGB);
  const relu = (v: string): string => b.op('Relu', [v]);
  const add = (l: string, r: string): string => b.op('Add', [l, r]);
  for (const [i, block] of ['dense0', 'dense1', 'dense2', 'dense3'].entries()) {
    // denseBlock4 in face-api; the additions keep its association order so float rounding matches.
    const out1 = relu(
      i === 0
        ? b.conv(x, `${block}/conv0`, 2, 'same', { divisor: 255 })
        : b.separable(x, `${block}/conv0`, 2),
    );
    const out2 = b.separable(out1, `${block}/conv1`, 1);
    const out3 = b.separable(relu(add(out1, out2)), `${block}/conv2`, 1);
    const out4 = b.separable(relu(add(out1, add(out2, out3))), `${block}/conv3`, 1);
    x = relu(add(out1, add(out2, add(out3, out4))));
  }
  x = b.op('AveragePool', [x], { kernel_shape: [7, 7], strides: [2, 2], pads: [0, 0, 0, 0] });
  x = b.op('Flatten', [x], { axis: 1 });
  const fcW = get(weights, 'fc/weights', 2);
  const fcB = get(weights, 'fc/bias', 1);
  b.g.initializer('fc/weights', fcW.data, fcW.shape);
  b.g.initializer('fc/bias', fcB.data, [fcB.data.length]);
  const logits = b.op('Add', [b.op('MatMul', [x, 'fc/weights']), 'fc/bias']);
  b.g.node('Softmax', [logits], ['probabilities'], { axis: -1 });
  b.g.output('probabilities', 'float32', ['faces', 7]);
  return b.g;
}

export interface ConvertedModel {
  readonly file: string;
  readonly sha256: string;
  readonly bytes: number;
}

const PRODUCER = 'edgeloom scripts/convert-face-api.ts';

/** Build both models from `weightsDir` and write them plus checksums.json into `outDir`. */
export function convertFaceApi(weightsDir: string, outDir: string): ConvertedModel[] {
  const models: [string, GraphBuilder][] = [
    [
      'tiny-face-detector.onnx',
      buildTinyFaceDetector(
        readTfjsWeights(join(weightsDir, 'tiny_face_detector_model-weights_manifest.json')),
      ),
    ],
    [
      'face-expression.onnx',
      buildFaceExpressionNet(
        readTfjsWeights(join(weightsDir, 'face_expression_model-weights_manifest.json')),
      ),
    ],
  ];
  mkdirSync(outDir, { recursive: true });
  const converted: ConvertedModel[] = [];
  for (const [file, graph] of models) {
    const bytes = encodeModel({
      graph,
      opset: 17,
      producer: PRODUCER,
      metadata: { source: '@vladmandic/face-api 1.7.15 model/', license: 'MIT' },
    });
    writeFileSync(join(outDir, file), bytes);
    converted.push({ file, sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length });
  }
  const checksums = Object.fromEntries(converted.map((c) => [c.file, { sha256: c.sha256, bytes: c.bytes }]));
  writeFileSync(join(outDir, 'checksums.json'), `${JSON.stringify(checksums, null, 2)}\n`);
  return converted;
}

function argValue(args: string[], flag: string, fallback: string): string {
  const i = args.indexOf(flag);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : fallback;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const weightsDir = resolve(argValue(args, '--weights', 'node_modules/@vladmandic/face-api/model'));
  const outDir = resolve(argValue(args, '--out', 'models/face'));
  for (const m of convertFaceApi(weightsDir, outDir)) {
    process.stdout.write(`${m.file}  ${m.bytes} bytes  sha256 ${m.sha256}\n`);
  }
}
