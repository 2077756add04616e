/**
 * Reads and validates the JSON side of a Whisper export laid out the way Hugging Face optimum
 * (and onnx-community/whisper-*) publish it. Nothing is ever downloaded: the folder is local.
 *
 *   <dir>/config.json  generation_config.json  preprocessor_config.json  tokenizer.json
 *   <dir>/onnx/encoder_model{suffix}.onnx  <dir>/onnx/decoder_model_merged{suffix}.onnx
 */
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { EdgeloomError, ErrorCode } from '../../../errors.js';
import { type MelOptions, WHISPER_MEL } from './mel.js';
import { WhisperTokenizer } from './tokenizer.js';

export const JSON_FILES = [
  'config.json',
  'generation_config.json',
  'preprocessor_config.json',
  'tokenizer.json',
] as const;

/** Every file the loader needs, relative to the model folder, for `suffix` ('' or e.g. '_quantized'). */
export function expectedFiles(suffix: string): string[] {
  return [...JSON_FILES, `onnx/encoder_model${suffix}.onnx`, `onnx/decoder_model_merged${suffix}.onnx`];
}

/** Architecture and decoding constants, resolved from the JSON files. */
export interface WhisperSpec {
  readonly dModel: number;
  readonly decoderLayers: number;
  readonly decoderHeads: number;
  readonly headDim: number;
  readonly vocabSize: number;
  /** Decoder context, tokens (Whisper: 448). */
  readonly maxTargetPositions: number;
  readonly mel: MelOptions;
  /** Precomputed filterbank [nMels][nFft/2+1] when preprocessor_config.json carries one. */
  readonly melFilters: Float32Array | undefined;
  readonly ids: {
    readonly sot: number;
    readonly eot: number;
    readonly transcribe: number;
    readonly translate: number;
    readonly noTimestamps: number;
    /** `<|nospeech|>` (newer tokenizers) or `<|nocaptions|>` (older); undefined if neither. */
    readonly noSpeech: number | undefined;
  };
  /** Language code (`en`) → token id. */
  readonly languages: ReadonlyMap<string, number>;
  readonly suppressTokens: readonly number[];
  readonly beginSuppressTokens: readonly number[];
  readonly tokenizer: WhisperTokenizer;
}

type Json = Record<string, unknown>;

async function readJson(dir: string, file: string): Promise<Json> {
  const path = join(dir, file);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new EdgeloomError(
      ErrorCode.E_MODEL_MISSING,
      `whisper model: ${path} is missing (expected ${expectedFiles('').join(', ')})`,
      {
        where: path,
        cause: err,
      },
    );
  }
  try {
    const value: unknown = JSON.parse(text);
    if (value === null || typeof value !== 'object') throw new Error('not a JSON object');
    return value as Json;
  } catch (err) {
    throw new EdgeloomError(
      ErrorCode.E_MODEL_CORRUPT,
      `whisper model: ${path} is not valid JSON: ${(err as Error).message}`,
      {
        where: path,
        cause: err,
      },
    );
  }
}

/** Throws E_MODEL_MISSING naming the first absent file (ONNX files included) and listing the layout. */
export async function checkLayout(dir: string, suffix: string): Promise<void> {
  const missing: string[] = [];
  for (const f of expectedFiles(suffix)) {
    const ok = await stat(join(dir, f)).then(
      (s) => s.isFile(),
      () => false,
    );
    if (!ok) missing.push(f);
  }
  if (missing.length > 0) {
    throw new EdgeloomError(
      ErrorCode.E_MODEL_MISSING,
      `whisper model ${dir}: missing ${missing.join(', ')} (expected ${expectedFiles(suffix).join(', ')})`,
      { where: join(dir, missing[0]!) },
    );
  }
}

function num(obj: Json, key: string, file: string, dir: string): number {
  const v = obj[key];
  if (typeof v !== 'number' || !Number.isFinite(v)) {
    throw new EdgeloomError(ErrorCode.E_MODEL_CORRUPT, `whisper model: ${file} lacks numeric ${key}`, {
      where: join(dir, file),
    });
  }
  return v;
}

function numList(v: unknown): number[] {
  return Array.isArray(v) ? v.filter((x): x is number => typeof x === 'number') : [];
}

/** Read and cross-check the JSON files of a Whisper model folder. */
export async function readWhisperSpec(dir: string): Promise<WhisperSpec> {
  const [config, gen, pre, tok] = await Promise.all(JSON_FILES.map((f) => readJson(dir, f)));
  const cfg = config!;
  const dModel = num(cfg, 'd_model', 'config.json', dir);
  const decoderHeads = num(cfg, 'decoder_attention_heads', 'config.json', dir);
  const tokenizer = new WhisperTokenizer(tok, join(dir, 'tokenizer.json'));
  const need = (token: string): number => {
    const id = tokenizer.id(token);
    if (id === undefined) {
      throw new EdgeloomError(ErrorCode.E_MODEL_CORRUPT, `whisper model: tokenizer.json lacks ${token}`, {
        where: join(dir, 'tokenizer.json'),
      });
    }
    return id;
  };
  const languages = new Map<string, number>();
  const langToId = (gen!.lang_to_id ?? {}) as Record<string, number>;
  for (const [tokenText, id] of Object.entries(langToId))
    languages.set(tokenText.replace(/^<\|(.*)\|>$/, '$1'), id);
  const p = pre!;
  const nMels =
    typeof p.feature_size === 'number' ? p.feature_size : num(cfg, 'num_mel_bins', 'config.json', dir);
  const mel: MelOptions = {
    sampleRateHz: typeof p.sampling_rate === 'number' ? p.sampling_rate : WHISPER_MEL.sampleRateHz,
    nFft: typeof p.n_fft === 'number' ? p.n_fft : WHISPER_MEL.nFft,
    hopLength: typeof p.hop_length === 'number' ? p.hop_length : WHISPER_MEL.hopLength,
    nMels,
    nSamples: typeof p.n_samples === 'number' ? p.n_samples : WHISPER_MEL.nSamples,
  };
  return {
    dModel,
    decoderLayers: num(cfg, 'decoder_layers', 'config.json', dir),
    decoderHeads,
    headDim: dModel / decoderHeads,
    vocabSize: num(cfg, 'vocab_size', 'config.json', dir),
    maxTargetPositions: num(cfg, 'max_target_positions', 'config.json', dir),
    mel,
    melFilters: melFiltersOf(p.mel_filters, mel),
    ids: {
      sot:
        typeof gen!.decoder_start_token_id === 'number'
          ? gen!.decoder_start_token_id
          : need('<|startoftranscript|>'),
      eot: typeof gen!.eos_token_id === 'number' ? gen!.eos_token_id : need('<|endoftext|>'),
      transcribe: need('<|transcribe|>'),
      translate: need('<|translate|>'),
      noTimestamps:
        typeof gen!.no_timestamps_token_id === 'number'
          ? gen!.no_timestamps_token_id
          : need('<|notimestamps|>'),
      noSpeech: tokenizer.id('<|nospeech|>') ?? tokenizer.id('<|nocaptions|>'),
    },
    languages,
    suppressTokens: numList(gen!.suppress_tokens),
    beginSuppressTokens: numList(gen!.begin_suppress_tokens),
    tokenizer,
  };
}

/** preprocessor_config.json's `mel_filters` is stored bins-first ([201][80]); transpose to [80][201]. */
function melFiltersOf(raw: unknown, mel: MelOptions): Float32Array | undefined {
  if (!Array.isArray(raw) || raw.length === 0) return undefined;
  const nBins = Math.floor(mel.nFft / 2) + 1;
  const rows = raw as number[][];
  const out = new Float32Array(mel.nMels * nBins);
  if (rows.length === nBins && rows[0]?.length === mel.nMels) {
    for (let b = 0; b < nBins; b++) for (let m = 0; m < mel.nMels; m++) out[m * nBins + b] = rows[b]![m]!;
  } else if (rows.length === mel.nMels && rows[0]?.length === nBins) {
    for (let m = 0; m < mel.nMels; m++) for (let b = 0; b < nBins; b++) out[m * nBins + b] = rows[m]![b]!;
  } else return undefined;
  return out;
}
