/**
 * `<base>/voice/speaking` and `<base>/voice/answer` against a real Mosquitto: the TTS actuator
 * speaking through a real espeak-ng (into WAV files), the voice agent's answers as it publishes
 * them, the MQTT bridge and client. Both are derived text under the microphone's tier: a second
 * bridge whose privacy gate holds the microphone `local_only` (to a LAN broker) sends neither.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { afterEach, describe, expect, it } from 'vitest';
import { MqttBridge } from '../../daemon/actions/mqtt-bridge.js';
import { MqttClientSink } from '../../daemon/actions/mqtt-client.js';
import { MqttEgressGate } from '../../daemon/actions/mqtt-egress.js';
import { TtsActuator } from '../../daemon/actions/tts.js';
import { Bus } from '../../daemon/bus/bus.js';
import type { PrivacyTier } from '../../daemon/bus/topics.js';
import { silentLogger } from '../../daemon/log.js';
import { PrivacyTiers } from '../../daemon/router/privacy.js';
import { SystemClock } from '../../daemon/util/clock.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { mqttTestConfig, Subscriber } from '../helpers/mqtt.js';
import { needs } from '../helpers/tools.js';
import { until } from '../helpers/wait.js';

const SHOWN = 'edgeloom/shown';
const HELD = 'edgeloom/held';

describe.runIf(needs({ tools: ['mosquitto', 'espeak-ng'] }))(
  'voice/speaking and voice/answer over MQTT',
  () => {
    const cleanups: (() => Promise<unknown>)[] = [];
    afterEach(async () => {
      for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
    });

    it('publishes each utterance start/end and each answer sentence, QoS 1, withheld where the mic tier forbids', async () => {
      const broker = await Mosquitto.start();
      cleanups.push(() => broker.stop());
      const dir = await mkdtemp(join(tmpdir(), 'edgeloom-tts-mqtt-'));
      cleanups.push(() => rm(dir, { recursive: true, force: true }));
      const clock = new SystemClock();
      const logger = silentLogger();
      const bus = new Bus({ clock, logger });
      cleanups.push(() => bus.close(1000));
      const store = new Level<string, unknown>(join(dir, 'db'), { valueEncoding: 'json' });
      cleanups.push(() => store.close());

      const sub = await Subscriber.connect(broker.url, [`${SHOWN}/#`, `${HELD}/#`]);
      cleanups.push(() => sub.close());
      const sink = new MqttClientSink({
        config: mqttTestConfig(broker.url, {
          discovery: { ...mqttTestConfig('').discovery, enabled: false },
        }),
        deviceId: 'test-dev',
        logger,
        clock,
        storage: store,
      });
      await sink.start(new AbortController().signal);
      cleanups.push(() => sink.stop());
      await sink.whenConnected();
      // The same broker seen as on the LAN, once with the microphone `private` (may go to a LAN
      // broker) and once `local_only` (may not leave the device).
      const bridge = (base: string, mic: PrivacyTier) => {
        const tiers = new PrivacyTiers({
          privacy: { default_tier: 'public', overrides: {} },
          sensors: { mic: { privacy: mic } },
        });
        const gate = new MqttEgressGate({
          destination: 'lan',
          host: '127.0.0.1',
          privacy: tiers,
          logger,
          clock,
        });
        const b = new MqttBridge({ bus, logger, sink, baseTopic: base, gate });
        cleanups.push(() => b.stop());
        return b.start();
      };
      await bridge(SHOWN, 'private');
      await bridge(HELD, 'local_only');
      const tts = new TtsActuator({
        bus,
        logger,
        command: {
          command: ['espeak-ng', '-w', join(dir, '{utterance}.wav')],
          input: 'stdin',
          player: [],
          outputDevice: 'default',
        },
        queueSize: 8,
        maxUtteranceMs: 10_000,
      });
      await tts.start();
      cleanups.push(() => tts.stop());

      // What the voice agent publishes for a two-sentence answer: each sentence to speak and show.
      const sentences = ['It is sunny in Lisbon.', 'Twenty two degrees.'];
      for (const [i, text] of sentences.entries()) {
        const final = i === sentences.length - 1;
        void bus.publish('agent/voice/answer', { text, final: false, conversationId: 'c1' });
        void bus.publish('action/say', {
          text,
          utteranceId: `u${i}`,
          conversationId: 'c1',
          final,
          source: 'answer',
        });
      }
      void bus.publish('agent/voice/answer', {
        text: sentences.join(' '),
        final: true,
        conversationId: 'c1',
      });
      await until('four voice/speaking messages', () => sub.on(`${SHOWN}/voice/speaking`).length === 4);
      await until('three voice/answer messages', () => sub.on(`${SHOWN}/voice/answer`).length === 3);

      const speaking = sub.on(`${SHOWN}/voice/speaking`);
      expect(speaking.map((m) => [m.qos, m.retain])).toEqual(Array(4).fill([1, false]));
      expect(speaking.map((m) => m.payload)).toEqual([
        {
          ts: expect.any(Number),
          state: 'start',
          text: sentences[0],
          utterance_id: 'u0',
          conversation_id: 'c1',
        },
        {
          ts: expect.any(Number),
          state: 'end',
          text: sentences[0],
          utterance_id: 'u0',
          conversation_id: 'c1',
          ok: true,
        },
        {
          ts: expect.any(Number),
          state: 'start',
          text: sentences[1],
          utterance_id: 'u1',
          conversation_id: 'c1',
        },
        {
          ts: expect.any(Number),
          state: 'end',
          text: sentences[1],
          utterance_id: 'u1',
          conversation_id: 'c1',
          ok: true,
        },
      ]);
      const answers = sub.on(`${SHOWN}/voice/answer`);
      expect(answers.map((m) => [m.qos, m.retain])).toEqual(Array(3).fill([1, false]));
      expect(answers.map((m) => m.payload)).toEqual([
        { ts: expect.any(Number), text: sentences[0], final: false, conversation_id: 'c1' },
        { ts: expect.any(Number), text: sentences[1], final: false, conversation_id: 'c1' },
        {
          ts: expect.any(Number),
          text: 'It is sunny in Lisbon. Twenty two degrees.',
          final: true,
          conversation_id: 'c1',
        },
      ]);
      // Real speech behind each start/end.
      for (const id of ['u0', 'u1'])
        expect((await stat(join(dir, `${id}.wav`))).size).toBeGreaterThan(10_000);

      // The held bridge is alive (device state passes) but sent no voice text: the stats message
      // is bridged after every voice event, in bus order, over the same connection.
      void bus.publish('system/stats', { probe: 1 });
      await until('the held bridge to pass device state', () => sub.on(`${HELD}/stats`).length === 1);
      expect(sub.messages.filter((m) => m.topic.startsWith(`${HELD}/voice/`))).toEqual([]);
    });
  },
);
