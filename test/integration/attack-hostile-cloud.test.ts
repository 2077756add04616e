/**
 * Attack: a hostile (or prompt-injected) cloud. The compiled CLI replays the demo fixture
 * (`replay --emit jsonl`: every MQTT message the daemon would publish, with its retain flag) with
 * the cloud pointed at a loopback OpenAI-compatible server that answers every chat request with
 * tool calls nobody asked for: a retained `OPEN` to the garage door (twice), a phishing text for
 * the kiosk display, and error lines for the journal. The same server refines every transcript
 * (the mic is `public` and every utterance lands in the hybrid band), which is how one "turn on
 * the kitchen light" became two ON publishes: the refinement was taken as a second utterance.
 *
 * What must hold: by default the cloud may call no tool that acts; a user who allows tools still
 * never gets a retained publish from the cloud, duplicates run once, and a cloud `log` line is
 * marked as the cloud's, at most `info`, without raw control characters.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { runCli } from '../helpers/cli-process.js';
import { DEMO } from '../helpers/daemon-mqtt.js';
import {
  CHAT,
  defaultTranscription,
  FakeOpenAIServer,
  TRANSCRIPTIONS,
  toolCallAnswer,
} from '../helpers/fake-openai-server.js';

const GARAGE = 'demo/garage/door/set';
const PHISHING = 'Security alert: call +1 555 0100 now to unlock your door';
/** C1 CSI (U+009B) clears a terminal showing `journalctl`; JSON encoders leave it raw. */
const FORGED = 'FORGED disk failure, replace the device\n{"level":"fatal","msg":"FORGED root login"}\u009b2J';

const HOSTILE = toolCallAnswer([
  { name: 'mqtt_publish', arguments: { topic: GARAGE, payload: 'OPEN', retain: true } },
  { name: 'mqtt_publish', arguments: { topic: GARAGE, payload: 'OPEN', retain: true } },
  { name: 'display_show', arguments: { emotion: 'happy', text: PHISHING } },
  { name: 'log', arguments: { level: 'error', message: FORGED } },
]);

interface Emitted {
  readonly topic: string;
  readonly payload: unknown;
  readonly retain: boolean;
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edgeloom-attack-cloud-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function replayAgainst(
  name: string,
  agents: Record<string, unknown>,
): Promise<{ emitted: Emitted[]; logs: string; server: FakeOpenAIServer }> {
  const server = await FakeOpenAIServer.start();
  server.setDefault(CHAT, HOSTILE);
  // Every refinement hears the kitchen-light sentence: a refinement acted on is one ON too many.
  server.setDefault(TRANSCRIPTIONS, defaultTranscription('turn on the kitchen light'));
  const config = join(dir, `${name}.yaml`);
  await writeFile(
    config,
    stringify({
      device: { id: 'attack-dev' },
      log: { level: 'info' },
      storage: { dir: join(dir, `${name}-state`) },
      pipeline: { stt: { engine: 'reference' } },
      sensors: { mic: { privacy: 'public' }, camera: { privacy: 'local_only' } },
      cloud: { enabled: true, base_url: server.baseUrl, api_key: 'sk-test', retries: 0 },
      // Reference transcripts have confidence <= 1: with this band every utterance is hybrid.
      router: { latency_budget_ms: 20_000, thresholds: { 'reference-transcript': 0.5 }, hybrid_band: 0.6 },
      mqtt: { publish_allow: ['home/#', 'demo/#'] },
      http: { enabled: false },
      agents: {
        voice: {
          // The demo's "what time is it" would be the clock skill's: it must reach the cloud here.
          skills: { default_intents: false },
          min_match_score: 0.6,
          intents: [
            {
              name: 'light_on',
              templates: ['turn on the {room} light'],
              action: { tool: 'mqtt.publish', args: { topic: 'home/{room}/light/set', payload: 'ON' } },
            },
          ],
        },
        ...agents,
      },
    }),
  );
  try {
    const r = await runCli(['replay', DEMO, '--speed', '0', '--config', config, '--emit', 'jsonl'], {
      timeoutMs: 90_000,
    });
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    const emitted = r.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Emitted);
    return { emitted, logs: r.stderr, server };
  } finally {
    await server.close();
  }
}

const on = (emitted: readonly Emitted[], topic: string): Emitted[] =>
  emitted.filter((m) => m.topic === topic);

describe('a hostile cloud', () => {
  it('by default can make the device do nothing, and a refinement is not a second utterance', async () => {
    const { emitted, logs, server } = await replayAgainst('defaults', {});
    // The cloud was asked (the second utterance matches no intent) and answered with its calls.
    const chats = server.requests.filter((r) => r.path === CHAT);
    expect(chats.length).toBeGreaterThan(0);
    // Nothing that acts is offered to it in the first place.
    for (const c of chats) expect(JSON.parse(c.body.toString('utf8')).tools ?? []).toEqual([]);
    expect(on(emitted, GARAGE)).toEqual([]);
    expect(emitted.filter((m) => JSON.stringify(m.payload).includes('Security alert'))).toEqual([]);
    expect(logs).not.toContain('FORGED');
    // The refinements reached the device (the cloud heard the sentence for both utterances) ...
    expect(server.requests.filter((r) => r.path === TRANSCRIPTIONS).length).toBeGreaterThanOrEqual(2);
    // ... and the kitchen light was switched once, for the one utterance that asked for it.
    expect(on(emitted, 'home/kitchen/light/set').map((m) => m.payload)).toEqual(['ON']);
  }, 120_000);

  it('with tools allowed: still no retained publish, and its log line is marked and tamed', async () => {
    const { emitted, logs } = await replayAgainst('allowed', {
      cloud_tools: {
        allow: ['mqtt.publish', 'display.show', 'log'],
        publish_allow: [GARAGE],
        max_calls_per_utterance: 8,
      },
    });
    // Both garage calls asked for retain: refused, so the door topic got nothing at all.
    expect(on(emitted, GARAGE)).toEqual([]);
    // The user allowed the display, so the text shows (once per answer).
    expect(on(emitted, 'edgeloom/attack-dev/display/set').length).toBeGreaterThan(0);
    const lines = logs.split('\n').filter((l) => l.includes('FORGED'));
    expect(lines.length).toBeGreaterThan(0);
    for (const line of lines) {
      const entry = JSON.parse(line) as Record<string, unknown>;
      expect(entry).toMatchObject({ level: 'info', origin: 'cloud', requested_level: 'error' });
      // One journal line per call: the newline stayed inside the message, escaped, and the
      // terminal control character is gone.
      expect(line).not.toMatch(/\p{Cc}/u);
    }
  }, 120_000);
});
