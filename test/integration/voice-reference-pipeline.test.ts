/**
 * The voice path end to end in-process, with the reference transcriber standing in for whisper
 * weights that cannot be fetched here: fixtures/speech replayed on a virtual clock → real Silero
 * VAD segments → reference transcripts → the voice agent's intents and mqtt.publish tool calls.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAgents } from '../../daemon/agents/build.js';
import { Bus } from '../../daemon/bus/bus.js';
import type { Envelope } from '../../daemon/bus/envelope.js';
import type { IntentEvent, MqttAction, SayAction, Transcript } from '../../daemon/bus/topics.js';
import { loadConfig } from '../../daemon/config/index.js';
import { silentLogger } from '../../daemon/log.js';
import {
  createReferenceTranscriber,
  REFERENCE_MODEL_ID,
} from '../../daemon/pipeline/stt/reference-transcriber.js';
import { SttStage } from '../../daemon/pipeline/stt/stt-stage.js';
import { VadStage } from '../../daemon/pipeline/vad/vad-stage.js';
import { ReplaySource } from '../../daemon/replay/replay-source.js';
import type { Store } from '../../daemon/storage/store.js';
import { VirtualClock } from '../../daemon/util/virtual-clock.js';
import { REPO_ROOT } from '../helpers/tools.js';

const SPEECH = join(REPO_ROOT, 'fixtures', 'speech');

let dir: string;
let db: Store;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edgeloom-voice-ref-'));
  db = new Level<string, unknown>(dir, { valueEncoding: 'json' });
  await db.open();
});
afterEach(async () => {
  await db.close();
  await rm(dir, { recursive: true, force: true });
});

describe('voice intents from a replayed fixture through the reference transcriber', () => {
  it('turns on the kitchen light, turns off the bedroom light, and "stop" interrupts', async () => {
    const config = loadConfig({
      env: {},
      overrides: {
        device: { id: 'test' },
        storage: { dir },
        mqtt: { publish_allow: ['home/#'] },
        agents: {
          voice: {
            min_match_score: 0.6,
            intents: [
              {
                name: 'light_on',
                templates: ['turn on the {room} light'],
                action: { tool: 'mqtt.publish', args: { topic: 'home/{room}/light/set', payload: 'ON' } },
              },
              {
                name: 'light_off',
                templates: ['turn off the {room} light'],
                action: { tool: 'mqtt.publish', args: { topic: 'home/{room}/light/set', payload: 'OFF' } },
              },
            ],
          },
        },
      },
    });
    const vadConfig = config.pipeline.vad;
    const clock = new VirtualClock(0);
    const logger = silentLogger();
    const bus = new Bus({ clock, logger });
    const vad = new VadStage({
      bus,
      clock,
      logger,
      segmenter: {
        positiveSpeechThreshold: vadConfig.positive_threshold,
        negativeSpeechThreshold: vadConfig.negative_threshold,
        minSpeechMs: vadConfig.min_speech_ms,
        redemptionMs: vadConfig.redemption_ms,
        preRollMs: vadConfig.pre_roll_ms,
        maxSegmentMs: vadConfig.max_segment_ms,
      },
    });
    const stt = new SttStage({
      bus,
      clock,
      logger,
      createModel: () => createReferenceTranscriber({ fixtureDir: SPEECH }),
      transcribe: { language: 'en' },
    });
    const agents = createAgents({
      config,
      bus,
      clock,
      logger,
      storage: db,
      only: new Set(['voice', 'timers']),
    });
    const replay = new ReplaySource({
      fixtureDir: SPEECH,
      speed: 0,
      loop: false,
      clock,
      bus,
      logger,
      ids: { camera: 'cam', mic: 'mic', imu: 'imu' },
      imuEventRateHz: 50,
      micFrameSamples: 512,
      components: () => [vad, stt, agents.runtime],
    });
    const seen: Envelope[] = [];
    bus.subscribe('#', (env) => void seen.push(env), { component: 'test' });
    const signal = new AbortController().signal;
    for (const c of [agents.runtime, stt, vad, replay]) await c.start(signal);
    await replay.done;
    for (const c of [replay, vad, stt, agents.runtime]) await c.stop();

    const of = <T>(prefix: string) =>
      seen.filter((e) => e.topic.startsWith(prefix)).map((e) => e.payload as T);
    const transcripts = of<Transcript>('inference/stt/mic');
    // Every transcript says where it came from; the utterances arrive in the order spoken.
    expect(transcripts.length).toBeGreaterThanOrEqual(5);
    expect(new Set(transcripts.map((t) => t.modelId))).toEqual(new Set([REFERENCE_MODEL_ID]));
    const texts = transcripts.map((t) => t.text).filter((t) => t !== '');
    expect(texts).toEqual([
      'turn on the kitchen light',
      'what time is it',
      'turn off the bedroom light',
      'stop',
      'set a timer for ten minutes',
    ]);
    for (const t of transcripts.filter((x) => x.text !== '')) expect(t.confidence).toBeGreaterThan(0.5);

    const intents = of<IntentEvent>('agent/voice/intent');
    expect(intents.filter((i) => i.intent !== 'no_match')).toEqual([
      {
        intent: 'light_on',
        slots: { room: 'kitchen' },
        score: 1,
        text: 'turn on the kitchen light',
        source: 'local',
      },
      // The clock and timer skills' default intents answer the other two (agents/skills/).
      { intent: 'clock_time', slots: {}, score: 1, text: 'what time is it', source: 'local' },
      {
        intent: 'light_off',
        slots: { room: 'bedroom' },
        score: 1,
        text: 'turn off the bedroom light',
        source: 'local',
      },
      {
        intent: 'timer_set',
        slots: { seconds: 600 },
        score: 1,
        text: 'set a timer for ten minutes',
        source: 'local',
      },
    ]);
    expect(of<SayAction>('action/say').map((a) => a.text)).toContain('Timer set for 10 minutes.');
    // "stop" is an interrupt, never matched as an utterance.
    expect(intents.map((i) => i.text)).not.toContain('stop');
    expect(of<MqttAction>('action/mqtt')).toEqual([
      { topic: 'home/kitchen/light/set', payload: 'ON', qos: 1, retain: false, absolute: true },
      { topic: 'home/bedroom/light/set', payload: 'OFF', qos: 1, retain: false, absolute: true },
    ]);
    // Speech starts interrupt only when work is in flight (none is, at speed 0), so the one
    // interrupt counted is the "stop" utterance.
    expect(agents.runtime.get('voice')!.state()).toMatchObject({ matched: 4, noMatch: 0, interrupts: 1 });
  });
});
