/**
 * A dependency-free ONNX model writer: build a graph in code, get the protobuf bytes of a
 * `ModelProto` that onnxruntime loads. Used by the model converters (scripts/convert-*.ts) and
 * by tests that need a small synthetic model.
 *
 * ```ts
 * const g = new GraphBuilder('add');
 * g.input('x', 'float32', [1, 3]);
 * g.initializer('b', new Float32Array([1, 2, 3]), [1, 3]);
 * g.node('Add', ['x', 'b'], ['y']);
 * g.output('y', 'float32', [1, 3]);
 * const bytes = encodeModel({ graph: g, opset: 17, producer: 'edgeloom' });
 * ```
 *
 * Field numbers below are those of onnx/onnx.proto (proto2 syntax, IR version 8+). Repeated
 * scalars are written unpacked (one tag per element), which every protobuf parser accepts for
 * proto2 fields; tensor payloads go in `raw_data` (little-endian), which is what onnxruntime
 * reads fastest.
 */

// ---------------------------------------------------------------- protobuf wire format

const WIRE_VARINT = 0;
const WIRE_FIXED32 = 5;
const WIRE_LEN = 2;

/** Growable byte sink with the handful of protobuf primitives the ONNX messages need. */
class ProtoWriter {
  private buf = new Uint8Array(256);
  private len = 0;

  private ensure(extra: number): void {
    if (this.len + extra <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + extra) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  private byte(b: number): void {
    this.ensure(1);
    this.buf[this.len++] = b;
  }

  /** Base-128 varint; negative int64 values are written as 10-byte two's complement. */
  private varint(value: number | bigint): void {
    if (typeof value === 'number' && value >= 0 && value <= Number.MAX_SAFE_INTEGER) {
      let v = value;
      while (v >= 0x80) {
        this.byte((v % 0x80) | 0x80);
        v = Math.floor(v / 0x80);
      }
      this.byte(v);
      return;
    }
    let v = BigInt.asUintN(64, BigInt(value));
    while (v >= 0x80n) {
      this.byte(Number(v & 0x7fn) | 0x80);
      v >>= 7n;
    }
    this.byte(Number(v));
  }

  private tag(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  int(field: number, value: number | bigint): void {
    this.tag(field, WIRE_VARINT);
    this.varint(value);
  }

  float(field: number, value: number): void {
    this.tag(field, WIRE_FIXED32);
    this.ensure(4);
    new DataView(this.buf.buffer, this.buf.byteOffset + this.len, 4).setFloat32(0, value, true);
    this.len += 4;
  }

  bytes(field: number, data: Uint8Array): void {
    this.tag(field, WIRE_LEN);
    this.varint(data.length);
    this.ensure(data.length);
    this.buf.set(data, this.len);
    this.len += data.length;
  }

  string(field: number, value: string): void {
    this.bytes(field, new TextEncoder().encode(value));
  }

  /** An embedded message: encoded separately, then written length-prefixed. */
  message(field: number, write: (w: ProtoWriter) => void): void {
    const inner = new ProtoWriter();
    write(inner);
    this.bytes(field, inner.finish());
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

// ---------------------------------------------------------------- ONNX data model

/** Element types this writer knows; values are TensorProto.DataType enum numbers. */
export const DATA_TYPES = {
  float32: 1,
  uint8: 2,
  int8: 3,
  int32: 6,
  int64: 7,
  bool: 9,
} as const;
export type DType = keyof typeof DATA_TYPES;

/** Tensor payloads an initializer or tensor attribute may carry. */
export type TensorData = Float32Array | Int32Array | BigInt64Array | Uint8Array | Int8Array;

/** A dimension: a fixed size, or a symbolic name (e.g. `'batch'`) for a dynamic one. */
export type Dim = number | string;

export interface TensorValue {
  readonly data: TensorData;
  readonly dims: readonly number[];
  /** Needed only to tell `uint8` from `bool` (both Uint8Array); defaults from the array type. */
  readonly dtype?: DType;
}

/**
 * An attribute value. Plain JS values are typed by shape: an integer number → INT, a
 * non-integer number → FLOAT, a string → STRING, an array of integers → INTS, other number arrays
 * → FLOATS, a {data, dims} object → TENSOR. Where that guess is wrong (a float attribute whose
 * value happens to be whole, like `alpha: 1`), wrap it: `float(1)`, `floats([1, 2])`.
 */
export type AttrValue =
  | number
  | string
  | readonly number[]
  | TensorValue
  | { readonly kind: 'float'; readonly value: number }
  | { readonly kind: 'floats'; readonly value: readonly number[] }
  | { readonly kind: 'int'; readonly value: number }
  | { readonly kind: 'ints'; readonly value: readonly number[] };

/** Force an attribute to FLOAT even when the value is a whole number. */
export const float = (value: number): AttrValue => ({ kind: 'float', value });
/** Force an attribute to FLOATS even when every value is whole. */
export const floats = (value: readonly number[]): AttrValue => ({ kind: 'floats', value });
/** Force an attribute to INT (throws later if the value is not an integer). */
export const int = (value: number): AttrValue => ({ kind: 'int', value });
/** Force an attribute to INTS (e.g. an empty list, which would otherwise be ambiguous). */
export const ints = (value: readonly number[]): AttrValue => ({ kind: 'ints', value });

interface ValueInfo {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly Dim[];
}

interface NodeDef {
  readonly opType: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly attrs: Readonly<Record<string, AttrValue>>;
  readonly name: string;
  readonly domain: string;
}

interface Initializer extends TensorValue {
  readonly name: string;
}

/** Collects inputs, initializers, nodes and outputs in order; nodes must be topologically sorted. */
export class GraphBuilder {
  readonly name: string;
  readonly inputs: ValueInfo[] = [];
  readonly outputs: ValueInfo[] = [];
  readonly initializers: Initializer[] = [];
  readonly nodes: NodeDef[] = [];
  private readonly names = new Set<string>();

  constructor(name = 'graph') {
    this.name = name;
  }

  /** Declare a graph input. */
  input(name: string, dtype: DType, shape: readonly Dim[]): this {
    this.claim(name);
    this.inputs.push({ name, dtype, shape });
    return this;
  }

  /** Declare a graph output (must be produced by some node). */
  output(name: string, dtype: DType, shape: readonly Dim[]): this {
    this.outputs.push({ name, dtype, shape });
    return this;
  }

  /** A constant weight tensor; `dims` must multiply out to `data.length`. */
  initializer(name: string, data: TensorData, dims: readonly number[], dtype?: DType): this {
    const count = dims.reduce((a, b) => a * b, 1);
    if (count !== data.length) {
      throw new Error(
        `initializer ${name}: dims [${dims.join(',')}] hold ${count} values, data has ${data.length}`,
      );
    }
    this.claim(name);
    this.initializers.push(dtype === undefined ? { name, data, dims } : { name, data, dims, dtype });
    return this;
  }

  /**
   * Append an operator. An empty string in `inputs` marks an omitted optional input.
   * Returns the first output name so calls can be chained into the next node's inputs.
   */
  node(
    opType: string,
    inputs: readonly string[],
    outputs: readonly string[],
    attrs: Readonly<Record<string, AttrValue>> = {},
    options: { name?: string; domain?: string } = {},
  ): string {
    for (const out of outputs) this.claim(out);
    this.nodes.push({
      opType,
      inputs,
      outputs,
      attrs,
      name: options.name ?? `${opType}_${this.nodes.length}`,
      domain: options.domain ?? '',
    });
    return outputs[0] ?? '';
  }

  private claim(name: string): void {
    if (this.names.has(name)) throw new Error(`graph ${this.name}: value name ${name} defined twice`);
    this.names.add(name);
  }
}

// ---------------------------------------------------------------- encoders

function dtypeOf(t: TensorValue): DType {
  if (t.dtype !== undefined) return t.dtype;
  if (t.data instanceof Float32Array) return 'float32';
  if (t.data instanceof Int32Array) return 'int32';
  if (t.data instanceof BigInt64Array) return 'int64';
  if (t.data instanceof Int8Array) return 'int8';
  return 'uint8';
}

/** Little-endian bytes of a typed array (all supported hosts are little-endian; checked once). */
function rawBytes(data: TensorData): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}
if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) {
  throw new Error('onnx-writer assumes a little-endian host (ONNX raw_data is little-endian)');
}

/**
 * TensorProto: dims = 1 (repeated int64), data_type = 2 (int32 enum), name = 8, raw_data = 9.
 */
function writeTensor(w: ProtoWriter, t: TensorValue, name?: string): void {
  for (const d of t.dims) w.int(1, d);
  w.int(2, DATA_TYPES[dtypeOf(t)]);
  if (name !== undefined) w.string(8, name);
  w.bytes(9, rawBytes(t.data));
}

/**
 * ValueInfoProto: name = 1, type = 2 (TypeProto). TypeProto: tensor_type = 1 (TypeProto.Tensor).
 * TypeProto.Tensor: elem_type = 1, shape = 2 (TensorShapeProto). TensorShapeProto: dim = 1
 * (Dimension). Dimension: dim_value = 1 (int64), dim_param = 2 (string).
 */
function writeValueInfo(w: ProtoWriter, v: ValueInfo): void {
  w.string(1, v.name);
  w.message(2, (type) =>
    type.message(1, (tensor) => {
      tensor.int(1, DATA_TYPES[v.dtype]);
      tensor.message(2, (shape) => {
        for (const d of v.shape) {
          shape.message(1, (dim) => (typeof d === 'number' ? dim.int(1, d) : dim.string(2, d)));
        }
      });
    }),
  );
}

function isTensorValue(v: AttrValue): v is TensorValue {
  return typeof v === 'object' && 'data' in v && 'dims' in v;
}

/**
 * AttributeProto: name = 1, f = 2 (float), i = 3 (int64), s = 4 (bytes), t = 5 (TensorProto),
 * floats = 7, ints = 8, type = 20 (AttributeType: FLOAT 1, INT 2, STRING 3, TENSOR 4,
 * FLOATS 6, INTS 7).
 */
function writeAttribute(w: ProtoWriter, name: string, value: AttrValue): void {
  w.string(1, name);
  const writeInts = (list: readonly number[]): void => {
    for (const i of list) {
      if (!Number.isInteger(i)) throw new Error(`attribute ${name}: ${i} is not an integer`);
      w.int(8, i);
    }
    w.int(20, 7);
  };
  const writeFloats = (list: readonly number[]): void => {
    for (const f of list) w.float(7, f);
    w.int(20, 6);
  };
  if (typeof value === 'string') {
    w.string(4, value);
    w.int(20, 3);
  } else if (typeof value === 'number') {
    if (Number.isInteger(value)) {
      w.int(3, value);
      w.int(20, 2);
    } else {
      w.float(2, value);
      w.int(20, 1);
    }
  } else if (Array.isArray(value)) {
    const list = value as readonly number[];
    if (list.every((x) => Number.isInteger(x))) writeInts(list);
    else writeFloats(list);
  } else if (isTensorValue(value)) {
    w.message(5, (t) => writeTensor(t, value));
    w.int(20, 4);
  } else {
    const tagged = value as Exclude<AttrValue, number | string | readonly number[] | TensorValue>;
    switch (tagged.kind) {
      case 'float':
        w.float(2, tagged.value);
        w.int(20, 1);
        break;
      case 'floats':
        writeFloats(tagged.value);
        break;
      case 'int':
        if (!Number.isInteger(tagged.value))
          throw new Error(`attribute ${name}: ${tagged.value} is not an integer`);
        w.int(3, tagged.value);
        w.int(20, 2);
        break;
      case 'ints':
        writeInts(tagged.value);
        break;
    }
  }
}

/** NodeProto: input = 1, output = 2, name = 3, op_type = 4, attribute = 5, domain = 7. */
function writeNode(w: ProtoWriter, n: NodeDef): void {
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  w.string(3, n.name);
  w.string(4, n.opType);
  for (const [key, value] of Object.entries(n.attrs)) w.message(5, (a) => writeAttribute(a, key, value));
  if (n.domain !== '') w.string(7, n.domain);
}

/** GraphProto: node = 1, name = 2, initializer = 5, input = 11, output = 12. */
function writeGraph(w: ProtoWriter, g: GraphBuilder): void {
  for (const n of g.nodes) w.message(1, (m) => writeNode(m, n));
  w.string(2, g.name);
  for (const t of g.initializers) w.message(5, (m) => writeTensor(m, t, t.name));
  for (const v of g.inputs) w.message(11, (m) => writeValueInfo(m, v));
  for (const v of g.outputs) w.message(12, (m) => writeValueInfo(m, v));
}

export interface ModelOptions {
  readonly graph: GraphBuilder;
  /** Default-domain opset version; 17 or later. */
  readonly opset: number;
  /** Written to producer_name, so a model says which converter made it. */
  readonly producer: string;
  readonly producerVersion?: string;
  /** ModelProto.ir_version; defaults to the lowest IR that carries the opset (8 for 17, 9 for 18–19, 10 for 20+). */
  readonly irVersion?: number;
  /** Free-form key/value metadata (source, licence, ...), readable from onnxruntime's session metadata. */
  readonly metadata?: Readonly<Record<string, string>>;
}

/**
 * ModelProto: ir_version = 1, producer_name = 2, producer_version = 3, graph = 7,
 * opset_import = 8 (OperatorSetIdProto: domain = 1, version = 2), metadata_props = 14
 * (StringStringEntryProto: key = 1, value = 2).
 */
export function encodeModel(options: ModelOptions): Uint8Array {
  const { graph, opset } = options;
  if (!Number.isInteger(opset) || opset < 17) throw new Error(`opset must be an integer >= 17, got ${opset}`);
  const irVersion = options.irVersion ?? (opset >= 20 ? 10 : opset >= 18 ? 9 : 8);
  const w = new ProtoWriter();
  w.int(1, irVersion);
  w.string(2, options.producer);
  if (options.producerVersion !== undefined) w.string(3, options.producerVersion);
  w.message(7, (m) => writeGraph(m, graph));
  w.message(8, (m) => {
    m.string(1, '');
    m.int(2, opset);
  });
  for (const [key, value] of Object.entries(options.metadata ?? {})) {
    w.message(14, (m) => {
      m.string(1, key);
      m.string(2, value);
    });
  }
  return w.finish();
}
