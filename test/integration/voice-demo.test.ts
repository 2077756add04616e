/**
 * The README's demo conversation, end to end through real parts: the compiled daemon (`run`)
 * replays fixtures/voice at real time (espeak-ng speech → real Silero VAD → the reference
 * transcriber, a labelled stand-in for whisper weights that cannot be had here), a real Mosquitto,
 * real espeak-ng writing each spoken answer to a WAV, and a loopback OpenAI-compatible server
 * standing in for a LAN llama.cpp (its answers are scripted; a model cannot run here). The MQTT
 * messages become the transcript printed in the README (test-artifacts/voice-demo.txt).
 *
 * The conversation: a local timer of five seconds (set, then announced once it runs out), a
 * question and a follow-up that needs the first turn, a long story cut off by "stop" while it
 * still streams (barge-in), and the weather read by the local skill from a retained topic.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BASE, startDaemon, writeDaemonConfig } from '../helpers/daemon-mqtt.js';
import { CHAT, FakeOpenAIServer, textAnswer } from '../helpers/fake-openai-server.js';
import { Mosquitto, mosquittoAvailable } from '../helpers/mosquitto.js';
import { needs, REPO_ROOT } from '../helpers/tools.js';
import { until } from '../helpers/wait.js';

const VOICE = join(REPO_ROOT, 'fixtures/voice');

interface Heard {
  readonly atMs: number;
  readonly topic: string;
  readonly payload: Record<string, unknown>;
}

describe.runIf(mosquittoAvailable() && needs({ tools: ['espeak-ng'] }))(
  'the demo conversation (README)',
  () => {
    let broker: Mosquitto;
    let server: FakeOpenAIServer;
    let dir: string;
    beforeAll(async () => {
      broker = await Mosquitto.start();
      server = await FakeOpenAIServer.start();
      dir = await mkdtemp(join(tmpdir(), 'edgeloom-voice-demo-'));
    });
    afterAll(async () => {
      await server.close();
      await broker.stop();
      await rm(dir, { recursive: true, force: true });
    });

    it('a timer, a question and its follow-up, a barge-in, the weather: each utterance acted on once', {
      timeout: 120_000,
    }, async () => {
      server.script(
        CHAT,
        textAnswer([
          'Mount Everest is the tallest mountain in the world. ',
          'Its summit is on the border of Nepal and China.',
        ]),
        textAnswer(['Everest is 8,849 metres tall, ', 'about 29,032 feet.']),
        // A long story, streamed slowly: "stop" comes while it still streams.
        textAnswer(
          Array.from({ length: 24 }, (_, i) => `The sea was calm on day ${i + 1} of the voyage. `),
          400,
        ),
      );
      const wavs = join(dir, 'wav');
      const config = writeDaemonConfig({
        dir,
        brokerUrl: broker.url,
        fixture: VOICE,
        speed: 1,
        extra: {
          sensors: { mic: { privacy: 'sensitive' }, camera: { enabled: false }, imu: { enabled: false } },
          cloud: { enabled: true, base_url: server.baseUrl, api_key: 'sk-lan', retries: 0 },
          router: { latency_budget_ms: 8000, privacy: { default_tier: 'sensitive' } },
          agents: {
            voice: {
              min_match_score: 0.6,
              intents: [],
              tts: { command: ['espeak-ng', '-w', join(wavs, '{utterance}.wav')] },
              skills: { weather: { topic: 'home/weather' } },
            },
          },
        },
      });
      const sub = await mqtt.connectAsync(broker.url, { clientId: 'demo-listener' });
      // The weather station's retained reading, there before the daemon starts.
      await sub.publishAsync('home/weather', JSON.stringify({ temperature: 18, condition: 'light rain' }), {
        retain: true,
        qos: 1,
      });
      const heard: Heard[] = [];
      const t0 = Date.now();
      sub.on('message', (topic, payload) => {
        try {
          heard.push({ atMs: Date.now() - t0, topic, payload: JSON.parse(payload.toString('utf8')) });
        } catch {
          // not JSON: not ours
        }
      });
      await sub.subscribeAsync(`${BASE}/voice/#`, { qos: 1 });
      mkdirSync(wavs, { recursive: true });
      const d = startDaemon(config, 110_000);
      try {
        await d.waitForLog('replay finished', 'stdout', 90_000);
        const of = (t: string) => heard.filter((h) => h.topic === `${BASE}/voice/${t}`);
        await until('the weather answer', () =>
          of('answer').some((a) => a.payload.final === true && String(a.payload.text).includes('rain')),
        );
      } finally {
        d.process.kill('SIGTERM');
        await d.exited;
        await sub.endAsync();
      }
      const of = (t: string) => heard.filter((h) => h.topic === `${BASE}/voice/${t}`);
      // The transcript, as the README shows it.
      const lines: string[] = [];
      let streaming = false; // sentences of an answer shown, its final message not yet
      for (const h of heard) {
        const s = `${(h.atMs / 1000).toFixed(1).padStart(5)} s`;
        const p = h.payload;
        const kind = h.topic.slice(`${BASE}/voice/`.length);
        if (kind === 'transcript') lines.push(`${s}  you        ${p.text}`);
        else if (kind === 'intent') lines.push(`${s}  intent     ${p.intent} (${p.source})`);
        else if (kind === 'timer') lines.push(`${s}  timer      ${p.state} (${p.seconds} s)`);
        else if (kind === 'answer' && p.final !== true) {
          // Sentence by sentence, as they stream and go to the TTS queue.
          lines.push(`${s}  assistant  ${p.text}`);
          streaming = true;
        } else if (kind === 'answer') {
          // A skill's answer comes whole; a streamed one was shown sentence by sentence.
          if (!streaming) lines.push(`${s}  assistant  ${p.text}`);
          streaming = false;
        } else if (kind === 'speaking' && p.state === 'start' && p.conversation_id == null)
          lines.push(`${s}  assistant  ${p.text}`); // the timer's announcement
        else if (kind === 'speech' && p.state === 'start' && streaming) {
          lines.push(`${s}  (you start speaking: barge-in, the answer stops)`);
          streaming = false;
        }
      }
      writeFileSync(join(REPO_ROOT, 'test-artifacts', 'voice-demo.txt'), `${lines.join('\n')}\n`);

      // The timer: set once, announced once when it ran out.
      expect(of('timer').map((h) => h.payload.state)).toEqual(['set', 'fired']);
      // The follow-up carried the first turn to the model.
      const bodies = server.requests
        .filter((r) => r.path === CHAT)
        .map((r) => JSON.parse(r.body.toString('utf8')));
      expect(bodies).toHaveLength(3);
      expect(bodies[1].messages.map((m: { content: string }) => m.content)).toContain(
        'Mount Everest is the tallest mountain in the world. Its summit is on the border of Nepal and China.',
      );
      // The barge-in cancelled the story's stream before it was complete.
      expect(server.requests.filter((r) => r.path === CHAT)[2]!.clientClosedAtMs).toBeDefined();
      // One intent per utterance acted on: the timer, two answers, the weather. The story was
      // cancelled before the model's answer was complete ("stop" is a stop word, not an intent).
      expect(of('intent').map((h) => h.payload.intent)).toEqual(['timer_set', 'answer', 'answer', 'weather']);
      const story = of('answer').filter((a) => String(a.payload.text).startsWith('The sea was calm'));
      expect(story.length).toBeGreaterThan(0);
      expect(story.length).toBeLessThan(24);
      expect(story.some((a) => a.payload.final === true)).toBe(false);
      // Every answer spoken went through espeak-ng into a WAV.
      expect(readdirSync(wavs).filter((f) => f.endsWith('.wav')).length).toBeGreaterThanOrEqual(5);
    });
  },
);
