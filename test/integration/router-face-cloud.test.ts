/**
 * The face cloud path's failure modes at the router stage, against the recording loopback server:
 * a malformed vision answer and a frame the router never saw both end `local_fallback` with a
 * reason (and nothing refined is published); a refined inference (on `…/refined`) is never routed.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EMOTIONS, type Emotion, type FaceInference } from '../../daemon/bus/topics.js';
import { CHAT, FakeOpenAIServer } from '../helpers/fake-openai-server.js';
import { fixtureFrames } from '../helpers/privacy-inspect.js';
import { startRouterStage } from '../helpers/router-stage.js';

let dir: string;
let frame: { jpeg: Buffer; width: number; height: number };

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edgeloom-face-cloud-'));
  frame = (await fixtureFrames(undefined, 1))[0]!;
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const inference = (frameSeq: number, refines?: string): FaceInference => ({
  modelId: 'face-expression',
  confidence: 0.1,
  latencyMs: 10,
  inputTsMs: frameSeq * 200,
  frameSeq,
  width: frame.width,
  height: frame.height,
  faces: [
    {
      box: { x: 200, y: 80, width: 120, height: 140 },
      score: 0.8,
      emotion: 'happy',
      probabilities: Object.fromEntries(
        EMOTIONS.map((e) => [e, e === 'happy' ? 0.4 : e === 'neutral' ? 0.35 : 0.05]),
      ) as Record<Emotion, number>,
    },
  ],
  ...(refines === undefined ? {} : { refines }),
});

describe('face cloud path at the router stage', () => {
  it('a malformed answer or an unseen frame falls back with a reason; refinements are not routed again', async () => {
    const server = await FakeOpenAIServer.start();
    server.script(CHAT, { kind: 'raw', body: '{"choices":[{"message":{"content":"a happy face"}}]}' });
    const { bus, router, stop, ...h } = await startRouterStage(
      {
        sensors: { camera: { privacy: 'public' } },
        router: {
          thresholds: { 'face-expression': 0.9 },
          privacy: { default_tier: 'public', overrides: { 'inference/face/#': 'public' } },
        },
        cloud: { enabled: true, base_url: server.baseUrl, api_key: 'sk-test', retries: 0 },
      },
      join(dir, 'store'),
    );
    try {
      await bus.publish('sensor/camera/cam0/frame', { seq: 1, tsMs: 200, ...frame });
      await bus.drain(10_000); // every subscriber handled the frame: it is in the router's cache
      await bus.publish('inference/face/cam0', inference(1)); // scripted: a non-JSON label
      await bus.publish('inference/face/cam0', inference(2)); // frame 2 was never published
      await bus.publish('inference/face/cam0/refined', inference(1, 'some-local-id')); // a refinement
      // Drained: every handler, the router's cloud call included, has finished and what it
      // published has been delivered.
      await bus.drain(10_000);
      expect(h.decisions.map((e) => [e.payload.route, e.payload.reason])).toEqual([
        ['cloud', 'confidence_below_threshold'],
        ['local_fallback', 'cloud_bad_response'],
        ['local_fallback', 'image_unavailable'],
      ]);
      expect(server.requests).toHaveLength(1);
      expect(server.requests[0]?.body.toString('utf8')).toContain(frame.jpeg.toString('base64'));
      expect(h.faceRefinements.map((r) => r.payload.refines)).toEqual(['some-local-id']); // only our own publish
      const t = router.snapshot();
      expect([t.cloudCalls, t.cloudFailures, t.refinementsPublished]).toEqual([1, 1, 0]);
    } finally {
      await stop();
      await server.close();
    }
  });
});
