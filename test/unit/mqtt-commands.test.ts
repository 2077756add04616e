/** Command topics, validation, rate bound and the result shape, with a real bus and a virtual clock. */
import { describe, expect, it } from 'vitest';
import { parseCommandTopic } from '../../daemon/actions/command-table.js';
import { CommandHandler } from '../../daemon/actions/commands.js';
import type { MqttMessage } from '../../daemon/actions/mqtt-contract.js';
import { Bus } from '../../daemon/bus/bus.js';
import { silentLogger } from '../../daemon/log.js';
import { VirtualClock } from '../../daemon/util/virtual-clock.js';

const BASE = 'edgeloom/dev';

function setup(maxPerSecond = 5) {
  const clock = new VirtualClock(10_000);
  const bus = new Bus({ clock, logger: silentLogger() });
  const replies: MqttMessage[] = [];
  const handler = new CommandHandler({
    bus,
    baseTopic: BASE,
    clock,
    logger: silentLogger(),
    maxPerSecond,
    requestTimeoutMs: 1000,
    reply: async (m) => {
      replies.push(m);
    },
  });
  const settle = async (): Promise<void> => {
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
  };
  return { clock, bus, replies, handler, settle };
}

describe('parseCommandTopic', () => {
  it('knows the four commands and nothing else', () => {
    expect(parseCommandTopic('sensor/cam0/pause')).toEqual({ kind: 'sensorPause', target: 'cam0' });
    expect(parseCommandTopic('sensor/mic.front/resume')).toEqual({
      kind: 'sensorResume',
      target: 'mic.front',
    });
    expect(parseCommandTopic('privacy')).toEqual({ kind: 'privacy' });
    expect(parseCommandTopic('tool/mqtt.publish')).toEqual({ kind: 'tool', target: 'mqtt.publish' });
    for (const bad of [
      'sensor/cam0',
      'sensor//pause',
      'sensor/cam0/pause/now',
      'tool',
      'tool/a/b',
      'privacy/x',
      '',
      'reboot',
    ]) {
      expect(parseCommandTopic(bad), bad).toBeUndefined();
    }
  });
});

describe('CommandHandler', () => {
  it('sends sensor pause as a bus request with the sensor id and duration', async () => {
    const { bus, replies, handler, settle } = setup();
    const seen: unknown[] = [];
    bus.respond(
      'rpc/sensor/cam0/pause',
      (req) => {
        seen.push(req.payload);
        return { sensor: 'cam0', state: 'paused' as const, resumes_in_s: 30 };
      },
      { component: 'test.sensors' },
    );
    handler.handle(`${BASE}/cmd/sensor/cam0/pause`, Buffer.from('{"duration_s": 30, "id": "p1"}'));
    await settle();
    expect(seen).toEqual([{ duration_s: 30, origin: { channel: 'mqtt', authenticated: false } }]);
    expect(replies[0]).toMatchObject({
      topic: 'cmd/result',
      qos: 1,
      retain: false,
      payload: {
        ts: 10_000,
        command: 'sensor/cam0/pause',
        id: 'p1',
        ok: true,
        result: { sensor: 'cam0', state: 'paused', resumes_in_s: 30 },
      },
    });
    await bus.close(100);
  });

  it('rejects a negative pause duration before it reaches the bus', async () => {
    const { replies, handler, settle, bus } = setup();
    handler.handle(`${BASE}/cmd/sensor/cam0/pause`, Buffer.from('{"duration_s": -1}'));
    await settle();
    expect(replies[0]?.payload).toMatchObject({ ok: false, error: { code: 'E_CMD_INVALID' } });
    expect(replies[0]?.payload).toMatchObject({ error: { message: expect.stringContaining('duration_s') } });
    await bus.close(100);
  });

  it('names the known sensors for an unknown one at once, even with a `#` tap on the bus (an event stream)', async () => {
    const { bus, replies, handler, settle } = setup();
    // The dashboard's event stream may subscribe to `#`, which matches every request topic but answers none.
    bus.subscribe('#', () => undefined, { component: 'test.tap' });
    bus.respond(
      'rpc/sensor/cam0/pause',
      () => ({ sensor: 'cam0', state: 'paused' as const, resumes_in_s: 1 }),
      {
        component: 'test.cam0',
      },
    );
    handler.handle(`${BASE}/cmd/sensor/lidar0/pause`, Buffer.alloc(0));
    handler.handle(`${BASE}/cmd/forget`, Buffer.alloc(0));
    await settle();
    expect(replies.map((r) => r.payload)).toMatchObject([
      { ok: false, error: { code: 'E_CMD_UNKNOWN_SENSOR', message: expect.stringContaining('cam0') } },
      { ok: false, error: { code: 'E_CMD_NO_RESPONDER' } },
    ]);
    await bus.close(100);
  });

  it('maps a responder that never answers to E_CMD_TIMEOUT on the bus clock', async () => {
    const { clock, bus, replies, handler, settle } = setup();
    bus.respond('rpc/sensor/cam0/resume', () => new Promise(() => undefined), {
      component: 'test.slow',
    });
    handler.handle(`${BASE}/cmd/sensor/cam0/resume`, Buffer.alloc(0));
    await settle();
    expect(replies).toHaveLength(0);
    await clock.advanceTo(11_001);
    await settle();
    expect(replies[0]?.payload).toMatchObject({ ok: false, error: { code: 'E_CMD_TIMEOUT' } });
    // The responder never finishes: close's deadline runs on the virtual clock too.
    const closing = bus.close(10).catch(() => undefined);
    await clock.advanceTo(11_100);
    await closing;
  });

  it('drops commands past the rate bound without answering, and counts them', async () => {
    const { clock, replies, handler, settle, bus } = setup(5);
    for (let i = 0; i < 8; i++) handler.handle(`${BASE}/cmd/nope`, Buffer.from('{}'));
    await settle();
    expect(replies).toHaveLength(5);
    expect(handler.stats()).toMatchObject({ received: 5, rateLimited: 3 });
    await clock.advanceTo(10_400); // 0.4 s refills 2 tokens
    for (let i = 0; i < 3; i++) handler.handle(`${BASE}/cmd/nope`, Buffer.from('{}'));
    await settle();
    expect(replies).toHaveLength(7);
    expect(handler.stats().rateLimited).toBe(4);
    await bus.close(100);
  });

  it('ignores its own results and topics outside cmd/', async () => {
    const { replies, handler, settle, bus } = setup();
    handler.handle(`${BASE}/cmd/result`, Buffer.from('{"ok":true}'));
    handler.handle('other/cmd/privacy', Buffer.from('{"tier":"public"}'));
    await settle();
    expect(replies).toHaveLength(0);
    expect(handler.stats().received).toBe(0);
    await bus.close(100);
  });

  it('refuses oversized payloads', async () => {
    const { replies, handler, settle, bus } = setup();
    handler.handle(`${BASE}/cmd/tool/x`, Buffer.alloc(70_000, 0x20));
    await settle();
    expect(replies[0]?.payload).toMatchObject({ ok: false, error: { code: 'E_CMD_TOO_LARGE' } });
    await bus.close(100);
  });
});
