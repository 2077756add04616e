/**
 * The router (README, "The router") through the whole daemon: the compiled CLI replays the bundled
 * speech and face fixtures (`edgeloom replay DIR --emit-bus 'router/#'`) with a configuration file
 * pointing the cloud at a real loopback server that records every byte, once per privacy tier.
 * Thresholds of 1 make every local result "not confident enough", so the policy wants the cloud
 * for each utterance and each face; only the tier stands between the data and the server.
 *
 * - every decision printed carries a reason code and the numbers it used;
 * - sensitive, private, local_only: no audio or image byte reaches the server (raw, base64, as
 *   a data: URL or a multipart audio part); private and local_only: no request at all;
 * - public: the same runs do send the audio and the frames, and the refined face labels come out
 *   of the daemon (MQTT `face/emotion`), so the test can fail.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PrivacyTier, RouteDecision } from '../../daemon/bus/topics.js';
import type { FixtureFrame } from '../../daemon/recording/reader.js';
import { runCli } from '../helpers/cli-process.js';
import { CHAT, FakeOpenAIServer, TRANSCRIPTIONS } from '../helpers/fake-openai-server.js';
import {
  FACES_FIXTURE as FACES,
  fixtureFrames,
  MediaInspector,
  SPEECH_FIXTURE as SPEECH,
  speechUtterances,
} from '../helpers/privacy-inspect.js';

/** The label the loopback "vision model" answers; the local model never says it on these frames. */
const CLOUD_LABEL = 'disgusted';

let dir: string;
/** Every frame of the face fixture. */
let frames: FixtureFrame[] = [];
/** Audio or images in a body, by signature and by the speech and face fixtures' own bytes. */
let media: MediaInspector;
const mediaIn = (body: Buffer): string[] => media.find(body);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edgeloom-router-replay-'));
  frames = await fixtureFrames(FACES);
  media = new MediaInspector(await speechUtterances(SPEECH), frames);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface BusLine {
  readonly topic: string;
  readonly source?: string;
  readonly payload: unknown;
  readonly qos?: number;
}

async function replay(fixture: string, config: string): Promise<BusLine[]> {
  // --emit jsonl prints what would go over MQTT (no broker), so the refined labels can be seen too.
  const r = await runCli(
    ['replay', fixture, '--config', config, '--emit-bus', 'router/#', '--emit', 'jsonl'],
    {
      timeoutMs: 60_000,
    },
  );
  expect(r.code, r.stderr.slice(-2000)).toBe(0);
  return r.stdout
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as BusLine);
}

async function runTier(tier: PrivacyTier) {
  const server = await FakeOpenAIServer.start();
  server.visionLabel = CLOUD_LABEL;
  const config = join(dir, `${tier}.yaml`);
  await writeFile(
    config,
    [
      'cloud:',
      '  enabled: true',
      `  base_url: ${server.baseUrl}`,
      '  api_key: sk-test',
      '  retries: 0',
      'sensors:',
      `  mic: { privacy: ${tier} }`,
      `  camera: { privacy: ${tier} }`,
      'router:',
      '  latency_budget_ms: 10000',
      '  cost: { daily_cap_usd: 100 }',
      '  # 1 = no local result is ever confident enough: the policy wants the cloud for all of them.',
      "  # (The classifier id alone applies to the face stage's detector+classifier id; both spellings.)",
      '  thresholds: { whisper-synthetic-tiny: 1, face-api-expression: 1, faceapi-expression: 1 }',
      '  privacy:',
      `    default_tier: ${tier}`,
      `    overrides: { "inference/face/#": ${tier} }`,
      'pipeline:',
      '  stt: { model: whisper-synthetic-tiny }',
      '',
    ].join('\n'),
  );
  try {
    // The two fixtures run side by side (one per core), against the same recording server.
    const [speech, faces] = await Promise.all([replay(SPEECH, config), replay(FACES, config)]);
    const lines = [...speech, ...faces];
    const decisions = lines
      .filter((l) => l.topic === 'router/decision' && l.source === 'router')
      .map((l) => l.payload as RouteDecision);
    return { server, decisions, lines };
  } finally {
    await server.close();
  }
}

function expectExplained(decisions: readonly RouteDecision[]): void {
  for (const d of decisions) {
    expect(d.reason).toMatch(/^[a-z_]+$/);
    expect(Number.isFinite(d.numbers.confidence)).toBe(true);
    expect(d.numbers.threshold).toBe(1);
    expect(d.numbers.latencyBudgetMs).toBe(10_000);
  }
}

describe('edgeloom replay with a cloud configured: decisions and the privacy proof per tier', () => {
  for (const tier of ['sensitive', 'private', 'local_only'] as const) {
    it(`${tier}: decisions explain themselves and no audio or image byte reaches the server`, async () => {
      const { server, decisions } = await runTier(tier);
      const transcripts = decisions.filter((d) => d.kind === 'transcript');
      const faces = decisions.filter((d) => d.kind === 'face');
      expect(transcripts.length).toBeGreaterThan(0);
      expect(faces.length).toBeGreaterThan(0);
      expectExplained(decisions);
      for (const d of decisions) {
        expect(d.tier).toBe(tier);
        // Privacy is the first rule: it settles every one of these, although confidence wanted the cloud.
        expect([d.route, d.reason]).toEqual(['local', expect.stringMatching(/^privacy_/)]);
      }
      expect(faces.some((d) => d.numbers.confidence! < 1)).toBe(true);
      for (const r of server.requests)
        expect({ path: r.path, media: mediaIn(r.body) }).toEqual({ path: CHAT, media: [] });
      if (tier === 'sensitive') {
        // Derived text may leave: the voice assistant's unmatched utterances as chat text.
        expect(server.requests.length).toBeGreaterThan(0);
      } else {
        expect(server.requests).toEqual([]);
      }
    });
  }

  it('public: the same replays send the audio and the frames, and the cloud labels supersede the local ones', async () => {
    const { server, decisions, lines } = await runTier('public');
    expectExplained(decisions);
    const escalated = (kind: string) =>
      decisions.filter((d) => d.kind === kind && (d.route === 'cloud' || d.route === 'hybrid'));
    expect(escalated('transcript').length).toBeGreaterThan(0);
    expect(escalated('face').length).toBeGreaterThan(0);
    expect(decisions.filter((d) => d.route === 'local_fallback')).toEqual([]);

    const transcriptions = server.requests.filter((r) => r.path === TRANSCRIPTIONS);
    expect(transcriptions).toHaveLength(escalated('transcript').length);
    for (const r of transcriptions) expect(mediaIn(r.body)).toContain('RIFF/WAVE header');
    expect(transcriptions.some((r) => mediaIn(r.body).some((m) => m.startsWith('samples of ')))).toBe(true);

    const vision = server.requests.filter(
      (r) => r.path === CHAT && mediaIn(r.body).includes('signature data:image/'),
    );
    expect(vision).toHaveLength(escalated('face').length);
    // Each is one whole fixture frame, as the OpenAI vision format carries it.
    for (const r of vision) {
      const body = r.body.toString('utf8');
      expect(frames.some((f) => body.includes(`data:image/jpeg;base64,${f.jpeg.toString('base64')}`))).toBe(
        true,
      );
    }

    const emotions = lines
      .filter((l) => l.topic.endsWith('/face/emotion') && l.qos !== undefined)
      .map((l) => l.payload as { emotion: string | null; model: string });
    const refined = emotions.filter((e) => e.model === 'gpt-4o-mini');
    expect(refined).toHaveLength(vision.length);
    expect(refined.every((e) => e.emotion === CLOUD_LABEL)).toBe(true);
    expect(emotions.filter((e) => e.model !== 'gpt-4o-mini' && e.emotion === CLOUD_LABEL)).toEqual([]);
  });
});
