/**
 * Privacy proof: real speech audio and real JPEG frames from the bundled fixtures go over the
 * bus as VAD segments, transcripts, frames and face inferences, with the cloud enabled and
 * thresholds set so the policy WANTS the cloud. The loopback server's byte record must show no
 * audio or image byte under sensitive, private or local_only (and nothing at all under
 * local_only), while under public the audio did arrive — so the test can fail.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FaceInference, PrivacyTier, SpeechEvent, Transcript } from '../../daemon/bus/topics.js';
import { AuditLog, isEgressEntry } from '../../daemon/router/audit-log.js';
import { openStore, type Store } from '../../daemon/storage/store.js';
import { FakeOpenAIServer } from '../helpers/fake-openai-server.js';
import {
  fixtureFrames,
  MediaInspector,
  speechUtterances,
  type Utterance,
} from '../helpers/privacy-inspect.js';
import { startRouterStage } from '../helpers/router-stage.js';

let segments: Utterance[] = [];
let frames: { jpeg: Buffer; width: number; height: number }[] = [];
/** Audio or images in bytes: by signature, and by the samples and frames published below. */
let media: MediaInspector;
const hasImageOrAudio = (bytes: Buffer): string[] => media.find(bytes);
let dir: string;
let store: Store;

beforeAll(async () => {
  segments = await speechUtterances();
  frames = await fixtureFrames(undefined, 4);
  media = new MediaInspector(segments, frames);
  dir = await mkdtemp(join(tmpdir(), 'edgeloom-privacy-'));
  store = await openStore(dir);
});

afterAll(async () => {
  await store?.close();
  await rm(dir, { recursive: true, force: true });
});

async function runTier(tier: PrivacyTier) {
  const server = await FakeOpenAIServer.start();
  const h = await startRouterStage(
    {
      sensors: { mic: { privacy: tier }, camera: { privacy: tier } },
      router: {
        // Every local result falls below its threshold: the policy wants the cloud for all of them.
        thresholds: { 'whisper-tiny.en': 0.95, 'face-expression': 0.99 },
        privacy: { default_tier: tier, overrides: { 'inference/face/#': tier } },
      },
      cloud: { enabled: true, base_url: server.baseUrl, api_key: 'sk-test', retries: 0 },
    },
    store,
  );
  const { bus, router, decisions, faceRefinements, faceIds } = h;
  const [localIds, refinements] = [h.transcriptIds, h.transcriptRefinements];
  for (const s of segments) {
    const speech: SpeechEvent = {
      kind: 'end',
      modelId: 'silero-vad-v5',
      confidence: 0.9,
      latencyMs: 1,
      inputTsMs: s.endMs,
      startMs: s.startMs,
      endMs: s.endMs,
      sampleRateHz: 16_000,
      audio: s.audio,
      segmentId: `mic0:${s.startMs}`,
    };
    await bus.publish('inference/vad/mic0', speech);
    const t: Transcript = {
      modelId: 'whisper-tiny.en',
      confidence: 0.3,
      latencyMs: 50,
      inputTsMs: s.endMs,
      text: s.text,
      language: 'en',
      noSpeechProb: 0.1,
      avgLogProb: -1.2,
      durationMs: s.endMs - s.startMs,
      inferenceMs: 50,
      segmentStartMs: s.startMs,
      segmentId: `mic0:${s.startMs}`,
    };
    await bus.publish('inference/stt/mic0', t);
  }
  for (const [i, f] of frames.entries()) {
    await bus.publish('sensor/camera/cam0/frame', { seq: i, tsMs: i * 200, ...f });
    const inference: FaceInference = {
      modelId: 'face-expression',
      confidence: 0.2,
      latencyMs: 10,
      inputTsMs: i * 200,
      frameSeq: i,
      width: f.width,
      height: f.height,
      faces: [
        {
          box: { x: 200, y: 80, width: 120, height: 140 },
          score: 0.7,
          emotion: 'happy',
          probabilities: {
            neutral: 0.35,
            happy: 0.4,
            sad: 0.05,
            angry: 0.05,
            fearful: 0.05,
            disgusted: 0.05,
            surprised: 0.05,
          },
        },
      ],
    };
    await bus.publish('inference/face/cam0', inference);
  }
  // Drained: every handler (the router's cloud calls included) has finished and what it published
  // has been delivered, so the counts below are final.
  await bus.drain(10_000);
  const telemetry = router.snapshot();
  await h.stop();
  await server.close();
  return { server, decisions, refinements, localIds, faceRefinements, faceIds, telemetry };
}

describe('privacy proof through the router stage', () => {
  for (const tier of ['sensitive', 'private', 'local_only'] as const) {
    it(`${tier}: the policy wants the cloud, yet no audio or image byte leaves`, async () => {
      const { server, decisions, telemetry } = await runTier(tier);
      expect(decisions).toHaveLength(segments.length + frames.length);
      for (const d of decisions) {
        expect(d.payload.tier).toBe(tier);
        expect(d.payload.route).toBe('local');
        expect(d.payload.reason).toMatch(/^privacy_/);
        expect(d.payload.numbers.confidence).toBeLessThan(d.payload.numbers.threshold!);
      }
      expect(hasImageOrAudio(server.allBytes())).toEqual([]);
      if (tier === 'local_only') expect(server.requests).toHaveLength(0);
      expect(telemetry.egressBytes).toBe(server.allBytes().length);
      expect(telemetry.privacyViolations).toBe(0);
    });
  }

  it('public: the same run sends audio and frames, and refinements supersede the local results', async () => {
    const since = Date.now();
    const { server, decisions, refinements, localIds, faceRefinements, faceIds, telemetry } =
      await runTier('public');
    expect(hasImageOrAudio(server.allBytes())).toEqual(expect.arrayContaining(['RIFF/WAVE header']));
    expect(hasImageOrAudio(server.allBytes()).filter((f) => f.startsWith('samples of'))).toHaveLength(
      segments.length,
    );
    // Every frame went whole, as a base64 data: URL in a vision request.
    expect(hasImageOrAudio(server.allBytes()).filter((f) => f === 'JPEG base64')).toHaveLength(frames.length);
    const speechDecisions = decisions.filter((d) => d.payload.kind === 'transcript');
    expect(speechDecisions.map((d) => d.payload.route)).toEqual(segments.map(() => 'cloud'));
    expect(decisions.filter((d) => d.payload.kind === 'face').map((d) => d.payload.reason)).toEqual(
      frames.map(() => 'confidence_below_threshold'),
    );
    expect(refinements).toHaveLength(segments.length);
    expect(refinements.map((r) => r.payload.refines).sort()).toEqual([...localIds].sort());
    for (const r of refinements) expect(r.correlationId).toBe(r.payload.refines);
    // The local label was "happy"; the server's vision answer is "surprised" and supersedes it.
    expect(faceRefinements.map((r) => r.payload.refines).sort()).toEqual([...faceIds].sort());
    for (const r of faceRefinements) {
      expect(r.payload.faces.map((f) => f.emotion)).toEqual(['surprised']);
      expect(r.payload.modelId).toBe('gpt-4o-mini');
    }
    expect(telemetry.refinementsPublished).toBe(segments.length + frames.length);
    expect(telemetry.costTodayUsd).toBeCloseTo(segments.length * 0.006 + frames.length * 0.001);
    const audit = (await new AuditLog(store).list({ sinceMs: since }))
      .filter(isEgressEntry)
      .filter((e) => e.outcome === 'sent');
    expect(audit.filter((e) => e.dataKind === 'audio')).toHaveLength(segments.length);
    expect(audit.filter((e) => e.dataKind === 'image' && e.path === '/v1/chat/completions')).toHaveLength(
      frames.length,
    );
    expect(audit.every((e) => e.tier === 'public')).toBe(true);
  });

  it('a run-time tier change applies to the next decision', async () => {
    const server = await FakeOpenAIServer.start();
    const h = await startRouterStage(
      {
        sensors: { mic: { privacy: 'public' } },
        router: { thresholds: { 'whisper-tiny.en': 0.95 }, privacy: { default_tier: 'public' } },
        cloud: { enabled: true, base_url: server.baseUrl, api_key: 'sk-test', retries: 0 },
      },
      store,
    );
    const say = async (u: Utterance) => {
      await h.bus.publish('inference/vad/mic0', {
        kind: 'end',
        modelId: 'silero-vad-v5',
        confidence: 0.9,
        latencyMs: 1,
        inputTsMs: u.endMs,
        startMs: u.startMs,
        endMs: u.endMs,
        sampleRateHz: 16_000,
        audio: u.audio,
        segmentId: `mic0:${u.startMs}`,
      } satisfies SpeechEvent);
      await h.bus.publish('inference/stt/mic0', {
        modelId: 'whisper-tiny.en',
        confidence: 0.3, // below the threshold: the policy wants the cloud
        latencyMs: 50,
        inputTsMs: u.endMs,
        text: u.text,
        language: 'en',
        noSpeechProb: 0.1,
        avgLogProb: -1.2,
        durationMs: u.endMs - u.startMs,
        inferenceMs: 50,
        segmentStartMs: u.startMs,
        segmentId: `mic0:${u.startMs}`,
      } satisfies Transcript);
    };
    try {
      const [first, second] = [segments[0]!, segments[1]!];
      expect(h.router.tierFor('inference/stt/mic0')).toBe('public');
      await say(first);
      await h.bus.drain(10_000); // the router's handlers (its cloud call included) have finished
      expect(h.decisions).toHaveLength(1);
      expect(server.requests).toHaveLength(1);
      expect(h.decisions[0]!.payload).toMatchObject({ route: 'cloud', tier: 'public' });
      expect(media.find(server.allBytes())).toContain(`samples of "${first.text}"`);

      // What the MQTT command handler does on a privacy command; no restart in between.
      h.router.setTier('sensor:mic', 'local_only');
      expect(h.router.tierFor('inference/stt/mic0')).toBe('local_only');
      await say(second);
      await h.bus.drain(10_000);
      expect(h.decisions).toHaveLength(2);
      expect(h.decisions[1]!.payload).toMatchObject({
        route: 'local',
        reason: 'privacy_local_only',
        tier: 'local_only',
      });
      expect(server.requests).toHaveLength(1);
      expect(media.find(server.allBytes())).not.toContain(`samples of "${second.text}"`);
    } finally {
      await h.stop();
      await server.close();
    }
  });
});
