/**
 * The voice assistant's real parts on one bus, for the conversation tests: the router stage (its
 * policy, egress guard and audit log, talking HTTP to a loopback OpenAI-compatible server) and the
 * voice agent over LevelDB on disk, on the system clock. Transcripts and speech events are
 * published as the pipeline would; everything on the bus is recorded.
 */
import { randomInt } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createAgents } from '../../daemon/agents/build.js';
import type { VoiceState } from '../../daemon/agents/voice-state.js';
import { Bus } from '../../daemon/bus/bus.js';
import { type Envelope, Priority } from '../../daemon/bus/envelope.js';
import type { PrivacyTier, SpeechEvent, Transcript } from '../../daemon/bus/topics.js';
import { loadConfig } from '../../daemon/config/index.js';
import { silentLogger } from '../../daemon/log.js';
import { AuditLog } from '../../daemon/router/audit-log.js';
import { RouterStage } from '../../daemon/router/router.js';
import { openStore } from '../../daemon/storage/store.js';
import { SystemClock } from '../../daemon/util/clock.js';
import type { FakeOpenAIServer } from './fake-openai-server.js';

export interface VoiceRigOptions {
  readonly server: FakeOpenAIServer;
  readonly tier?: PrivacyTier;
  /** agents.voice keys over the rig's defaults. */
  readonly voice?: Record<string, unknown>;
  readonly cloudToolsAllow?: readonly string[];
  /** The wake phrase fallback (agents.voice.wake.phrase with mode wake_word and no wake model). */
  readonly wakePhrase?: string;
}

/** Speech-like noise, so its bytes are recognisable wherever they end up (a cloud's record). */
export function segmentAudio(samples = 16_000): Int16Array {
  const a = new Int16Array(samples);
  for (let i = 0; i < a.length; i++) a[i] = randomInt(-8000, 8000);
  return a;
}

export async function voiceRig(o: VoiceRigOptions) {
  const dir = await mkdtemp(join(tmpdir(), 'edgeloom-voice-rig-'));
  const store = await openStore(dir);
  const tier = o.tier ?? 'public';
  const config = loadConfig({
    env: {},
    overrides: {
      device: { id: 'test' },
      storage: { dir },
      sensors: { mic: { privacy: tier } },
      mqtt: { publish_allow: ['demo/#'] },
      router: { latency_budget_ms: 5000, privacy: { default_tier: tier } },
      cloud: { enabled: true, base_url: o.server.baseUrl, api_key: 'sk-test', retries: 0 },
      agents: {
        cloud_tools: {
          allow: [...(o.cloudToolsAllow ?? ['mqtt.publish'])],
          publish_allow: ['demo/+/light/set'],
        },
        voice: {
          min_match_score: 0.7,
          intents: [
            {
              name: 'light_on',
              templates: ['turn on the {room} light'],
              action: { tool: 'mqtt.publish', args: { topic: 'demo/{room}/light/set', payload: 'ON' } },
            },
          ],
          ...o.voice,
        },
      },
    },
  });
  const clock = new SystemClock();
  const logger = silentLogger();
  const bus = new Bus({ clock, logger });
  const audit = new AuditLog(store);
  const router = new RouterStage({
    bus,
    clock,
    logger,
    config: { router: config.router, cloud: config.cloud, sensors: config.sensors },
    storage: store,
    audit,
  });
  const agents = createAgents({
    config,
    bus,
    clock,
    logger,
    storage: store,
    only: new Set(['voice']),
    cloudAssist: true,
    audit: (entry) => audit.append(entry),
    ...(o.wakePhrase === undefined ? {} : { wakePhrase: o.wakePhrase }),
  });
  const seen: Envelope[] = [];
  bus.subscribe('#', (env) => void seen.push(env), { component: 'test', queueCapacity: 100_000 });
  await router.start(new AbortController().signal);
  await agents.runtime.start(new AbortController().signal);
  const voice = agents.runtime.get('voice')!;
  let segments = 0;
  /** Every segment's audio: the same noise, held by the router until its transcript is routed. */
  const audio = segmentAudio(16_000);
  /**
   * One utterance as the pipeline gives it: the segment's end (audio), then its transcript;
   * `unsure`: whisper's own numbers say it may have misheard, so the router wants it refined.
   */
  const say = async (text: string, unsure = false, timing?: { startMs: number; durationMs: number }) => {
    const n = ++segments;
    const durationMs = timing?.durationMs ?? 1000;
    const startMs = timing?.startMs ?? Date.now() - durationMs;
    const end: SpeechEvent = {
      kind: 'end',
      segmentId: `mic:${n}`,
      startMs,
      endMs: startMs + durationMs,
      sampleRateHz: 16_000,
      audio,
      modelId: 'silero',
      confidence: 0.9,
      latencyMs: 1,
      inputTsMs: 0,
    };
    await bus.publish('inference/vad/mic', end);
    const t: Transcript = {
      text,
      modelId: 'whisper-tiny',
      confidence: unsure ? 0.3 : 0.95,
      latencyMs: 10,
      inputTsMs: 0,
      language: 'en',
      noSpeechProb: unsure ? 0.1 : 0.01,
      avgLogProb: unsure ? -1.2 : -0.03,
      durationMs,
      inferenceMs: 100,
      segmentStartMs: startMs,
      segmentId: `mic:${n}`,
    };
    await bus.publish('inference/stt/mic', t);
  };
  const speechStart = async () => {
    const start: SpeechEvent = {
      kind: 'start',
      segmentId: `mic:${segments + 1}`,
      startMs: Date.now(),
      sampleRateHz: 16_000,
      modelId: 'silero',
      confidence: 0.9,
      latencyMs: 1,
      inputTsMs: 0,
    };
    await bus.publish('inference/vad/mic', start, { priority: Priority.critical });
  };
  const of = <T>(topic: string) => seen.filter((e) => e.topic === topic).map((e) => e.payload as T);
  const state = () => voice.state() as VoiceState;
  const stop = async () => {
    await agents.runtime.stop();
    await router.stop();
    await bus.close(1000);
    await store.close();
    await rm(dir, { recursive: true, force: true });
  };
  return { bus, router, agents, voice, state, say, speechStart, of, seen, stop, audit, audio };
}
