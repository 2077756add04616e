/**
 * Greedy decoding for Whisper, independent of how logits are computed: the model wrapper hands
 * in a `step` function (tokens in → logits of the last position out, with or without a KV
 * cache), so this loop is testable with a table of logits and shared by the cached and uncached
 * paths. Follows openai/whisper decoding.py for the numbers it reports:
 * - no_speech_prob: softmax probability of `<|nospeech|>` at the `<|startoftranscript|>` position;
 * - avg_logprob: mean log-probability of the chosen tokens, the final `<|endoftext|>` included;
 * - language detection (when none is given): argmax over the language tokens at the SOT position.
 */
import type { WhisperSpec } from './model-files.js';

export interface GreedyOptions {
  /** Language code (`en`), or undefined to detect it from the audio. */
  readonly language: string | undefined;
  readonly task: 'transcribe' | 'translate';
  /** Tokens to generate at most, `<|endoftext|>` included (openai/whisper: 224). */
  readonly maxNewTokens: number;
  /** Keep decoding past `<|endoftext|>` (it is suppressed): benchmarks force a fixed token count. */
  readonly ignoreEndOfText?: boolean;
}

/**
 * Logits over the vocabulary for each of `tokens` (the caller feeds them after the previously
 * fed ones). `first` is true on the first call of a decode. Returns [tokens.length × vocab],
 * valid until the next call (a step may free the previous step's logits then).
 */
export type StepFn = (tokens: readonly number[], first: boolean) => Promise<Float32Array>;

export interface GreedyResult {
  readonly tokens: readonly number[];
  readonly language: string;
  readonly noSpeechProb: number;
  readonly avgLogProb: number;
  /** Decoder calls made. */
  readonly steps: number;
}

/** log Σ exp(row) over a vocabulary row, stable. */
function logSumExp(logits: Float32Array, offset: number, n: number): number {
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < n; i++) if (logits[offset + i]! > max) max = logits[offset + i]!;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += Math.exp(logits[offset + i]! - max);
  return max + Math.log(sum);
}

export async function greedyDecode(
  spec: WhisperSpec,
  step: StepFn,
  options: GreedyOptions,
): Promise<GreedyResult> {
  const V = spec.vocabSize;
  const { ids } = spec;
  const taskId = options.task === 'translate' ? ids.translate : ids.transcribe;
  // Tokens that must never be generated in a no-timestamps transcript: every special token but
  // <|endoftext|> (languages, tasks, SOT, timestamps...), plus generation_config's suppress_tokens.
  const suppress = new Uint8Array(V);
  for (const id of spec.suppressTokens) if (id >= 0 && id < V) suppress[id] = 1;
  for (let id = 0; id < V; id++) if (id !== ids.eot && spec.tokenizer.isSpecial(id)) suppress[id] = 1;
  if (options.ignoreEndOfText === true) suppress[ids.eot] = 1;

  let language = options.language;
  let langId = language === undefined ? undefined : spec.languages.get(language);
  if (language !== undefined && langId === undefined) {
    throw new RangeError(`language ${language} is not in this model's lang_to_id`);
  }
  const firstFeed = langId === undefined ? [ids.sot] : [ids.sot, langId, taskId, ids.noTimestamps];
  let logits = await step(firstFeed, true);
  let steps = 1;
  const lseSot = logSumExp(logits, 0, V);
  const noSpeechProb = ids.noSpeech === undefined ? 0 : Math.exp(logits[ids.noSpeech]! - lseSot);
  if (langId === undefined) {
    let best = Number.NEGATIVE_INFINITY;
    for (const [code, id] of spec.languages) {
      if (logits[id]! > best) {
        best = logits[id]!;
        language = code;
        langId = id;
      }
    }
    if (langId === undefined)
      throw new RangeError('cannot detect the language: no lang_to_id in generation_config.json');
    logits = await step([langId, taskId, ids.noTimestamps], false);
    steps++;
  }
  let rowOffset = logits.length - V;

  const tokens: number[] = [];
  let sumLogProb = 0;
  let scored = 0;
  // begin_suppress_tokens (a bare space, <|endoftext|>) are barred only as the first token.
  const beginMask = suppress.slice();
  for (const id of spec.beginSuppressTokens) if (id >= 0 && id < V) beginMask[id] = 1;
  for (let n = 0; n < options.maxNewTokens; n++) {
    const mask = n === 0 ? beginMask : suppress;
    let best = -1;
    let max = Number.NEGATIVE_INFINITY;
    for (let id = 0; id < V; id++) {
      if (mask[id] === 1) continue;
      const l = logits[rowOffset + id]!;
      if (l > max) {
        max = l;
        best = id;
      }
    }
    if (best < 0) break; // everything suppressed: nothing left to say
    // Log-probability under the suppressed distribution, as openai/whisper scores it.
    let sum = 0;
    for (let id = 0; id < V; id++) if (mask[id] !== 1) sum += Math.exp(logits[rowOffset + id]! - max);
    sumLogProb -= Math.log(sum);
    scored++;
    if (best === ids.eot) break;
    tokens.push(best);
    if (n + 1 >= options.maxNewTokens) break;
    logits = await step([best], false);
    steps++;
    rowOffset = logits.length - V;
  }
  return {
    tokens,
    language: language ?? 'unknown',
    noSpeechProb,
    avgLogProb: scored > 0 ? sumLogProb / scored : 0,
    steps,
  };
}
