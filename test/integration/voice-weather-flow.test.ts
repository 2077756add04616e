/**
 * The seeds' second example flow (seed 003's Perceive–Think–Act), through real parts: "what's the
 * weather" is heard badly by the device; its transcript is published at once (feedback, `final`
 * false on MQTT); the router refines it in the cloud (the microphone is `public`, the transcript
 * unsure: a hybrid route, the segment's audio to a loopback OpenAI-compatible server); the agent
 * waits for that refinement and acts once, on it: the local weather skill reads a LAN HTTP JSON
 * endpoint (a loopback server) and its answer is spoken by the TTS actuator running a real
 * espeak-ng into a WAV.
 */

import { readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TtsActuator } from '../../daemon/actions/tts.js';
import type { AnswerEvent, IntentEvent, SpeakingEvent, Transcript } from '../../daemon/bus/topics.js';
import { silentLogger } from '../../daemon/log.js';
import { defaultTranscription, FakeOpenAIServer, TRANSCRIPTIONS } from '../helpers/fake-openai-server.js';
import { needs } from '../helpers/tools.js';
import { voiceRig } from '../helpers/voice-rig.js';
import { until } from '../helpers/wait.js';

let cloud: FakeOpenAIServer;
let station: Server;
let wavs: string;
beforeEach(async () => {
  cloud = await FakeOpenAIServer.start();
  // The weather station on the LAN: a JSON document, as many home weather stations serve.
  station = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ outside: { temp_c: 14.5 }, summary: 'scattered clouds' }));
  });
  await new Promise<void>((r) => station.listen(0, '127.0.0.1', r));
  wavs = await mkdtemp(join(tmpdir(), 'edgeloom-weather-wav-'));
});
afterEach(async () => {
  await cloud.close();
  await new Promise((r) => station.close(r));
  await rm(wavs, { recursive: true, force: true });
});

describe.runIf(needs({ tools: ['espeak-ng'] }))("the seeds' weather flow", () => {
  it('transcript at once → cloud-refined → the weather tool → the answer spoken', async () => {
    cloud.script(TRANSCRIPTIONS, defaultTranscription("what's the weather like"));
    const url = `http://127.0.0.1:${(station.address() as AddressInfo).port}/now.json`;
    const t = await voiceRig({
      server: cloud,
      tier: 'public',
      voice: {
        intents: [],
        skills: { weather: { url, fields: { temperature: 'outside.temp_c', condition: 'summary' } } },
      },
    });
    const tts = new TtsActuator({
      bus: t.bus,
      logger: silentLogger(),
      command: {
        command: ['espeak-ng', '-w', join(wavs, '{utterance}.wav')],
        input: 'stdin',
        player: [],
        outputDevice: 'default',
      },
      queueSize: 8,
      maxUtteranceMs: 30_000,
    });
    await tts.start();
    // Heard badly on the device: "what's the whether light".
    await t.say("what's the whether light", true);
    const spoken = await until('the answer spoken', () =>
      t.of<SpeakingEvent>('action/speaking').find((e) => e.state === 'end' && e.ok === true),
    );
    // 1. The local transcript went out at once, before anything else happened.
    const order = t.seen.map((e) => e.topic);
    const local = order.indexOf('inference/stt/mic');
    expect(local).toBeGreaterThanOrEqual(0);
    expect(order.indexOf('inference/stt/mic/refined')).toBeGreaterThan(local);
    // 2. Acted once, on the refinement: the weather intent, from the cloud's better hearing.
    expect(t.of<IntentEvent>('agent/voice/intent')).toEqual([
      expect.objectContaining({ intent: 'weather', text: "what's the weather like" }),
    ]);
    expect(t.of<Transcript>('inference/stt/mic/refined')).toHaveLength(1);
    // 3. The weather tool read the LAN station, 4. and the answer was spoken and shown.
    expect(spoken.text).toBe('It is 14.5 degrees and scattered clouds.');
    expect(t.of<AnswerEvent>('agent/voice/answer').at(-1)).toMatchObject({ text: spoken.text, final: true });
    expect(readdirSync(wavs).filter((f) => f.endsWith('.wav'))).toHaveLength(1);
    // The audio went to the cloud for the refinement only (public tier); no chat was needed.
    expect(cloud.requests.map((r) => r.path)).toEqual([TRANSCRIPTIONS]);
    await tts.stop();
    await t.stop();
  });
});
