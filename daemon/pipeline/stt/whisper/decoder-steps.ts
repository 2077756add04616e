/**
 * The steps of one Whisper decode on optimum's merged decoder (whisper.ts describes the protocol):
 * cached (the KV cache fed back, one new token a call) or uncached (the whole sequence each call,
 * a cross-check for tests), each with what frees the decode's tensors when it ends.
 */
import { EdgeloomError, ErrorCode } from '../../../errors.js';
import { releaseNow } from '../../../util/release-now.js';
import { type Feeds, type OnnxModel, type Tensor, tensor } from '../../onnx-session.js';
import type { StepFn } from './greedy.js';
import type { WhisperSpec } from './model-files.js';

/** One decode's step function, and what frees its tensors when the decode ends. */
export interface DecodeSteps {
  readonly step: StepFn;
  dispose(): void;
}

export class DecoderSteps {
  /**
   * What a cached step after the first fetches: logits and the self-attention presents. The
   * cross-attention presents repeat the first step's (they depend on the audio only) and are
   * 18 MB for whisper-tiny, which ONNX Runtime would otherwise copy into JS on every token.
   */
  private readonly stepFetches: readonly string[];

  constructor(
    private readonly decoder: OnnxModel,
    private readonly spec: WhisperSpec,
    private readonly pastNames: readonly string[],
  ) {
    this.stepFetches = [
      'logits',
      ...pastNames.filter((n) => n.includes('.decoder.')).map((n) => n.replace('past_key_values', 'present')),
    ];
  }

  private emptyPast(): Record<string, Tensor> {
    const { decoderHeads, headDim } = this.spec;
    const out: Record<string, Tensor> = {};
    for (const name of this.pastNames)
      out[name] = tensor('float32', new Float32Array(0), [1, decoderHeads, 0, headDim]);
    return out;
  }

  private async runDecoder(
    tokens: readonly number[],
    hidden: Tensor,
    past: Record<string, Tensor>,
    useCache: boolean,
    fetches?: readonly string[],
  ) {
    const feeds: Feeds = {
      input_ids: tensor(
        'int64',
        BigInt64Array.from(tokens, (t) => BigInt(t)),
        [1, tokens.length],
      ),
      encoder_hidden_states: hidden,
      use_cache_branch: tensor('bool', Uint8Array.of(useCache ? 1 : 0), [1]),
      ...past,
    };
    const out = await this.decoder.run(feeds, fetches === undefined ? {} : { fetches });
    const V = this.spec.vocabSize;
    const logits = checkedOutput(
      out,
      'logits',
      this.decoder.modelId,
      (d) => d.length === 3 && d[1] === tokens.length && d[2] === V,
    );
    return { out, logits: logits.data as Float32Array };
  }

  /**
   * KV-cached steps: the first call fills the cache, later ones feed one token each. Each step
   * frees what only the step before needed (its logits, the self-attention cache it fed);
   * `dispose` frees the rest once the decode ends.
   */
  cached(hidden: Tensor): DecodeSteps {
    let past = this.emptyPast();
    let lastLogits: Float32Array | undefined;
    const free = (tensors: Record<string, Tensor>, which: (name: string) => boolean): void => {
      for (const name of this.pastNames) if (which(name)) releaseNow(tensors[name]!.data as Float32Array);
    };
    const step = async (tokens: readonly number[], first: boolean): Promise<Float32Array> => {
      if (lastLogits !== undefined) releaseNow(lastLogits);
      lastLogits = undefined;
      if (first) {
        free(past, () => true);
        past = this.emptyPast();
      }
      const { out, logits } = await this.runDecoder(
        tokens,
        hidden,
        past,
        !first,
        first ? undefined : this.stepFetches,
      );
      const next: Record<string, Tensor> = {};
      for (const name of this.pastNames) {
        const isCross = name.includes('.encoder.');
        // Cross-attention keys/values come from the first call only (optimum's cache branch may
        // return them unchanged or not at all; later steps do not fetch them). The same Tensor
        // objects are fed back every step: nothing on the JS side copies them.
        next[name] =
          isCross && !first ? past[name]! : presentOf(out, name, this.decoder.modelId, this.spec.headDim);
      }
      // The self-attention cache this run was fed is superseded by its presents.
      free(past, (name) => next[name] !== past[name]);
      past = next;
      lastLogits = logits;
      return logits;
    };
    return {
      step,
      dispose: () => {
        free(past, () => true);
        if (lastLogits !== undefined) releaseNow(lastLogits);
        lastLogits = undefined;
      },
    };
  }

  /** No cache: every step re-runs the whole token sequence through the no-cache branch. */
  uncached(hidden: Tensor): DecodeSteps {
    let seq: number[] = [];
    const step = async (tokens: readonly number[], first: boolean): Promise<Float32Array> => {
      seq = first ? [...tokens] : [...seq, ...tokens];
      const { logits } = await this.runDecoder(seq, hidden, this.emptyPast(), false);
      return logits.subarray(logits.length - tokens.length * this.spec.vocabSize);
    };
    return { step, dispose: () => undefined };
  }
}

export function checkedOutput(
  out: Readonly<Record<string, Tensor>>,
  name: string,
  modelId: string,
  ok: (dims: readonly number[]) => boolean,
): Tensor {
  const t = out[name];
  if (t === undefined || t.type !== 'float32' || !ok(t.dims)) {
    throw new EdgeloomError(
      ErrorCode.E_ONNX_OUTPUT,
      `model ${modelId}: output ${name} is ${t === undefined ? 'missing' : `${t.type} [${t.dims.join(',')}]`}`,
      { where: `${modelId}:${name}` },
    );
  }
  return t;
}

function presentOf(
  out: Readonly<Record<string, Tensor>>,
  pastName: string,
  modelId: string,
  headDim: number,
): Tensor {
  const name = pastName.replace('past_key_values', 'present');
  return checkedOutput(out, name, modelId, (d) => d.length === 4 && d[3] === headDim);
}
