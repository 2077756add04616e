/**
 * What "confidence" means per model, as one number in 0..1 the policy can compare with a
 * threshold. Each function documents its formula; all clamp to 0..1 and map NaN to 0 so a broken
 * model output asks for help instead of passing as certain.
 */
import type { FaceInference, FaceResult, Transcript } from '../bus/topics.js';

/** Threshold used for a model id `router.thresholds` does not list. */
export const DEFAULT_THRESHOLD = 0.5;

export function clamp01(x: number): number {
  if (!Number.isFinite(x)) return x === Number.POSITIVE_INFINITY ? 1 : 0;
  return Math.min(Math.max(x, 0), 1);
}

/**
 * One face: detector score × emotion margin (top-1 minus top-2 probability). A sure detection
 * with two nearly tied emotions is not a sure answer, and neither is a clear emotion on a box
 * that may not be a face; the product is low when either is.
 */
export function faceResultConfidence(face: FaceResult): number {
  let top1 = 0;
  let top2 = 0;
  for (const p of Object.values(face.probabilities)) {
    if (p > top1) {
      top2 = top1;
      top1 = p;
    } else if (p > top2) top2 = p;
  }
  return clamp01(clamp01(face.score) * clamp01(top1 - top2));
}

/**
 * A frame: the weakest face decides (one unsure face is reason enough to refine). A frame without
 * faces is a certain "no face": re-detecting needs the image, which only a public tier may send.
 */
export function faceConfidence(inference: Pick<FaceInference, 'faces'>): number {
  if (inference.faces.length === 0) return 1;
  let min = 1;
  for (const f of inference.faces) min = Math.min(min, faceResultConfidence(f));
  return min;
}

/**
 * Whisper: exp(mean token log-probability) is the geometric-mean token probability; it is
 * weighted by the probability that there was speech at all (1 − noSpeechProb). Empty text is 0.
 */
export function whisperConfidence(t: Pick<Transcript, 'avgLogProb' | 'noSpeechProb' | 'text'>): number {
  if (t.text.trim().length === 0) return 0;
  return clamp01(Math.exp(t.avgLogProb) * (1 - clamp01(t.noSpeechProb)));
}

/**
 * The configured threshold for a model id (`router.thresholds`), else DEFAULT_THRESHOLD. A
 * composite id (`detector+classifier`, as the face stage reports) not listed as a whole takes the
 * strictest threshold listed for any of its parts, so `face-api-expression: 0.8` applies to it.
 */
export function thresholdFor(thresholds: Readonly<Record<string, number>>, modelId: string): number {
  const listed = (id: string): number | undefined =>
    Object.hasOwn(thresholds, id) ? clamp01(thresholds[id] as number) : undefined;
  const own = listed(modelId);
  if (own !== undefined) return own;
  let strictest: number | undefined;
  for (const part of modelId.split('+')) {
    const t = listed(part);
    if (t !== undefined) strictest = Math.max(strictest ?? 0, t);
  }
  return strictest ?? DEFAULT_THRESHOLD;
}
