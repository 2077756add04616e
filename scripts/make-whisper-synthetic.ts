/**
 * Generates Whisper models with made-up weights in exactly the optimum export layout that
 * daemon/pipeline/stt/whisper reads (onnx/encoder_model.onnx, onnx/decoder_model_merged.onnx and the
 * four JSON files), built op by op with models/tools/onnx-writer.ts (opset 17).
 *
 * - `tiny`: d_model 32, 2 heads, 1 + 1 layers, 80 mel bins, 1500 encoder positions, a ~380-token
 *   byte-level vocabulary with the special tokens in Whisper's relative order. Small enough to
 *   commit (models/whisper-synthetic-tiny). Its output layer is shaped on purpose: token t's
 *   embedding dominates the residual stream, and the projection column of a chosen "successor"
 *   of t is aligned with it, so greedy decoding walks the chain
 *   <|notimestamps|> → " hello" → " from" → " edge" → "loom" → <|endoftext|>
 *   ("hello from edgeloom"). The text is thus fixed by design, but it is produced by the real
 *   path (log-mel → encoder → cross-attention → KV-cached decoder → detokeniser).
 * - `full`: whisper-tiny's real dimensions (4 + 4 layers, d_model 384, 6 heads, FFN 1536, vocab
 *   51 865, tied output projection) with random weights, so compute and memory match the real
 *   model; generated for benchmarks into .bench/ (gitignored), never committed.
 *
 * Encoder time axis (`encoderTime`, default 'fixed'), the one thing that decides whether an
 * encoder window shorter than 30 s can run (see pipeline.stt.encoder_window_s):
 * - `fixed`: input_features declared [batch_size, 80, 3000], the whole 1500-row position table
 *   added. The layout models/manifest.json records for onnx-community/whisper-tiny; the committed
 *   tiny model.
 * - `symbolic`: the time axis declared dynamic (`encoder_sequence_length`, as optimum's
 *   AudioToTextOnnxConfig declares it) but the whole table still added, as transformers'
 *   WhisperEncoder.forward does (`inputs_embeds + embed_positions.weight`): the metadata says any
 *   length, ONNX Runtime refuses every length but 3000 at the Add (a broadcast error).
 * - `sliced`: dynamic, and the table sliced to the conv output's length (what whisper.cpp's
 *   `audio_ctx` does, and sherpa-onnx's own whisper exports since k2-fsa/sherpa-onnx#471): runs
 *   any even number of frames up to 3000. Weights are drawn in the same order in every mode, so
 *   a `sliced` model has exactly the `fixed` one's weights.
 *
 * The merged decoder has no `If` node (the writer has no subgraphs): `use_cache_branch` gates the
 * cross-attention input instead. The encoder states are sliced to 0 rows when the cache branch is
 * taken, so the projection costs nothing, and the result is concatenated after the past
 * cross-attention keys/values: first step (empty past) → fresh projection, later steps → the past
 * unchanged. Self-attention concatenates past and new keys in both branches, as optimum's do.
 *
 * Usage: node dist/scripts/make-whisper-synthetic.js tiny|full <outDir> [fixed|symbolic|sliced]
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { BYTE_TO_UNICODE } from '../daemon/pipeline/stt/whisper/tokenizer.js';
import { encodeModel, GraphBuilder, type TensorData } from '../models/tools/onnx-writer.js';

export interface SyntheticWhisperSpec {
  readonly kind: 'tiny' | 'full';
  readonly dModel: number;
  readonly heads: number;
  readonly encoderLayers: number;
  readonly decoderLayers: number;
  readonly ffnDim: number;
  readonly nMels: number;
  /** Encoder positions after the stride-2 conv (1500 for 30 s). */
  readonly encoderPositions: number;
  readonly maxTargetPositions: number;
  /** Language codes, in Whisper's order (the first N of it). */
  readonly languages: readonly string[];
  /** Timestamp tokens <|0.00|>, <|0.02|>, ... */
  readonly timestamps: number;
  /** Non-special tokens (bytes + merges + filler); Whisper: 50 257. */
  readonly baseVocab: number;
  readonly seed: number;
  /** How the encoder's time axis is declared and its position table applied (see the header; default 'fixed'). */
  readonly encoderTime?: EncoderTimeAxis;
}

export type EncoderTimeAxis = 'fixed' | 'symbolic' | 'sliced';

/** Whisper's 99 languages in token order (openai/whisper tokenizer.py LANGUAGES). */
export const WHISPER_LANGUAGES = (
  'en zh de es ru ko fr ja pt tr pl ca nl ar sv it id hi fi vi he uk el ms cs ro da hu ta no th ur hr bg lt la mi ml ' +
  'cy sk te fa lv bn sr az sl kn et mk br eu is hy ne mn bs kk sq sw gl mr pa si km sn yo so af oc ka be tg sd gu am ' +
  'yi lo uz fo ht ps tk nn mt sa lb my bo tl mg as tt haw ln ha ba jw su'
).split(' ');

/** The words of the tiny model's vocabulary (each gets prefix merges) and its designed output. */
const TINY_WORDS = [' hello', ' from', ' edge', 'loom'];
export const TINY_EXPECTED_TEXT = 'hello from edgeloom';

export const TINY_SPEC: SyntheticWhisperSpec = {
  kind: 'tiny',
  dModel: 32,
  heads: 2,
  encoderLayers: 1,
  decoderLayers: 1,
  ffnDim: 128,
  nMels: 80,
  encoderPositions: 1500,
  maxTargetPositions: 448,
  languages: WHISPER_LANGUAGES.slice(0, 8),
  timestamps: 51,
  baseVocab: 0, // bytes + merges, computed
  seed: 20240607,
};

export const FULL_SPEC: SyntheticWhisperSpec = {
  kind: 'full',
  dModel: 384,
  heads: 6,
  encoderLayers: 4,
  decoderLayers: 4,
  ffnDim: 1536,
  nMels: 80,
  encoderPositions: 1500,
  maxTargetPositions: 448,
  languages: WHISPER_LANGUAGES,
  timestamps: 1501,
  baseVocab: 50_257,
  seed: 7,
};

/** mulberry32: tiny, fast, seedable; good enough for weights that only need to be reproducible. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// ---------------------------------------------------------------- vocabulary

interface Vocab {
  readonly tokens: string[];
  readonly merges: string[];
  readonly special: Map<string, number>;
}

function buildVocab(spec: SyntheticWhisperSpec): Vocab {
  // GPT-2 order: the byte table's characters, printable bytes first (space is id 220, as in Whisper).
  const order: number[] = [];
  for (let b = 0; b < 256; b++) if (BYTE_TO_UNICODE[b]!.codePointAt(0)! < 256) order.push(b);
  for (let b = 0; b < 256; b++) if (BYTE_TO_UNICODE[b]!.codePointAt(0)! >= 256) order.push(b);
  const tokens = order.map((b) => BYTE_TO_UNICODE[b]!);
  const merges: string[] = [];
  const seen = new Set(tokens);
  for (const word of TINY_WORDS) {
    const chars = Array.from(new TextEncoder().encode(word), (b) => BYTE_TO_UNICODE[b]!);
    let acc = chars[0]!;
    for (const ch of chars.slice(1)) {
      if (!seen.has(acc + ch)) {
        merges.push(`${acc} ${ch}`);
        tokens.push(acc + ch);
        seen.add(acc + ch);
      }
      acc += ch;
    }
  }
  // Filler up to Whisper's size (never produced by encode(): no merges lead to it).
  for (let i = 0; tokens.length < spec.baseVocab; i++) tokens.push(`<filler${i}>`);
  const special = new Map<string, number>();
  const add = (t: string): void => {
    special.set(t, tokens.length);
    tokens.push(t);
  };
  add('<|endoftext|>');
  add('<|startoftranscript|>');
  for (const l of spec.languages) add(`<|${l}|>`);
  for (const t of ['translate', 'transcribe', 'startoflm', 'startofprev', 'nospeech', 'notimestamps'])
    add(`<|${t}|>`);
  for (let i = 0; i < spec.timestamps; i++) add(`<|${(i * 0.02).toFixed(2)}|>`);
  return { tokens, merges, special };
}

// ---------------------------------------------------------------- graph helpers

class Net {
  readonly g: GraphBuilder;
  private n = 0;
  constructor(
    name: string,
    private readonly rand: () => number,
  ) {
    this.g = new GraphBuilder(name);
  }

  op(type: string, inputs: string[], attrs: Record<string, number | number[]> = {}, out?: string): string {
    return this.g.node(type, inputs, [out ?? `${type.toLowerCase()}_${this.n++}`], attrs);
  }

  weight(name: string, dims: number[], std: number): string {
    const size = dims.reduce((a, b) => a * b, 1);
    const data = new Float32Array(size);
    // Uniform with the requested standard deviation (±std·√3).
    const a = std * Math.sqrt(3);
    for (let i = 0; i < size; i++) data[i] = (this.rand() * 2 - 1) * a;
    this.g.initializer(name, data, dims);
    return name;
  }

  constant(name: string, data: TensorData, dims: number[]): string {
    this.g.initializer(name, data, dims);
    return name;
  }

  filled(name: string, dims: number[], value: number): string {
    return this.constant(name, new Float32Array(dims.reduce((a, b) => a * b, 1)).fill(value), dims);
  }

  i64(name: string, values: number[], scalar = false): string {
    return this.constant(
      name,
      BigInt64Array.from(values, (v) => BigInt(v)),
      scalar ? [] : [values.length],
    );
  }

  linear(x: string, prefix: string, inDim: number, outDim: number, bias = true): string {
    const y = this.op('MatMul', [x, this.weight(`${prefix}.weight`, [inDim, outDim], 0.02)]);
    return bias ? this.op('Add', [y, this.filled(`${prefix}.bias`, [outDim], 0)]) : y;
  }

  layerNorm(x: string, prefix: string, d: number): string {
    const gamma = this.filled(`${prefix}.weight`, [d], 1);
    const beta = this.filled(`${prefix}.bias`, [d], 0);
    return this.op('LayerNormalization', [x, gamma, beta], { axis: -1, epsilon: 1e-5 });
  }

  /** GELU via erf (the exact form Whisper uses); ORT fuses the pattern into one Gelu kernel. */
  gelu(x: string): string {
    const c = this.g.initializers.some((i) => i.name === 'gelu.sqrt2')
      ? 'gelu.sqrt2'
      : this.filled('gelu.sqrt2', [], Math.SQRT2);
    const one = this.g.initializers.some((i) => i.name === 'gelu.one')
      ? 'gelu.one'
      : this.filled('gelu.one', [], 1);
    const half = this.g.initializers.some((i) => i.name === 'gelu.half')
      ? 'gelu.half'
      : this.filled('gelu.half', [], 0.5);
    const erf = this.op('Erf', [this.op('Div', [x, c])]);
    return this.op('Mul', [this.op('Mul', [x, this.op('Add', [erf, one])]), half]);
  }

  /** [1, S, d] → [1, H, S, d/H]. */
  splitHeads(x: string, heads: number, headDim: number): string {
    const shape = this.i64(`split_shape_${this.n++}`, [0, -1, heads, headDim]);
    return this.op('Transpose', [this.op('Reshape', [x, shape])], { perm: [0, 2, 1, 3] });
  }

  /** softmax(q·kᵀ/√hd + mask)·v, heads merged back to [1, S, d]. */
  attention(q: string, k: string, v: string, d: number, headDim: number, mask?: string): string {
    const scale = this.filled(`attn_scale_${this.n++}`, [], 1 / Math.sqrt(headDim));
    let s = this.op('Mul', [
      this.op('MatMul', [q, this.op('Transpose', [k], { perm: [0, 1, 3, 2] })]),
      scale,
    ]);
    if (mask !== undefined) s = this.op('Add', [s, mask]);
    const ctx = this.op('MatMul', [this.op('Softmax', [s], { axis: -1 }), v]);
    const shape = this.i64(`merge_shape_${this.n++}`, [0, -1, d]);
    return this.op('Reshape', [this.op('Transpose', [ctx], { perm: [0, 2, 1, 3] }), shape]);
  }

  ffn(x: string, prefix: string, d: number, ffnDim: number): string {
    const h = this.layerNorm(x, `${prefix}.final_layer_norm`, d);
    const f = this.linear(this.gelu(this.linear(h, `${prefix}.fc1`, d, ffnDim)), `${prefix}.fc2`, ffnDim, d);
    return this.op('Add', [x, f]);
  }
}

// ---------------------------------------------------------------- encoder

function buildEncoder(spec: SyntheticWhisperSpec, rand: () => number): GraphBuilder {
  const { dModel: d, heads, nMels } = spec;
  const hd = d / heads;
  const net = new Net('whisper_encoder', rand);
  const time = spec.encoderTime ?? 'fixed';
  net.g.input('input_features', 'float32', [
    'batch_size',
    nMels,
    time === 'fixed' ? spec.encoderPositions * 2 : 'encoder_sequence_length',
  ]);
  let x = net.op(
    'Conv',
    ['input_features', net.weight('conv1.weight', [d, nMels, 3], 0.05), net.filled('conv1.bias', [d], 0)],
    {
      kernel_shape: [3],
      pads: [1, 1],
    },
  );
  x = net.gelu(x);
  x = net.op('Conv', [x, net.weight('conv2.weight', [d, d, 3], 0.05), net.filled('conv2.bias', [d], 0)], {
    kernel_shape: [3],
    pads: [1, 1],
    strides: [2],
  });
  x = net.gelu(x);
  x = net.op('Transpose', [x], { perm: [0, 2, 1] });
  let positions = net.weight('embed_positions.weight', [spec.encoderPositions, d], 0.02);
  if (time === 'sliced') {
    // Rows 0..T/2 of the table, T/2 read from the conv output: [1, T/2, d] → [T/2].
    const rows = net.op('Shape', [x], { start: 1, end: 2 });
    positions = net.op('Slice', [positions, net.i64('pos_start', [0]), rows, net.i64('pos_axes', [0])]);
  }
  x = net.op('Add', [x, positions]);
  for (let i = 0; i < spec.encoderLayers; i++) {
    const p = `encoder.layers.${i}`;
    const h = net.layerNorm(x, `${p}.self_attn_layer_norm`, d);
    const q = net.splitHeads(net.linear(h, `${p}.self_attn.q_proj`, d, d), heads, hd);
    const k = net.splitHeads(net.linear(h, `${p}.self_attn.k_proj`, d, d, false), heads, hd);
    const v = net.splitHeads(net.linear(h, `${p}.self_attn.v_proj`, d, d), heads, hd);
    const a = net.linear(net.attention(q, k, v, d, hd), `${p}.self_attn.out_proj`, d, d);
    x = net.ffn(net.op('Add', [x, a]), p, d, spec.ffnDim);
  }
  net.layerNorm(x, 'encoder.layer_norm', d);
  const last = net.g.nodes[net.g.nodes.length - 1]!;
  net.g.node('Identity', [last.outputs[0]!], ['last_hidden_state']);
  net.g.output('last_hidden_state', 'float32', ['batch_size', 'encoder_sequence_length / 2', d]);
  return net.g;
}

// ---------------------------------------------------------------- merged decoder

function layerNormRow(e: Float32Array): Float32Array {
  let mean = 0;
  for (const v of e) mean += v;
  mean /= e.length;
  let varSum = 0;
  for (const v of e) varSum += (v - mean) ** 2;
  const std = Math.sqrt(varSum / e.length + 1e-5);
  return e.map((v) => (v - mean) / std);
}

function buildDecoder(spec: SyntheticWhisperSpec, vocab: Vocab, rand: () => number): GraphBuilder {
  const { dModel: d, heads } = spec;
  const hd = d / heads;
  const V = vocab.tokens.length;
  const net = new Net('whisper_decoder_merged', rand);
  const g = net.g;
  g.input('input_ids', 'int64', ['batch_size', 'decoder_sequence_length']);
  g.input('encoder_hidden_states', 'float32', ['batch_size', 'encoder_sequence_length / 2', d]);
  for (let i = 0; i < spec.decoderLayers; i++) {
    for (const part of ['decoder', 'encoder']) {
      const len = part === 'decoder' ? 'past_decoder_sequence_length' : 'encoder_sequence_length_out';
      for (const kv of ['key', 'value'])
        g.input(`past_key_values.${i}.${part}.${kv}`, 'float32', ['batch_size', heads, len, hd]);
    }
  }
  g.input('use_cache_branch', 'bool', [1]);

  // Token embedding: std 1 for the tiny model so the current token dominates the residual
  // stream (see the header), Whisper-like 0.02 for the full one.
  const embedStd = spec.kind === 'tiny' ? 1 : 0.02;
  const embed = net.weight('embed_tokens.weight', [V, d], embedStd);
  const tok = net.op('Gather', [embed, 'input_ids']);
  const pastLen = net.op(
    'Gather',
    [net.op('Shape', ['past_key_values.0.decoder.key']), net.i64('dim2', [2], true)],
    { axis: 0 },
  );
  const seqLen = net.op('Gather', [net.op('Shape', ['input_ids']), net.i64('dim1', [1], true)], { axis: 0 });
  const total = net.op('Add', [pastLen, seqLen]);
  const one = net.i64('one', [1], true);
  const positions = net.op('Range', [pastLen, total, one]);
  const pos = net.op(
    'Gather',
    [net.weight('embed_positions.weight', [spec.maxTargetPositions, d], 0.02), positions],
    { axis: 0 },
  );
  let x = net.op('Add', [tok, pos]);
  // Causal mask over [past + new] keys: query at absolute position p sees keys 0..p.
  const keyPos = net.op('Range', [net.i64('zero', [0], true), total, one]);
  const queryCol = net.op('Unsqueeze', [positions, net.i64('axis1', [1])]);
  const future = net.op('Greater', [keyPos, queryCol]);
  const mask = net.op('Where', [future, net.filled('neg_inf', [], -1e9), net.filled('zero_f', [], 0)]);
  // Cross-attention gate: 0 encoder rows on the cache branch, all of them otherwise.
  const encLen = net.op('Shape', ['encoder_hidden_states'], { start: 1, end: 2 });
  const rows = net.op('Where', ['use_cache_branch', net.i64('zero_1d', [0]), encLen]);
  const encPart = net.op('Slice', [
    'encoder_hidden_states',
    net.i64('slice_start', [0]),
    rows,
    net.i64('slice_axes', [1]),
  ]);

  for (let i = 0; i < spec.decoderLayers; i++) {
    const p = `decoder.layers.${i}`;
    const h = net.layerNorm(x, `${p}.self_attn_layer_norm`, d);
    const q = net.splitHeads(net.linear(h, `${p}.self_attn.q_proj`, d, d), heads, hd);
    const kNew = net.splitHeads(net.linear(h, `${p}.self_attn.k_proj`, d, d, false), heads, hd);
    const vNew = net.splitHeads(net.linear(h, `${p}.self_attn.v_proj`, d, d), heads, hd);
    const k = net.op(
      'Concat',
      [`past_key_values.${i}.decoder.key`, kNew],
      { axis: 2 },
      `present.${i}.decoder.key`,
    );
    const v = net.op(
      'Concat',
      [`past_key_values.${i}.decoder.value`, vNew],
      { axis: 2 },
      `present.${i}.decoder.value`,
    );
    x = net.op('Add', [x, net.linear(net.attention(q, k, v, d, hd, mask), `${p}.self_attn.out_proj`, d, d)]);

    const h2 = net.layerNorm(x, `${p}.encoder_attn_layer_norm`, d);
    const q2 = net.splitHeads(net.linear(h2, `${p}.encoder_attn.q_proj`, d, d), heads, hd);
    const kx = net.splitHeads(net.linear(encPart, `${p}.encoder_attn.k_proj`, d, d, false), heads, hd);
    const vx = net.splitHeads(net.linear(encPart, `${p}.encoder_attn.v_proj`, d, d), heads, hd);
    const kc = net.op(
      'Concat',
      [`past_key_values.${i}.encoder.key`, kx],
      { axis: 2 },
      `present.${i}.encoder.key`,
    );
    const vc = net.op(
      'Concat',
      [`past_key_values.${i}.encoder.value`, vx],
      { axis: 2 },
      `present.${i}.encoder.value`,
    );
    x = net.op('Add', [x, net.linear(net.attention(q2, kc, vc, d, hd), `${p}.encoder_attn.out_proj`, d, d)]);
    x = net.ffn(x, p, d, spec.ffnDim);
  }
  const hFinal = net.layerNorm(x, 'decoder.layer_norm', d);
  // Output projection as Gemm(transB) on a [V, d] matrix: the full model ties it to the token
  // embedding (as Whisper does, no copy); the tiny model gets its designed matrix.
  const proj = spec.kind === 'tiny' ? tinyProjection(net, vocab, embed, d) : embed;
  const flat = net.op('Reshape', [hFinal, net.i64('flat_shape', [-1, d])]);
  const logits2d = net.op('Gemm', [flat, proj], { transB: 1 });
  net.op('Reshape', [logits2d, net.i64('logits_shape', [1, -1, V])], {}, 'logits');
  g.output('logits', 'float32', ['batch_size', 'decoder_sequence_length', V]);
  for (let i = 0; i < spec.decoderLayers; i++) {
    for (const part of ['decoder', 'encoder']) {
      const len = part === 'decoder' ? 'past_decoder_sequence_length + 1' : 'encoder_sequence_length_out';
      for (const kv of ['key', 'value'])
        g.output(`present.${i}.${part}.${kv}`, 'float32', ['batch_size', heads, len, hd]);
    }
  }
  return g;
}

/** The tiny model's [V, d] output matrix: column succ(t) ∝ LayerNorm(embedding of t). */
function tinyProjection(net: Net, vocab: Vocab, embedName: string, d: number): string {
  const V = vocab.tokens.length;
  const embed = net.g.initializers.find((i) => i.name === embedName)!.data as Float32Array;
  const idOf = (t: string): number => {
    const s = vocab.special.get(t);
    if (s !== undefined) return s;
    return vocab.tokens.indexOf(Array.from(new TextEncoder().encode(t), (b) => BYTE_TO_UNICODE[b]!).join(''));
  };
  const proj = new Float32Array(V * d);
  const rand = prng(99);
  for (let i = 0; i < proj.length; i++) proj[i] = (rand() * 2 - 1) * 0.02;
  const logitTarget = 40;
  const link = (from: string, to: string, target = logitTarget): void => {
    const f = idOf(from);
    const t = idOf(to);
    const ln = layerNormRow(embed.subarray(f * d, (f + 1) * d));
    for (let j = 0; j < d; j++) proj[t * d + j] = proj[t * d + j]! + (target / d) * ln[j]!;
  };
  link('<|startoftranscript|>', '<|en|>');
  // A no-speech probability that is small but not zero (≈ e⁻³ relative to <|en|>).
  link('<|startoftranscript|>', '<|nospeech|>', logitTarget - 3);
  const chain = ['<|notimestamps|>', ...TINY_WORDS, '<|endoftext|>'];
  for (let i = 0; i + 1 < chain.length; i++) link(chain[i]!, chain[i + 1]!);
  return net.constant('proj_out.weight', proj, [V, d]);
}

// ---------------------------------------------------------------- files

export async function writeSyntheticWhisper(outDir: string, spec: SyntheticWhisperSpec): Promise<void> {
  const rand = prng(spec.seed);
  const vocab = buildVocab(spec);
  const V = vocab.tokens.length;
  const sp = (t: string): number => vocab.special.get(t)!;
  await mkdir(join(outDir, 'onnx'), { recursive: true });
  const meta = {
    source: 'scripts/make-whisper-synthetic.ts',
    kind: `synthetic-${spec.kind}`,
    licence: 'MIT',
  };
  const enc = encodeModel({
    graph: buildEncoder(spec, rand),
    opset: 17,
    producer: 'edgeloom-synthetic-whisper',
    metadata: meta,
  });
  await writeFile(join(outDir, 'onnx', 'encoder_model.onnx'), enc);
  const dec = encodeModel({
    graph: buildDecoder(spec, vocab, rand),
    opset: 17,
    producer: 'edgeloom-synthetic-whisper',
    metadata: meta,
  });
  await writeFile(join(outDir, 'onnx', 'decoder_model_merged.onnx'), dec);

  const vocabJson: Record<string, number> = {};
  const added: { id: number; content: string; special: boolean }[] = [];
  vocab.tokens.forEach((t, id) => {
    if (vocab.special.has(t)) added.push({ id, content: t, special: true });
    else vocabJson[t] = id;
  });
  const json = (v: unknown): string => `${JSON.stringify(v, null, 1)}\n`;
  await writeFile(
    join(outDir, 'tokenizer.json'),
    json({
      version: '1.0',
      added_tokens: added,
      model: { type: 'BPE', vocab: vocabJson, merges: vocab.merges },
    }),
  );
  await writeFile(
    join(outDir, 'config.json'),
    json({
      model_type: 'whisper',
      _synthetic: 'generated by scripts/make-whisper-synthetic.ts: random weights, not a trained model',
      d_model: spec.dModel,
      encoder_layers: spec.encoderLayers,
      decoder_layers: spec.decoderLayers,
      encoder_attention_heads: spec.heads,
      decoder_attention_heads: spec.heads,
      encoder_ffn_dim: spec.ffnDim,
      decoder_ffn_dim: spec.ffnDim,
      num_mel_bins: spec.nMels,
      max_source_positions: spec.encoderPositions,
      max_target_positions: spec.maxTargetPositions,
      vocab_size: V,
      bos_token_id: sp('<|endoftext|>'),
      eos_token_id: sp('<|endoftext|>'),
      pad_token_id: sp('<|endoftext|>'),
      decoder_start_token_id: sp('<|startoftranscript|>'),
    }),
  );
  const langToId: Record<string, number> = {};
  for (const l of spec.languages) langToId[`<|${l}|>`] = sp(`<|${l}|>`);
  await writeFile(
    join(outDir, 'generation_config.json'),
    json({
      bos_token_id: sp('<|endoftext|>'),
      eos_token_id: sp('<|endoftext|>'),
      pad_token_id: sp('<|endoftext|>'),
      decoder_start_token_id: sp('<|startoftranscript|>'),
      no_timestamps_token_id: sp('<|notimestamps|>'),
      is_multilingual: true,
      max_length: spec.maxTargetPositions,
      lang_to_id: langToId,
      task_to_id: { transcribe: sp('<|transcribe|>'), translate: sp('<|translate|>') },
      // A bare space (GPT-2 id 220) and <|endoftext|> may not open a transcript, as in Whisper.
      begin_suppress_tokens: [220, sp('<|endoftext|>')],
      suppress_tokens: [1, 2, 7],
    }),
  );
  await writeFile(
    join(outDir, 'preprocessor_config.json'),
    json({
      feature_extractor_type: 'WhisperFeatureExtractor',
      feature_size: spec.nMels,
      sampling_rate: 16000,
      hop_length: 160,
      n_fft: 400,
      chunk_length: 30,
      n_samples: 480000,
      nb_max_frames: 3000,
      padding_value: 0,
    }),
  );
  await writeFile(
    join(outDir, 'tokenizer_config.json'),
    json({ tokenizer_class: 'WhisperTokenizer', model_max_length: 1024 }),
  );
}

async function main(): Promise<void> {
  const [kind, outDir, time = 'fixed'] = process.argv.slice(2);
  if (
    (kind !== 'tiny' && kind !== 'full') ||
    outDir === undefined ||
    !['fixed', 'symbolic', 'sliced'].includes(time)
  ) {
    process.stderr.write('usage: make-whisper-synthetic tiny|full <outDir> [fixed|symbolic|sliced]\n');
    process.exit(2);
  }
  const spec = kind === 'tiny' ? TINY_SPEC : FULL_SPEC;
  await writeSyntheticWhisper(outDir, { ...spec, encoderTime: time as EncoderTimeAxis });
  process.stdout.write(`wrote ${kind} synthetic whisper to ${outDir}\n`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  });
}
