/**
 * `edgeloom replay fixtures/speech --stt reference --emit jsonl`: the kitchen-light intent reaches
 * the MQTT output end to end through the compiled CLI, with the reference transcriber standing in
 * for whisper weights that cannot be fetched here.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli-process.js';

interface Line {
  readonly t_ms: number;
  readonly topic: string;
  readonly payload: unknown;
  readonly qos: number;
}

const CONFIG = `
device: { id: ref-test }
mqtt:
  publish_allow: ["home/#"]
agents:
  voice:
    min_match_score: 0.6
    intents:
      - name: light_on
        templates: ["turn on the {room} light"]
        action: { tool: mqtt.publish, args: { topic: "home/{room}/light/set", payload: "ON" } }
      - name: light_off
        templates: ["turn off the {room} light"]
        action: { tool: mqtt.publish, args: { topic: "home/{room}/light/set", payload: "OFF" } }
`;

let dir: string;
let configFile: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edgeloom-ref-cli-'));
  configFile = join(dir, 'edgeloom.yaml');
  await writeFile(configFile, CONFIG);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('replay --stt reference', () => {
  it('prints the voice/intent message and the publish to home/kitchen/light/set', async () => {
    const r = await runCli(
      ['replay', 'fixtures/speech', '--stt', 'reference', '--emit', 'jsonl', '--config', configFile],
      { timeoutMs: 60_000 },
    );
    expect(r.stderr).not.toContain('"level":"error"');
    expect(r.code).toBe(0);
    const lines = r.stdout
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Line);
    const transcripts = lines.filter((l) => l.topic === 'edgeloom/ref-test/voice/transcript');
    expect(transcripts.length).toBeGreaterThanOrEqual(5);
    for (const t of transcripts) expect(t.payload).toMatchObject({ model: 'reference-transcript' });

    const intents = lines.filter((l) => l.topic === 'edgeloom/ref-test/voice/intent');
    expect(intents[0]!.payload).toMatchObject({
      intent: 'light_on',
      slots: { room: 'kitchen' },
      text: 'turn on the kitchen light',
      source: 'local',
    });
    const lights = lines.filter((l) => l.topic.startsWith('home/'));
    expect(lights.map((l) => [l.topic, l.payload, l.qos])).toEqual([
      ['home/kitchen/light/set', 'ON', 1],
      ['home/bedroom/light/set', 'OFF', 1],
    ]);
    // The action follows the intent it came from, in the speech's time (1.0–2.35 s, plus VAD's end).
    const intentAt = lines.indexOf(intents[0]!);
    expect(lines.indexOf(lights[0]!)).toBeGreaterThan(intentAt);
    expect(lights[0]!.t_ms).toBeGreaterThan(2350);
    expect(lights[0]!.t_ms).toBeLessThan(3850);
  });

  it('refuses a fixture without truth.speech at start-up, naming pipeline.stt.engine', async () => {
    const r = await runCli(['replay', 'fixtures/imu', '--stt', 'reference', '--emit', 'jsonl'], {
      timeoutMs: 60_000,
    });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/pipeline\.stt\.engine.*truth\.speech.*\[E_CONFIG\]/);
  });

  it('refuses an unknown engine as a usage error', async () => {
    const r = await runCli(['replay', 'fixtures/speech', '--stt', 'vosk']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--stt is "whisper" or "reference"');
  });
});
