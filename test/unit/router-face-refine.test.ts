/** The face cloud path's pure parts: held frames, vision request, answer parsing, refined inference. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EMOTIONS, type Emotion, type FaceInference } from '../../daemon/bus/topics.js';
import { classifyBody } from '../../daemon/router/egress.js';
import {
  faceRefinementMessages,
  parseFaceRefinement,
  refinedFaceInference,
} from '../../daemon/router/face-refine.js';
import { frameKey, HeldMedia } from '../../daemon/router/held-media.js';
import { REPO_ROOT } from '../helpers/tools.js';

const probs = (top: Emotion, p: number, second: Emotion, q: number): Record<Emotion, number> =>
  Object.fromEntries(EMOTIONS.map((e) => [e, e === top ? p : e === second ? q : 0])) as Record<
    Emotion,
    number
  >;

const local: FaceInference = {
  modelId: 'det+cls',
  confidence: 0.05,
  latencyMs: 12,
  inputTsMs: 1000,
  frameSeq: 7,
  width: 640,
  height: 480,
  faces: [
    {
      box: { x: 10.4, y: 20.6, width: 100, height: 120 },
      score: 0.9,
      emotion: 'happy',
      probabilities: probs('happy', 0.5, 'neutral', 0.45),
    },
    {
      box: { x: 300, y: 40, width: 80, height: 90 },
      score: 0.5,
      emotion: 'sad',
      probabilities: probs('sad', 0.6, 'angry', 0.3),
    },
  ],
};

/** A real JPEG from the face fixture (its first frame). */
const jpeg = (() => {
  const mjpeg = readFileSync(join(REPO_ROOT, 'fixtures/faces/camera.mjpeg'));
  return mjpeg.subarray(0, mjpeg.indexOf(Buffer.from([0xff, 0xd9])) + 2);
})();

describe('HeldMedia (frames)', () => {
  it('keeps the newest frames per camera and seq, forgetting the oldest past its capacity', () => {
    const held = new HeldMedia<Buffer>(3);
    for (let seq = 0; seq < 5; seq++) held.put(frameKey('cam0', seq), Buffer.from([seq]));
    held.put(frameKey('cam1', 4), Buffer.from([99]));
    expect(held.size).toBe(3);
    expect(held.take(frameKey('cam0', 1))).toBeUndefined();
    expect(held.take(frameKey('cam0', 2))).toBeUndefined();
    expect(held.take(frameKey('cam1', 4))).toEqual(Buffer.from([99]));
    // Taken: its inference has it, the hold does not.
    expect(held.take(frameKey('cam1', 4))).toBeUndefined();
    expect(held.size).toBe(2);
    // A repeated seq (a looping replay) becomes the newest instead of the oldest.
    held.put(frameKey('cam0', 3), Buffer.from([33]));
    held.put(frameKey('cam2', 0), Buffer.from([0]));
    held.put(frameKey('cam2', 1), Buffer.from([1]));
    expect(held.take(frameKey('cam0', 3))).toEqual(Buffer.from([33]));
    expect(held.take(frameKey('cam0', 4))).toBeUndefined();
    held.clear();
    expect(held.size).toBe(0);
  });
});

describe('vision request', () => {
  it('carries the whole frame as a data: URL and the boxes to label, in OpenAI vision format', () => {
    const [system, user] = faceRefinementMessages(jpeg, local.faces);
    expect(system?.role).toBe('system');
    for (const e of EMOTIONS) expect(system?.content).toContain(e);
    expect(user?.role).toBe('user');
    const parts = user?.content as { type: string; text?: string; image_url?: { url: string } }[];
    const image = parts.find((p) => p.type === 'image_url');
    expect(image?.image_url?.url).toBe(`data:image/jpeg;base64,${jpeg.toString('base64')}`);
    const text = JSON.parse(parts.find((p) => p.type === 'text')?.text ?? '{}') as { faces: unknown[] };
    expect(text.faces).toEqual([
      { x: 10, y: 21, width: 100, height: 120 },
      { x: 300, y: 40, width: 80, height: 90 },
    ]);
  });

  it('is raw data to the egress guard even when a caller declares it as text', () => {
    const body = Buffer.from(JSON.stringify({ messages: faceRefinementMessages(jpeg, local.faces) }));
    expect(classifyBody(body, 'text')).toBe('raw');
  });
});

describe('parsing the answer', () => {
  it('takes one known label per face, tolerating case and spaces', () => {
    expect(parseFaceRefinement('{"emotions":["Surprised"," sad "]}', 2)).toEqual(['surprised', 'sad']);
  });

  it.each([
    ['not json', 'surprised'],
    ['no emotions key', '{"label":"sad"}'],
    ['too few labels', '{"emotions":["sad"]}'],
    ['an unknown label', '{"emotions":["sad","bored"]}'],
    ['a non-string label', '{"emotions":["sad",3]}'],
    ['null', 'null'],
  ])('refuses %s as E_CLOUD_BAD_RESPONSE', (_what, content) => {
    expect(() => parseFaceRefinement(content, 2)).toThrow(
      expect.objectContaining({ code: 'E_CLOUD_BAD_RESPONSE' }),
    );
  });
});

describe('refined inference', () => {
  it('takes the cloud labels with one-hot probabilities, keeps boxes and scores, and names what it refines', () => {
    const r = refinedFaceInference(local, ['surprised', 'sad'], {
      modelId: 'gpt-4o-mini',
      latencyMs: 340,
      refines: 'e42',
    });
    expect(r.refines).toBe('e42');
    expect(r.modelId).toBe('gpt-4o-mini');
    expect(r.frameSeq).toBe(7);
    expect(r.latencyMs).toBe(340);
    expect(r.faces.map((f) => f.emotion)).toEqual(['surprised', 'sad']);
    expect(r.faces.map((f) => f.box)).toEqual(local.faces.map((f) => f.box));
    expect(r.faces[0]?.probabilities.surprised).toBe(1);
    expect(Object.values(r.faces[0]?.probabilities ?? {}).reduce((s, p) => s + p, 0)).toBe(1);
    // Margin is now 1, so the frame's confidence is its weakest detector score.
    expect(r.confidence).toBeCloseTo(0.5);
    expect(local.faces[0]?.emotion).toBe('happy'); // the local inference is not mutated
  });
});
