/**
 * The MQTT sink against a real Mosquitto: contract messages with their QoS and retain flags,
 * retained status and discovery, the last will on an ungraceful death, a broker outage in the
 * middle of a QoS 1 stream, and the persistent outbox surviving a SIGKILL (child process from dist/).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { haDiscoveryConfigs } from '../../daemon/actions/ha-entities.js';
import { MqttClientSink } from '../../daemon/actions/mqtt-client.js';
import { fullTopic, toMqttMessage } from '../../daemon/actions/mqtt-contract.js';
import type { Envelope } from '../../daemon/bus/envelope.js';
import { silentLogger } from '../../daemon/log.js';
import { SystemClock } from '../../daemon/util/clock.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { mqttTestConfig, Subscriber, testHaDevice, waitFor } from '../helpers/mqtt.js';
import { needs, REPO_ROOT } from '../helpers/tools.js';

const BASE = 'edgeloom/test-dev';
const CHILD = join(REPO_ROOT, 'dist/test/helpers/mqtt-sink-child.js');

function envelope(topic: string, payload: unknown, tsMs = 1_700_000_000_000): Envelope {
  return {
    id: 'e1',
    topic,
    tsMs,
    source: 'test',
    priority: 2,
    confidence: undefined,
    tags: [],
    metadata: {},
    correlationId: undefined,
    payload,
  };
}

/** Spawn the sink child; resolves with the process once `line` was printed. */
function spawnChild(args: object, line: string): Promise<{ child: ChildProcess; out: () => string }> {
  const child = spawn(process.execPath, [CHILD, JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`child did not print ${line}: ${out} ${err}`)), 20_000);
    const check = (): void => {
      if (out.split('\n').some((l) => l.startsWith(line))) {
        clearTimeout(timer);
        resolve({ child, out: () => out });
      }
    };
    child.stdout?.on('data', check);
    child.once('exit', (code) => {
      check();
      clearTimeout(timer);
      reject(new Error(`child exited ${code} before ${line}: ${out} ${err}`));
    });
  });
}

function kill9(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

describe.runIf(needs({ tools: ['mosquitto'] }))('MQTT sink against Mosquitto', () => {
  let broker: Mosquitto;
  let dir: string;
  const cleanups: Array<() => Promise<void>> = [];

  beforeEach(async () => {
    broker = await Mosquitto.start();
    dir = mkdtempSync(join(tmpdir(), 'edgeloom-mqtt-'));
  });

  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
    await broker.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  function newSink(overrides = {}): MqttClientSink {
    // The daemon's store stands in: opened (on the next tick) by its owner, closed after the sink.
    const store = new Level<string, unknown>(join(dir, 'db'), { valueEncoding: 'json' });
    cleanups.push(() => store.close());
    const sink = new MqttClientSink({
      config: mqttTestConfig(broker.url, overrides),
      deviceId: 'test-dev',
      logger: silentLogger(),
      clock: new SystemClock(),
      storage: store,
      homeAssistant: testHaDevice(BASE, 'test-dev', { sensors: [], intents: [], models: [] }),
      reconnectMinMs: 300,
      reconnectMaxMs: 600,
    });
    cleanups.push(() => sink.stop());
    return sink;
  }

  it('publishes contract messages with their qos/retain, retained online status and discovery', async () => {
    const sub = await Subscriber.connect(broker.url, [`${BASE}/#`]);
    cleanups.push(() => sub.close());
    const sink = newSink();
    await sink.start(new AbortController().signal);
    await sink.whenConnected();

    const events = [
      envelope('inference/stt/local', {
        text: 'turn on the light',
        language: 'en',
        confidence: 0.91,
        noSpeechProb: 0.02,
        durationMs: 1200,
        inferenceMs: 310.25,
        modelId: 'whisper-tiny',
        latencyMs: 310,
        segmentStartMs: 0,
      }),
      envelope('action/display', { emotion: 'happy', emoji: '😀', confidence: 0.8 }),
      envelope('router/decision', {
        inferenceId: 'i1',
        kind: 'stt',
        modelId: 'whisper-tiny',
        route: 'local',
        reason: 'confidence_above_threshold',
        numbers: { confidence: 0.91 },
        tier: 'private',
      }),
    ];
    for (const env of events) {
      const msg = toMqttMessage(env);
      expect(msg).toBeDefined();
      if (msg !== undefined) await sink.publish(fullTopic(BASE, msg), msg, env.tsMs);
    }
    await waitFor(() => sub.messages.some((m) => m.topic === `${BASE}/router/decision`), 'router/decision');
    await sink.whenDrained();
    await waitFor(() => sub.on(`${BASE}/display/set`).length === 1, 'display/set');

    const transcript = sub.on(`${BASE}/voice/transcript`);
    expect(transcript).toHaveLength(1);
    expect(transcript[0]?.qos).toBe(1);
    expect(transcript[0]?.payload).toMatchObject({
      text: 'turn on the light',
      ts: 1_700_000_000_000,
      language: 'en',
    });
    // A live subscriber gets the retain flag cleared (MQTT 3.3.1.3); the late one below sees it set.
    expect(sub.on(`${BASE}/display/set`)[0]?.qos).toBe(1);
    expect(sub.on(`${BASE}/router/decision`)[0]?.qos).toBe(0);
    expect(sub.on(`${BASE}/status`)[0]?.payload).toMatchObject({ state: 'online' });

    const late = await Subscriber.connect(broker.url, [
      `${BASE}/status`,
      `${BASE}/display/set`,
      'homeassistant/#',
    ]);
    cleanups.push(() => late.close());
    const device = testHaDevice(BASE, 'test-dev', { sensors: [], intents: [], models: [] });
    const expected = haDiscoveryConfigs(device);
    await waitFor(
      () => late.messages.length >= 2 + expected.length,
      `retained status, display and ${expected.length} discovery configs`,
    );
    const status = late.on(`${BASE}/status`)[0];
    expect(status?.retain).toBe(true);
    expect(status?.payload).toMatchObject({ state: 'online' });
    expect(status?.payload).toMatchObject({ ts: expect.any(Number) });
    expect(late.on(`${BASE}/display/set`)[0]).toMatchObject({ retain: true, payload: { emotion: 'happy' } });

    const configs = late.messages.filter((m) => m.topic.startsWith('homeassistant/'));
    expect(configs.map((m) => m.topic).sort()).toEqual(expected.map((c) => c.topic).sort());
    for (const c of configs) {
      expect(c.retain).toBe(true);
      expect(c.payload).toMatchObject({
        device: { identifiers: ['edgeloom_test-dev'], sw_version: '0.1.0' },
        origin: { name: 'edgeloom', sw_version: '0.1.0' },
      });
    }
    // The emotion is the debounced, retained display state, not the camera-rate face/emotion.
    const emotion = configs.find((c) => c.topic.includes('/emotion/'))?.payload as Record<string, unknown>;
    expect(emotion.state_topic).toBe(`${BASE}/display/set`);
    expect(emotion.availability).toEqual([
      { topic: `${BASE}/status`, value_template: '{{ value_json.state }}' },
    ]);

    // A clean stop says why it went offline (no last will needed).
    await sink.stop();
    await waitFor(() => late.on(`${BASE}/status`).length === 2, 'offline status on stop');
    expect(late.on(`${BASE}/status`)[1]?.payload).toMatchObject({ state: 'offline', reason: 'shutdown' });
  });

  it('drops QoS 0 while the broker is unreachable and counts it', async () => {
    await broker.kill();
    const sink = newSink();
    await sink.start(new AbortController().signal);
    await sink.publish(
      `${BASE}/face/emotion`,
      { topic: 'face/emotion', qos: 0, retain: false, payload: { ts: 1 } },
      1,
    );
    expect(sink.stats()).toMatchObject({ connected: false, qos0Dropped: 1 });
    expect(sink.health().status).toBe('degraded');
  });

  it('health: QoS 1 in flight to a connected broker is ok; held while the broker is down is degraded', async () => {
    const sink = newSink();
    await sink.start(new AbortController().signal);
    await sink.whenConnected();
    const msg = (seq: number) => ({ topic: 'seq', qos: 1 as const, retain: false, payload: { seq } });
    // Accepted into the outbox and handed to the broker, not acknowledged yet: normal operation
    // (a /healthz that answered 503 here flapped during every healthy run).
    const sends = Array.from({ length: 20 }, (_, seq) => sink.publish(`${BASE}/seq`, msg(seq), 0));
    expect(sink.stats().outbox.size).toBeGreaterThan(0);
    expect(sink.health()).toEqual({ status: 'ok' });
    await Promise.all(sends);
    await sink.whenDrained();

    await broker.kill();
    await waitFor(() => !sink.stats().connected, 'the sink to notice the broker is gone');
    await sink.publish(`${BASE}/seq`, msg(20), 0);
    expect(sink.health()).toEqual({
      status: 'degraded',
      reasons: ['broker unreachable', '1 messages in the outbox'],
    });
  });

  it('refuse policy: past max_messages while the broker is down, publish rejects and counts', async () => {
    await broker.kill();
    const sink = newSink({ outbox: { max_messages: 3, policy: 'refuse' } });
    await sink.start(new AbortController().signal);
    const msg = (seq: number) => ({ topic: 'seq', qos: 1 as const, retain: false, payload: { seq } });
    for (let seq = 0; seq < 3; seq++) await sink.publish(`${BASE}/seq`, msg(seq), 0);
    await expect(sink.publish(`${BASE}/seq`, msg(3), 0)).rejects.toMatchObject({
      code: 'E_MQTT_OUTBOX_FULL',
    });
    expect(sink.stats().outbox).toMatchObject({ size: 3, refused: 1 });
    await broker.restart();
    await sink.whenDrained();
    expect(sink.stats().outbox).toMatchObject({ size: 0, acknowledged: 3 });
  });

  it('delivers every QoS 1 message in order across a broker outage', async () => {
    const sub = await Subscriber.connect(broker.url, [`${BASE}/seq`]);
    cleanups.push(() => sub.close());
    const sink = newSink();
    await sink.start(new AbortController().signal);
    await sink.whenConnected();
    const total = 300;
    for (let seq = 0; seq < total; seq++) {
      if (seq === 100) await broker.kill();
      if (seq === 200) await broker.restart();
      await sink.publish(
        `${BASE}/seq`,
        { topic: 'seq', qos: 1, retain: false, payload: { seq } },
        Date.now(),
      );
      if (seq % 10 === 0) await new Promise((r) => setTimeout(r, 5));
    }
    await sink.whenDrained();
    await waitFor(
      () => new Set(sub.messages.map((m) => (m.payload as { seq: number }).seq)).size === total,
      'all messages',
    );
    const seqs = sub.messages.map((m) => (m.payload as { seq: number }).seq);
    // First occurrences are exactly 0..total-1 in order: nothing lost, nothing reordered.
    const firsts: number[] = [];
    const seen = new Set<number>();
    for (const s of seqs) {
      if (!seen.has(s)) firsts.push(s);
      seen.add(s);
    }
    expect(firsts).toEqual(Array.from({ length: total }, (_, i) => i));
    // Redelivery is limited to what was in flight when the broker died (maxInflight, default 64).
    expect(seqs.length - total).toBeLessThanOrEqual(64);
    expect(sink.stats().outbox.size).toBe(0);
    expect(sink.stats().disconnects).toBeGreaterThanOrEqual(1);
  });

  it('the last will marks the device offline when the sink process dies', async () => {
    const sub = await Subscriber.connect(broker.url, ['edgeloom/child/status']);
    cleanups.push(() => sub.close());
    const { child } = await spawnChild(
      { url: broker.url, storageDir: join(dir, 'child-db'), mode: 'publish', count: 3 },
      'ready',
    );
    await waitFor(
      () => sub.messages.some((m) => (m.payload as { state?: string }).state === 'online'),
      'online',
    );
    await kill9(child);
    await waitFor(
      () => sub.messages.some((m) => (m.payload as { state?: string }).state === 'offline'),
      'offline (will)',
    );
    expect(sub.messages.at(-1)?.payload).toEqual({ state: 'offline' });
  });

  it('keeps the outbox across a SIGKILL and delivers it, in order, on the next start', async () => {
    const url = broker.url;
    await broker.kill();
    const storageDir = join(dir, 'child-db');
    const count = 40;
    const first = await spawnChild({ url, storageDir, mode: 'publish', count }, 'ready');
    expect(first.out()).toContain(`persisted ${count}`);
    await kill9(first.child);

    await broker.restart();
    const sub = await Subscriber.connect(url, ['edgeloom/child/seq']);
    cleanups.push(() => sub.close());
    const second = await spawnChild({ url, storageDir, mode: 'drain' }, 'drained');
    const stats = JSON.parse(second.out().split('drained ')[1]?.split('\n')[0] ?? '{}') as {
      recovered: number;
      size: number;
    };
    expect(stats.recovered).toBe(count);
    expect(stats.size).toBe(0);
    await waitFor(() => sub.messages.length >= count, 'recovered messages');
    expect(sub.messages.map((m) => (m.payload as { seq: number }).seq)).toEqual(
      Array.from({ length: count }, (_, i) => i),
    );
    await new Promise<void>((resolve) =>
      second.child.exitCode !== null ? resolve() : second.child.once('exit', () => resolve()),
    );
    expect(second.child.exitCode).toBe(0);
  });

  // mqtt-packet builds a 2-byte Buffer for each of the 65,536 packet numbers on its first packet
  // unless told not to (actions/mqtt-packet-numbers.ts): 7.5 MB of heap and 65,536 objects every
  // full collection marks, for as long as the daemon runs. In a child of its own, as a daemon
  // loads it (a test worker shares mqtt-packet with other files), through Mosquitto (mqtt.js) and
  // through the embedded broker (aedes and mqtt.js).
  it.each([
    ['Mosquitto', true],
    ['the embedded broker', false],
  ])('mqtt-packet never builds its number cache (through %s)', async (_via, mosquitto) => {
    const storageDir = join(dir, `numbers-${mosquitto ? 'mosquitto' : 'embedded'}`);
    const count = 20;
    const run = await spawnChild(
      { url: mosquitto ? broker.url : '', storageDir, mode: 'numbers', count },
      'numbers',
    );
    const report = JSON.parse(run.out().split('numbers ')[1]?.split('\n')[0] ?? '{}') as {
      cacheNumbers: boolean;
      cachedBuffers: number;
      acked: number;
    };
    expect(report.acked).toBe(count);
    expect(report.cacheNumbers).toBe(false);
    expect(report.cachedBuffers).toBe(0);
  });
});
