/**
 * The sink with no broker URL: it starts the embedded aedes broker on loopback and connects to
 * it. Commands from a separate client become bus requests; malformed ones get an error result on
 * `cmd/result` and the sink keeps running.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EmbeddedBroker } from '../../daemon/actions/embedded-broker.js';
import { MqttClientSink } from '../../daemon/actions/mqtt-client.js';
import { Bus } from '../../daemon/bus/bus.js';
import { EdgeloomError } from '../../daemon/errors.js';
import { silentLogger } from '../../daemon/log.js';
import { openStore, type Store } from '../../daemon/storage/store.js';
import { SystemClock } from '../../daemon/util/clock.js';
import { EMBEDDED_LOGIN, mqttTestConfig, Subscriber, waitFor } from '../helpers/mqtt.js';

const BASE = 'edgeloom/test-dev';

describe('MQTT sink on the embedded broker', () => {
  const clock = new SystemClock();
  const bus = new Bus({ clock, logger: silentLogger() });
  const dir = mkdtempSync(join(tmpdir(), 'edgeloom-mqtt-embedded-'));
  const privacyRequests: unknown[] = [];
  let sink: MqttClientSink;
  let store: Store | undefined;
  let sub: Subscriber;

  beforeAll(async () => {
    bus.respond(
      'rpc/tool/call',
      (req) => {
        const { tool, args } = req.payload;
        if (tool !== 'echo')
          throw new EdgeloomError('E_TOOL_UNKNOWN', `no tool named ${tool}`, { where: 'tools' });
        return { echoed: args };
      },
      { component: 'test.tools' },
    );
    bus.respond(
      'rpc/privacy/set',
      (req) => {
        privacyRequests.push(req.payload);
        return {
          scope: req.payload.scope ?? 'default',
          tier: req.payload.tier,
          previous: null,
          loosened: false,
        };
      },
      { component: 'test.router' },
    );
    store = await openStore(join(dir, 'db'));
    sink = new MqttClientSink({
      config: mqttTestConfig(''),
      deviceId: 'test-dev',
      logger: silentLogger(),
      clock,
      storage: store,
      credentialsDir: join(dir, 'db'),
      bus,
    });
    await sink.start(new AbortController().signal);
    await sink.whenConnected();
    expect(sink.brokerUrl()).toMatch(/^mqtt:\/\/127\.0\.0\.1:\d+$/);
    sub = await Subscriber.connect(sink.brokerUrl(), [`${BASE}/#`, 'homeassistant/#'], 50, EMBEDDED_LOGIN);
  });

  afterAll(async () => {
    await sub?.close();
    await sink?.stop();
    await store?.close();
    await bus.close(1000);
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves retained status and discovery, and delivers contract messages', async () => {
    await waitFor(() => sub.on(`${BASE}/status`).length > 0, 'status');
    expect(sub.on(`${BASE}/status`)[0]).toMatchObject({ retain: true, payload: { state: 'online' } });
    // No HaDevice given: the device's own entities (status, restart, CPU, memory, outbox).
    await waitFor(
      () => sub.messages.filter((m) => m.topic.startsWith('homeassistant/')).length === 5,
      'discovery',
    );
    await sink.publish(
      `${BASE}/imu/motion`,
      { topic: 'imu/motion', qos: 1, retain: false, payload: { ts: 5, kind: 'shake' } },
      5,
    );
    await waitFor(() => sub.on(`${BASE}/imu/motion`).length === 1, 'imu/motion');
    expect(sub.on(`${BASE}/imu/motion`)[0]).toMatchObject({ qos: 1, payload: { ts: 5, kind: 'shake' } });
  });

  async function command(topic: string, payload: string): Promise<Record<string, unknown>> {
    const before = sub.on(`${BASE}/cmd/result`).length;
    await sub.client.publishAsync(`${BASE}/${topic}`, payload, { qos: 1 });
    await waitFor(() => sub.on(`${BASE}/cmd/result`).length > before, `result of ${topic}`);
    return sub.on(`${BASE}/cmd/result`)[before]?.payload as Record<string, unknown>;
  }

  it('answers malformed and unknown commands with an error result and keeps running', async () => {
    const cases: Array<[topic: string, payload: string, code: string]> = [
      ['cmd/privacy', '{"tier": ', 'E_CMD_BAD_JSON'],
      ['cmd/privacy', '[1,2]', 'E_CMD_INVALID'],
      ['cmd/self-destruct', '{}', 'E_CMD_UNKNOWN'],
      ['cmd/sensor/cam0/explode', '', 'E_CMD_UNKNOWN'],
      ['cmd/privacy', '{"tier":"secret"}', 'E_CMD_INVALID'],
      ['cmd/privacy', '{"tier":"private","colour":"red"}', 'E_CMD_INVALID'],
      ['cmd/tool/nope', '{}', 'E_TOOL_UNKNOWN'],
      ['cmd/sensor/cam0/pause', '', 'E_CMD_NO_RESPONDER'],
    ];
    for (const [topic, payload, code] of cases) {
      const result = await command(topic, payload);
      expect(result, `${topic} ${payload}`).toMatchObject({
        ok: false,
        command: topic.slice(4),
        error: { code },
      });
      expect(typeof (result.error as { message: string }).message).toBe('string');
      expect(result.ts).toEqual(expect.any(Number));
    }
    const bad = await command('cmd/privacy', '{"tier":"secret"}');
    expect((bad.error as { message: string }).message).toContain('local_only');
    expect(sink.isConnected()).toBe(true);
    expect(sink.stats().commands).toMatchObject({ failed: cases.length + 1, succeeded: 0 });
    expect(sink.stats().commands?.byCode.E_CMD_INVALID).toBe(4);
  });

  it('turns valid commands into bus requests and publishes the answer', async () => {
    const echo = await command('cmd/tool/echo', '{"id":"r1","text":"hi"}');
    expect(echo).toMatchObject({
      ok: true,
      id: 'r1',
      command: 'tool/echo',
      result: { echoed: { text: 'hi' } },
    });
    const privacy = await command('cmd/privacy', '{"tier":"local_only","scope":"mic0"}');
    expect(privacy).toMatchObject({ ok: true, result: { tier: 'local_only' } });
    expect(privacyRequests).toEqual([
      { tier: 'local_only', scope: 'mic0', origin: { channel: 'mqtt', authenticated: false } },
    ]);
  });

  it('an embedded broker on port 0 reports the bound port and stops cleanly', async () => {
    const broker = new EmbeddedBroker({
      host: '127.0.0.1',
      port: 0,
      logger: silentLogger(),
      auth: { users: [], allowAnonymous: true },
    });
    await broker.start(new AbortController().signal);
    expect(broker.port()).toBeGreaterThan(0);
    const s = await Subscriber.connect(broker.url(), ['x/#']);
    await s.client.publishAsync('x/y', '{"a":1}', { qos: 1 });
    await waitFor(() => s.messages.length === 1, 'loopback message');
    await broker.stop();
    await waitFor(() => !s.client.connected, 'client disconnected by stop');
    await s.close();
  });
});
