import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isEdgeloomError } from '../../daemon/errors.js';
import { type Feeds, OnnxModel, type Outputs, type RunOptions } from '../../daemon/pipeline/onnx-session.js';
import { WhisperModel } from '../../daemon/pipeline/stt/whisper/whisper.js';
import {
  TINY_EXPECTED_TEXT,
  TINY_SPEC,
  writeSyntheticWhisper,
} from '../../scripts/make-whisper-synthetic.js';
import { REPO_ROOT } from '../helpers/tools.js';

const COMMITTED = join(REPO_ROOT, 'models', 'whisper-synthetic-tiny');

/** 1.5 s of a 440 Hz tone with a little deterministic noise, as int16. */
function tone(seconds: number): Int16Array {
  const n = Math.round(seconds * 16000);
  const out = new Int16Array(n);
  let seed = 1;
  for (let i = 0; i < n; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    const noise = (seed / 2 ** 32 - 0.5) * 0.05;
    out[i] = Math.round((0.3 * Math.sin((2 * Math.PI * 440 * i) / 16000) + noise) * 32767);
  }
  return out;
}

describe('synthetic whisper-tiny end to end', () => {
  let dir: string;
  let model: WhisperModel;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'whisper-syn-'));
    await writeSyntheticWhisper(dir, TINY_SPEC);
    model = await WhisperModel.load(dir, { modelId: 'whisper-synthetic-tiny' });
  });
  afterAll(async () => {
    await model?.release();
    await rm(dir, { recursive: true, force: true });
  });

  it('the generator is deterministic and the committed model is current', async () => {
    for (const f of [
      'onnx/encoder_model.onnx',
      'onnx/decoder_model_merged.onnx',
      'tokenizer.json',
      'config.json',
    ]) {
      const fresh = await readFile(join(dir, f));
      const committed = await readFile(join(COMMITTED, f));
      expect(fresh.equals(committed), f).toBe(true);
    }
  });

  it('transcribes audio through mel → encoder → cached decoder → detokeniser', async () => {
    const audio = tone(1.5);
    const r = await model.transcribe(audio);
    expect(r.text).toBe(TINY_EXPECTED_TEXT);
    expect(r.language).toBe('en');
    expect(r.durationMs).toBe(1500);
    expect(r.noSpeechProb).toBeGreaterThan(0);
    expect(r.noSpeechProb).toBeLessThan(0.5);
    expect(r.avgLogProb).toBeLessThanOrEqual(0);
    expect(r.confidence).toBeGreaterThan(0);
    expect(r.confidence).toBeLessThanOrEqual(1);
    expect(r.confidence).toBeCloseTo(Math.exp(r.avgLogProb) * (1 - r.noSpeechProb), 10);
    expect(r.inferenceMs).toBeGreaterThan(0);
    expect(r.decoderSteps).toBe(r.tokens.length + 1);
  });

  it('detects the language when none is given', async () => {
    const r = await model.transcribe(tone(0.5), { language: undefined });
    expect(r.language).toBe('en');
    expect(r.text).toBe(TINY_EXPECTED_TEXT);
  });

  it('KV-cached decoding gives the same tokens and scores as re-running without a cache', async () => {
    const audio = tone(2);
    for (const ignoreEndOfText of [false, true]) {
      const cached = await model.transcribe(audio, { ignoreEndOfText, maxNewTokens: 12 });
      const uncached = await model.transcribe(audio, { ignoreEndOfText, maxNewTokens: 12, useCache: false });
      expect(cached.tokens).toEqual(uncached.tokens);
      expect(cached.avgLogProb).toBeCloseTo(uncached.avgLogProb, 4);
      expect(cached.noSpeechProb).toBeCloseTo(uncached.noSpeechProb, 6);
      if (ignoreEndOfText) expect(cached.tokens.length).toBe(12);
    }
  });

  it("frees an utterance's tensors when its decode ends: features, encoder output, KV cache, logits", async () => {
    // Every tensor fed to or returned by the real sessions during one transcription.
    const proto = OnnxModel.prototype as { run: (feeds: Feeds, options?: RunOptions) => Promise<Outputs> };
    const run = proto.run;
    const tensors: { name: string; data: ArrayBufferView }[] = [];
    proto.run = async function (this: OnnxModel, feeds: Feeds, options?: RunOptions): Promise<Outputs> {
      for (const [name, t] of Object.entries(feeds)) tensors.push({ name, data: t.data as ArrayBufferView });
      const out = await run.call(this, feeds, options);
      for (const [name, t] of Object.entries(out)) tensors.push({ name, data: t.data as ArrayBufferView });
      return out;
    };
    let r: Awaited<ReturnType<WhisperModel['transcribe']>>;
    try {
      r = await model.transcribe(tone(1.5), { ignoreEndOfText: true, maxNewTokens: 6 });
    } finally {
      proto.run = run;
    }
    // Freed as it ran, the cache fed back step after step still gave the same text.
    expect(r.tokens.length).toBe(6);
    const heavy = tensors.filter((t) =>
      /^(input_features|last_hidden_state|encoder_hidden_states|logits|present\.|past_key_values\.)/.test(
        t.name,
      ),
    );
    expect(heavy.filter((t) => t.name.startsWith('present.')).length).toBeGreaterThan(0);
    // Detached (Node ≥ 22): V8 no longer counts their bytes towards its next full collection.
    // Node 20 has no way to detach, and keeps them until the collector finds them.
    const canRelease = typeof (ArrayBuffer.prototype as { transfer?: unknown }).transfer === 'function';
    const kept = heavy.filter((t) => t.data.byteLength > 0).map((t) => t.name);
    if (canRelease) expect(kept).toEqual([]);
    else expect(kept.length).toBeGreaterThan(0);
    // And the next utterance is unaffected.
    expect((await model.transcribe(tone(1.5))).text).toBe(TINY_EXPECTED_TEXT);
  });

  it('a missing file is E_MODEL_MISSING naming it; a corrupt one E_MODEL_CORRUPT', async () => {
    const broken = await mkdtemp(join(tmpdir(), 'whisper-broken-'));
    try {
      await writeSyntheticWhisper(broken, TINY_SPEC);
      await rm(join(broken, 'onnx', 'decoder_model_merged.onnx'));
      const missing = await WhisperModel.load(broken, { modelId: 'x' }).catch((e: unknown) => e);
      expect(isEdgeloomError(missing, 'E_MODEL_MISSING')).toBe(true);
      expect((missing as Error).message).toContain('decoder_model_merged.onnx');

      await writeFile(join(broken, 'onnx', 'decoder_model_merged.onnx'), Buffer.from('not an onnx model'));
      const corrupt = await WhisperModel.load(broken, { modelId: 'x' }).catch((e: unknown) => e);
      expect(isEdgeloomError(corrupt, 'E_MODEL_CORRUPT')).toBe(true);
      expect((corrupt as Error).message).toContain('decoder_model_merged.onnx');

      await writeFile(join(broken, 'config.json'), '{ not json');
      const badJson = await WhisperModel.load(broken, { modelId: 'x' }).catch((e: unknown) => e);
      expect(isEdgeloomError(badJson, 'E_MODEL_CORRUPT')).toBe(true);
      expect((badJson as Error).message).toContain('config.json');
    } finally {
      await rm(broken, { recursive: true, force: true });
    }
  });

  it('an ONNX file without Whisper inputs is E_MODEL_LAYOUT listing what is expected', async () => {
    const swapped = await mkdtemp(join(tmpdir(), 'whisper-swapped-'));
    try {
      await writeSyntheticWhisper(swapped, TINY_SPEC);
      // The encoder where the decoder should be: loads fine, wrong inputs.
      await writeFile(
        join(swapped, 'onnx', 'decoder_model_merged.onnx'),
        await readFile(join(swapped, 'onnx', 'encoder_model.onnx')),
      );
      const err = await WhisperModel.load(swapped, { modelId: 'x' }).catch((e: unknown) => e);
      expect(isEdgeloomError(err, 'E_MODEL_LAYOUT')).toBe(true);
      expect((err as Error).message).toContain('use_cache_branch');
    } finally {
      await rm(swapped, { recursive: true, force: true });
    }
  });
});
