/**
 * Whisper's tokenizer, read from a Hugging Face `tokenizer.json`: byte-level BPE (GPT-2's
 * byte-to-unicode mapping, its pre-tokenizing regex and ranked merges) plus the added special
 * tokens (`<|endoftext|>`, `<|startoftranscript|>`, languages, tasks, timestamps). Decoding is
 * what the daemon needs (token ids → text); encoding exists for prompts and round-trip tests.
 */
import { EdgeloomError, ErrorCode } from '../../../errors.js';

/** GPT-2's reversible byte → printable unicode mapping (openai/gpt-2 encoder.py `bytes_to_unicode`). */
function bytesToUnicode(): string[] {
  const table: string[] = new Array(256);
  const printable = new Set<number>();
  for (let b = 0x21; b <= 0x7e; b++) printable.add(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.add(b);
  for (let b = 0xae; b <= 0xff; b++) printable.add(b);
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    table[b] = printable.has(b) ? String.fromCodePoint(b) : String.fromCodePoint(256 + extra++);
  }
  return table;
}

export const BYTE_TO_UNICODE: readonly string[] = Object.freeze(bytesToUnicode());
const UNICODE_TO_BYTE = new Map<string, number>(BYTE_TO_UNICODE.map((ch, b) => [ch, b]));

/** GPT-2's pre-tokenizer split (the ByteLevel pre-tokenizer with use_regex). */
const UTF8_ENCODER = new TextEncoder();
const UTF8_DECODER = new TextDecoder('utf-8');

const PRETOKENIZE = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/** The parts of tokenizer.json this module reads. */
interface TokenizerJson {
  model?: { type?: string; vocab?: Record<string, number>; merges?: (string | [string, string])[] };
  added_tokens?: { id: number; content: string; special?: boolean }[];
}

export class WhisperTokenizer {
  /** Largest id + 1. */
  readonly vocabSize: number;
  private readonly idToToken: (string | undefined)[];
  private readonly tokenToId: Map<string, number>;
  private readonly special = new Set<number>();
  private readonly mergeRanks = new Map<string, number>();
  private readonly bpeCache = new Map<string, string[]>();

  /** @param where the file the JSON came from, named in errors. */
  constructor(json: unknown, where = 'tokenizer.json') {
    const tj = json as TokenizerJson;
    const vocab = tj?.model?.vocab;
    if (tj?.model?.type !== 'BPE' || vocab === undefined || typeof vocab !== 'object') {
      throw new EdgeloomError(ErrorCode.E_MODEL_CORRUPT, `${where}: expected a BPE model with a vocab`, {
        where,
      });
    }
    this.tokenToId = new Map(Object.entries(vocab));
    for (const t of tj.added_tokens ?? []) {
      this.tokenToId.set(t.content, t.id);
      if (t.special !== false) this.special.add(t.id);
    }
    let max = -1;
    for (const id of this.tokenToId.values()) max = Math.max(max, id);
    this.vocabSize = max + 1;
    this.idToToken = new Array(this.vocabSize);
    for (const [tok, id] of this.tokenToId) this.idToToken[id] = tok;
    (tj.model.merges ?? []).forEach((m, rank) => {
      const pair = Array.isArray(m) ? `${m[0]} ${m[1]}` : m;
      this.mergeRanks.set(pair, rank);
    });
  }

  /** The id of a token string (special or not); undefined when absent. */
  id(token: string): number | undefined {
    return this.tokenToId.get(token);
  }

  /** The token string of an id; undefined when out of range. */
  token(id: number): string | undefined {
    return this.idToToken[id];
  }

  isSpecial(id: number): boolean {
    return this.special.has(id);
  }

  /** Text of the ids, skipping special tokens (and unknown ids); invalid UTF-8 becomes U+FFFD. */
  decode(ids: readonly number[]): string {
    const bytes: number[] = [];
    for (const id of ids) {
      if (this.special.has(id)) continue;
      const tok = this.idToToken[id];
      if (tok === undefined) continue;
      for (const ch of tok) {
        const b = UNICODE_TO_BYTE.get(ch);
        if (b !== undefined) bytes.push(b);
      }
    }
    return UTF8_DECODER.decode(new Uint8Array(bytes));
  }

  /** Token ids of plain text (no special tokens recognised inside it). */
  encode(text: string): number[] {
    const out: number[] = [];
    for (const match of text.matchAll(PRETOKENIZE)) {
      const word = Array.from(UTF8_ENCODER.encode(match[0]), (b) => BYTE_TO_UNICODE[b]!).join('');
      for (const piece of this.bpe(word)) {
        const id = this.tokenToId.get(piece);
        if (id === undefined) {
          throw new EdgeloomError(
            ErrorCode.E_TOKENIZER,
            `no token for ${JSON.stringify(piece)} (vocab lacks a byte?)`,
          );
        }
        out.push(id);
      }
    }
    return out;
  }

  /** Apply merges lowest rank first until none applies (the standard BPE loop). */
  private bpe(word: string): string[] {
    const cached = this.bpeCache.get(word);
    if (cached !== undefined) return cached;
    let parts = Array.from(word);
    while (parts.length > 1) {
      let best = -1;
      let bestRank = Number.POSITIVE_INFINITY;
      for (let i = 0; i < parts.length - 1; i++) {
        const rank = this.mergeRanks.get(`${parts[i]} ${parts[i + 1]}`);
        if (rank !== undefined && rank < bestRank) {
          bestRank = rank;
          best = i;
        }
      }
      if (best < 0) break;
      const merged = parts[best]! + parts[best + 1]!;
      const next: string[] = [];
      // Merge every occurrence of the winning pair in one pass, left to right.
      for (let i = 0; i < parts.length; i++) {
        if (i < parts.length - 1 && `${parts[i]} ${parts[i + 1]}` === `${parts[best]} ${parts[best + 1]}`) {
          next.push(merged);
          i++;
        } else next.push(parts[i]!);
      }
      parts = next;
    }
    // Bounded cache: words repeat in speech, but a flood of unique words must not grow memory.
    if (this.bpeCache.size < 10_000) this.bpeCache.set(word, parts);
    return parts;
  }
}
