/**
 * The encoder window: how much log-mel the Whisper encoder sees per utterance
 * (`pipeline.stt.encoder_window_s`). Whisper pads every utterance to 30 s (3 000 frames), so a
 * 2 s command pays for 30 s of encoder. A shorter window feeds only the first frames of the
 * padded features, which is what whisper.cpp's `audio_ctx` does (ggml-org/whisper.cpp#137).
 *
 * It works only with an encoder whose position table is sliced to the input length. The exports
 * Hugging Face publishes (optimum / onnx-community / Xenova) add the whole 1 500-row table
 * (transformers' WhisperEncoder.forward: `inputs_embeds + embed_positions.weight`), so whatever
 * their input metadata declares, ONNX Runtime refuses any length but 3 000 frames. checkWindow()
 * finds this out at load, not on the first utterance.
 *
 * Accuracy risk: Whisper was trained on 30 s windows only; with less trailing padding it may end
 * a transcript early, miss `<|endoftext|>` or hallucinate (reported for short inputs in
 * OpenNMT/CTranslate2#2100 and k2-fsa/sherpa-onnx#633). It cannot be measured here without the
 * real weights: check on your own recordings before relying on it.
 */
import { EdgeloomError, ErrorCode, toError } from '../../../errors.js';
import { type OnnxModel, tensor } from '../../onnx-session.js';
import type { WhisperSpec } from './model-files.js';

/** Whisper's own window, s: the default, and the most any window grows to. */
export const FULL_WINDOW_S = 30;

/** The config key, named in errors. */
const KEY = 'pipeline.stt.encoder_window_s';

/** Log-mel frames per second (16 000 Hz / hop 160 = 100). */
function framesPerSecond(spec: WhisperSpec): number {
  return spec.mel.sampleRateHz / spec.mel.hopLength;
}

/** Frames of the model's full window (3 000 for Whisper). */
export function fullWindowFrames(spec: WhisperSpec): number {
  return Math.floor(spec.mel.nSamples / spec.mel.hopLength);
}

/**
 * Frames the encoder gets for an utterance of `samples`: the configured window, grown in whole
 * seconds to cover a longer utterance (its tail must not be cut off), capped at the full window.
 * Whole seconds keep the shapes the encoder sees to at most 30, so ONNX Runtime's per-shape
 * planning stays bounded; they are even, as the stride-2 convolution needs.
 */
export function windowFrames(samples: number, windowS: number, spec: WhisperSpec): number {
  const full = fullWindowFrames(spec);
  if (windowS >= FULL_WINDOW_S) return full;
  const audioS = Math.ceil(samples / spec.mel.sampleRateHz);
  return Math.min(full, Math.max(windowS, audioS) * framesPerSecond(spec));
}

/**
 * The first `frames` columns of mel-major features [nMels][fullFrames]: the padded 30 s
 * features cut short, so the frames kept are the same values the full window would carry.
 */
export function cropFeatures(
  features: Float32Array,
  nMels: number,
  fullFrames: number,
  frames: number,
): Float32Array {
  if (frames === fullFrames) return features;
  const out = new Float32Array(nMels * frames);
  for (let m = 0; m < nMels; m++)
    out.set(features.subarray(m * fullFrames, m * fullFrames + frames), m * frames);
  return out;
}

/**
 * Check at load that the encoder runs a `windowS` window: its declared time axis must not be a
 * fixed other length, and one run on silent features must return frames / 2 rows. Throws
 * E_WHISPER_WINDOW naming the file, the key and what the encoder takes.
 */
export async function checkWindow(
  encoder: OnnxModel,
  windowS: number,
  spec: WhisperSpec,
  file: string,
): Promise<void> {
  if (!Number.isInteger(windowS) || windowS < 1 || windowS > FULL_WINDOW_S) {
    throw new EdgeloomError(
      ErrorCode.E_CONFIG,
      `${KEY} must be a whole number of seconds in 1..${FULL_WINDOW_S} (got ${windowS})`,
      { where: KEY },
    );
  }
  if (windowS >= FULL_WINDOW_S) return;
  const frames = windowS * framesPerSecond(spec);
  const refuse = (why: string, cause?: unknown): EdgeloomError =>
    new EdgeloomError(
      ErrorCode.E_WHISPER_WINDOW,
      `${KEY} is ${windowS} but the Whisper encoder ${file} ${why}; it only runs Whisper's ` +
        `${FULL_WINDOW_S} s window. Set ${KEY} to ${FULL_WINDOW_S}, or use an export whose position ` +
        'table is sliced to the input length (as whisper.cpp and sherpa-onnx do).',
      { where: file, ...(cause === undefined ? {} : { cause }) },
    );
  const declared = encoder.inputShape('input_features');
  const time = declared?.[2];
  if (typeof time === 'number' && time !== frames) {
    throw refuse(`declares input_features [${declared!.join(', ')}] (a fixed ${time}-frame input)`);
  }
  let rows: number | undefined;
  try {
    const out = await encoder.run({
      input_features: tensor('float32', new Float32Array(spec.mel.nMels * frames), [
        1,
        spec.mel.nMels,
        frames,
      ]),
    });
    rows = out.last_hidden_state?.dims[1];
  } catch (err) {
    throw refuse(`fails on ${frames} frames (${toError(err).message.trim()})`, err);
  }
  if (rows !== frames / 2) {
    throw refuse(`returns ${rows ?? 'no'} rows for ${frames} frames (expected ${frames / 2})`);
  }
}
