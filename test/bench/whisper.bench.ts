/**
 * Whisper-tiny speed on this machine, with a synthetic model of the real dimensions (4 + 4
 * layers, d_model 384, vocab 51 865; random weights, so compute and memory equal the real
 * model's). Generated on first use into .bench/whisper-tiny-synthetic (gitignored).
 *
 * Figures: encoder_ms_30s (one 30 s window incl. log-mel, 1 and 2 intra-op threads),
 * decoder_ms_per_token, rtf_3s / rtf_10s (inference time / audio time, 20 decoded tokens forced
 * by ignoring <|endoftext|>), mel_ms_10s (the log-mel front end alone on 10 s of audio, padded to
 * 30 s as Whisper does), peak_rss_mb. Baseline in the same run: decoding without the KV
 * cache (re-running the whole sequence every step); kv_cache_speedup is their ratio.
 * Target: rtf_10s ≤ 0.15.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LogMelExtractor } from '../../daemon/pipeline/stt/whisper/mel.js';
import { WhisperModel } from '../../daemon/pipeline/stt/whisper/whisper.js';
import { FULL_SPEC, writeSyntheticWhisper } from '../../scripts/make-whisper-synthetic.js';

export const name = 'whisper';

const TOKENS = 20;

function speech(seconds: number): Int16Array {
  const n = Math.round(seconds * 16000);
  const out = new Int16Array(n);
  let seed = 12345;
  for (let i = 0; i < n; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    out[i] = Math.round(8000 * Math.sin((2 * Math.PI * 180 * i) / 16000) + ((seed >>> 16) - 32768) / 16);
  }
  return out;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const round = (x: number, digits = 2): number => Number(x.toFixed(digits));

export async function bench({
  quick,
}: {
  quick: boolean;
}): Promise<Record<string, number | string | boolean>> {
  const repoRoot = fileURLToPath(
    new URL(import.meta.url.includes('/dist/') ? '../../../' : '../../', import.meta.url),
  );
  const dir = join(repoRoot, '.bench', 'whisper-tiny-synthetic');
  const exists = await stat(join(dir, 'onnx', 'decoder_model_merged.onnx')).then(
    () => true,
    () => false,
  );
  let generateMs = 0;
  if (!exists) {
    const t0 = performance.now();
    await writeSyntheticWhisper(dir, FULL_SPEC);
    generateMs = performance.now() - t0;
  }
  const reps = quick ? 2 : 5;
  const out: Record<string, number | string | boolean> = {
    model: 'synthetic whisper-tiny (real dims)',
    tokens: TOKENS,
  };
  if (generateMs > 0) out.generate_ms = Math.round(generateMs);

  const mel = new LogMelExtractor();
  const audio10 = speech(10);
  mel.compute(audio10); // warm-up (JIT)
  const melMs: number[] = [];
  for (let i = 0; i < reps * 2; i++) {
    const t0 = performance.now();
    mel.compute(audio10);
    melMs.push(performance.now() - t0);
  }
  out.mel_ms_10s = round(median(melMs), 1);

  for (const threads of [1, 2]) {
    const model = await WhisperModel.load(dir, {
      modelId: 'whisper-tiny-synthetic',
      encoderThreads: threads,
    });
    try {
      const opts = { ignoreEndOfText: true, maxNewTokens: TOKENS } as const;
      await model.transcribe(speech(3), opts); // warm-up
      const enc: number[] = [];
      const perToken: number[] = [];
      const rtf3: number[] = [];
      const rtf10: number[] = [];
      for (let i = 0; i < reps; i++) {
        const r3 = await model.transcribe(speech(3), opts);
        const r10 = await model.transcribe(speech(10), opts);
        enc.push(r3.encoderMs, r10.encoderMs);
        perToken.push(
          (r3.inferenceMs - r3.encoderMs) / r3.decoderSteps,
          (r10.inferenceMs - r10.encoderMs) / r10.decoderSteps,
        );
        rtf3.push(r3.inferenceMs / r3.durationMs);
        rtf10.push(r10.inferenceMs / r10.durationMs);
      }
      out[`encoder_ms_30s_${threads}t`] = round(median(enc), 1);
      out[`decoder_ms_per_token_${threads}t`] = round(median(perToken));
      out[`rtf_3s_${threads}t`] = round(median(rtf3), 3);
      out[`rtf_10s_${threads}t`] = round(median(rtf10), 3);
      if (threads === 1) {
        // Baseline: the same decode without the KV cache.
        const cached = await model.transcribe(speech(3), opts);
        const uncached = await model.transcribe(speech(3), { ...opts, useCache: false });
        const cachedDec = cached.inferenceMs - cached.encoderMs;
        const uncachedDec = uncached.inferenceMs - uncached.encoderMs;
        out.decoder_ms_20_tokens_no_cache = round(uncachedDec, 1);
        out.kv_cache_speedup = round(uncachedDec / cachedDec);
        out.same_tokens_with_and_without_cache = cached.tokens.join(',') === uncached.tokens.join(',');
      }
    } finally {
      await model.release();
    }
  }
  const best = Math.min(Number(out.rtf_10s_1t), Number(out.rtf_10s_2t));
  out.encoder_ms_30s = Math.min(Number(out.encoder_ms_30s_1t), Number(out.encoder_ms_30s_2t));
  out.decoder_ms_per_token = Number(out.decoder_ms_per_token_1t);
  out.rtf_3s = Math.min(Number(out.rtf_3s_1t), Number(out.rtf_3s_2t));
  out.rtf_10s = best;
  out.rtf_10s_target = 0.15;
  out.rtf_10s_meets_target = best <= 0.15;
  out.peak_rss_mb = Math.round(process.resourceUsage().maxRSS / 1024);
  return out;
}
