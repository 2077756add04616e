/**
 * The cloud path for faces: the frame's JPEG goes to an OpenAI-compatible vision model through
 * `/chat/completions` (an `image_url` content part with a data: URL), which answers one emotion
 * label per detected face as JSON. Only a `public` tier lets an image leave (policy.ts decides,
 * egress.ts enforces again on the bytes); under every other tier the frame is never even held
 * (held-media.ts).
 *
 * The refinement is a FaceInference like the local one, with the cloud's labels and `refines` set
 * to the local inference's envelope id, published on `inference/face/<camera>/refined` (the hybrid
 * route, README "The router": the local answer is out at once, the cloud's supersedes it for
 * whoever subscribes to refinements, correlated by id).
 */
import { EMOTIONS, type Emotion, type FaceInference, type FaceResult } from '../bus/topics.js';
import { EdgeloomError, ErrorCode } from '../errors.js';
import type { VisionMessage } from './cloud-api.js';
import type { CallOptions, CloudClient } from './cloud-client.js';
import { faceConfidence } from './confidence.js';

const SYSTEM_PROMPT =
  'You label facial expressions. The user sends one photo and a JSON list of face boxes in pixels ' +
  `(x, y, width, height). For each box, in order, choose exactly one of: ${EMOTIONS.join(', ')}. ` +
  'Answer only with JSON: {"emotions": ["<label for box 1>", ...]}.';

/** The chat messages for one frame: instructions, then the image and the boxes to label. */
export function faceRefinementMessages(jpeg: Buffer, faces: readonly FaceResult[]): VisionMessage[] {
  const boxes = faces.map((f) => ({
    x: Math.round(f.box.x),
    y: Math.round(f.box.y),
    width: Math.round(f.box.width),
    height: Math.round(f.box.height),
  }));
  return [
    { role: 'system', content: SYSTEM_PROMPT },
    {
      role: 'user',
      content: [
        { type: 'text', text: JSON.stringify({ labels: EMOTIONS, faces: boxes }) },
        { type: 'image_url', image_url: { url: `data:image/jpeg;base64,${jpeg.toString('base64')}` } },
      ],
    },
  ];
}

const badAnswer = (message: string): EdgeloomError =>
  new EdgeloomError(ErrorCode.E_CLOUD_BAD_RESPONSE, message, { where: 'router.face-refine' });

const isEmotion = (x: unknown): x is Emotion => EMOTIONS.includes(x as Emotion);

/** `{"emotions": [...]}` with exactly one known label per face; anything else is a bad response. */
export function parseFaceRefinement(content: string, faceCount: number): Emotion[] {
  let json: unknown;
  try {
    json = JSON.parse(content);
  } catch {
    throw badAnswer(`face labels are not JSON (${content.length} chars)`);
  }
  const emotions = (json as { emotions?: unknown } | null)?.emotions;
  if (!Array.isArray(emotions) || emotions.length !== faceCount) {
    throw badAnswer(`expected ${faceCount} face labels`);
  }
  const labels = emotions.map((e) => (typeof e === 'string' ? e.trim().toLowerCase() : e));
  if (!labels.every(isEmotion)) throw badAnswer(`face labels outside ${EMOTIONS.join('/')}`);
  return labels;
}

/**
 * The refined inference: each face takes the cloud's label. The cloud answers a label, not a
 * distribution, so its probabilities are one-hot; the detector's box and score stay, and the
 * confidence is recomputed the same way as the local one's (confidence.ts).
 */
export function refinedFaceInference(
  local: FaceInference,
  labels: readonly Emotion[],
  meta: { readonly modelId: string; readonly latencyMs: number; readonly refines: string },
): FaceInference {
  const faces = local.faces.map((f, i) => {
    const emotion = labels[i] ?? f.emotion;
    const probabilities = Object.fromEntries(EMOTIONS.map((e) => [e, e === emotion ? 1 : 0])) as Record<
      Emotion,
      number
    >;
    return { ...f, emotion, probabilities };
  });
  return {
    ...local,
    modelId: meta.modelId,
    faces,
    confidence: faceConfidence({ faces }),
    latencyMs: meta.latencyMs,
    refines: meta.refines,
  };
}

/** Ask the cloud for the frame's labels; throws the client's errors or E_CLOUD_BAD_RESPONSE. */
export async function refineFaceInCloud(
  client: CloudClient,
  local: FaceInference,
  jpeg: Buffer,
  options: CallOptions & { readonly modelId: string; readonly refines: string },
): Promise<FaceInference> {
  const r = await client.completeJson(faceRefinementMessages(jpeg, local.faces), options);
  const labels = parseFaceRefinement(r.content, local.faces.length);
  return refinedFaceInference(local, labels, {
    modelId: options.modelId,
    latencyMs: r.latencyMs,
    refines: options.refines,
  });
}
