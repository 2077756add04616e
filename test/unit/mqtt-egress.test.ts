/**
 * MQTT as an egress (daemon/actions/mqtt-egress.ts): the broker's destination from the URL, the
 * table of what each tier may publish where, and the gate's per-reason counts. Every contract
 * message that carries personal data is classified, and only `display/set` of those is retained
 * (what forget clears).
 */
import { describe, expect, it } from 'vitest';
import { PERSONAL_RETAINED_TOPICS, toMqttMessage } from '../../daemon/actions/mqtt-contract.js';
import { destinationFor, MqttEgressGate, withheldReason } from '../../daemon/actions/mqtt-egress.js';
import type { Envelope } from '../../daemon/bus/envelope.js';
import type { PrivacyTier } from '../../daemon/bus/topics.js';
import { silentLogger } from '../../daemon/log.js';
import { SystemClock } from '../../daemon/util/clock.js';

const embedded = {
  host: '127.0.0.1',
  port: 1883,
  username: 'edgeloom',
  password: '',
  allow_anonymous: false,
};

describe('broker destination', () => {
  it.each([
    ['mqtt://127.0.0.1:1883', 'device'],
    ['mqtt://localhost', 'device'],
    ['mqtt://[::1]:1883', 'device'],
    ['mqtt://192.168.1.10:1883', 'lan'],
    ['mqtts://10.0.0.2:8883', 'lan'],
    ['mqtt://172.20.0.5', 'lan'],
    ['mqtt://[fd00::2]:1883', 'lan'],
    ['mqtt://homeassistant.local', 'lan'],
    ['mqtt://broker.home.arpa', 'lan'],
    ['mqtt://172.32.0.1', 'cloud'],
    ['mqtts://broker.hivemq.com:8883', 'cloud'],
    ['mqtt://192.0.2.2', 'cloud'],
    ['ws://broker.lan:9001', 'cloud'], // `.lan` is not reserved: it could resolve anywhere
  ])('%s → %s', (url, destination) => {
    expect(destinationFor({ url, destination: 'auto', embedded }).destination).toBe(destination);
  });

  it('the embedded broker is the device on loopback and the LAN when bound wider; config wins', () => {
    expect(destinationFor({ url: '', destination: 'auto', embedded }).destination).toBe('device');
    expect(
      destinationFor({ url: '', destination: 'auto', embedded: { ...embedded, host: '0.0.0.0' } })
        .destination,
    ).toBe('lan');
    expect(destinationFor({ url: 'mqtt://127.0.0.1', destination: 'lan', embedded })).toMatchObject({
      destination: 'lan',
      derived: false,
    });
  });
});

describe('what may be published where', () => {
  const tiers: PrivacyTier[] = ['public', 'sensitive', 'private', 'local_only'];
  it('derived data: local_only to the device only, private to device and lan, the rest anywhere', () => {
    const allowed = (tier: PrivacyTier) =>
      (['device', 'lan', 'cloud'] as const).filter((d) => withheldReason(tier, 'derived', d) === undefined);
    expect(tiers.map(allowed)).toEqual([
      ['device', 'lan', 'cloud'],
      ['device', 'lan', 'cloud'],
      ['device', 'lan'],
      ['device'],
    ]);
    expect(withheldReason('local_only', 'derived', 'lan')).toBe('local_only_derived_to_lan');
  });

  it('raw media only under public, wherever the broker is', () => {
    for (const tier of tiers) {
      for (const d of ['device', 'lan', 'cloud'] as const) {
        expect(withheldReason(tier, 'raw', d) === undefined, `${tier} ${d}`).toBe(tier === 'public');
      }
    }
  });
});

const env = (topic: string, payload: unknown): Envelope =>
  ({
    id: '1',
    topic,
    tsMs: 5,
    source: 't',
    priority: 2,
    confidence: 1,
    tags: [],
    metadata: {},
    payload,
  }) as unknown as Envelope;

const samples: Envelope[] = [
  env('inference/face/cam0', { faces: [], confidence: 1, frameSeq: 1, modelId: 'm', latencyMs: 1 }),
  env('inference/vad/mic0', { kind: 'start', startMs: 1, confidence: 1 }),
  env('inference/stt/mic0', {
    text: 'hi',
    language: 'en',
    confidence: 1,
    noSpeechProb: 0,
    durationMs: 1,
    inferenceMs: 1,
    modelId: 'm',
  }),
  env('action/display', { emotion: 'happy', emoji: 'x', confidence: 1 }),
  env('agent/voice/intent', { intent: 'x', slots: {}, score: 1, text: 'hi', source: 'local' }),
  env('agent/motion/motion', { kind: 'fall', details: {} }),
  env('router/decision', {
    inferenceId: '1',
    kind: 'face',
    modelId: 'm',
    route: 'local',
    reason: 'r',
    tier: 'private',
    numbers: {},
  }),
];

describe('the contract classifies personal data', () => {
  it('every message made from a sensor is derived data with its source, none is raw', () => {
    for (const e of samples) {
      const m = toMqttMessage(e)!;
      expect(m.privacy, e.topic).toBeDefined();
      expect(m.privacy!.data).toBe('derived');
      if (m.retain) expect(PERSONAL_RETAINED_TOPICS).toContain(m.topic);
    }
    expect(
      toMqttMessage(
        env('sensor/camera/cam0/status', { sensor: 'cam0', kind: 'camera', state: 'running', restarts: 0 }),
      )!.privacy,
    ).toBeUndefined();
  });

  it('the gate withholds by tier and destination and counts each reason', async () => {
    const tiers: Record<string, PrivacyTier> = {
      'inference/stt/mic0': 'private',
      'inference/face/cam0': 'local_only',
    };
    const gate = new MqttEgressGate({
      destination: 'lan',
      host: '192.168.1.10',
      privacy: { tierFor: (t) => tiers[t] ?? 'public' },
      logger: silentLogger(),
      clock: new SystemClock(),
    });
    const verdicts = samples.map((e) => gate.admit(`b/${e.topic}`, toMqttMessage(e)!));
    expect(verdicts).toEqual([false, true, true, true, true, true, true]);
    expect(gate.withheld()).toEqual({ local_only_derived_to_lan: 1 });
    tiers['inference/stt/mic0'] = 'local_only';
    expect(gate.allows(toMqttMessage(samples[2]!)!.privacy!)).toBe(false);
  });
});
