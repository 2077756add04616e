/**
 * The cloud's tool-call policy (daemon/agents/cloud-tools.ts) over the real tool registry and
 * bus, on a virtual clock: what is offered, what runs, what is refused and why, and that every
 * call is recorded before anything runs.
 */
import { describe, expect, it } from 'vitest';
import { registerBuiltinTools } from '../../daemon/agents/builtin-tools.js';
import { CloudToolGate, type CloudToolPolicy } from '../../daemon/agents/cloud-tools.js';
import { ToolRegistry } from '../../daemon/agents/tools.js';
import { Bus } from '../../daemon/bus/bus.js';
import type { Envelope } from '../../daemon/bus/envelope.js';
import type { MqttAction } from '../../daemon/bus/topics.js';
import { silentLogger } from '../../daemon/log.js';
import type { ToolCallAuditEntry } from '../../daemon/router/audit-log.js';
import { VirtualClock } from '../../daemon/util/virtual-clock.js';

const LIGHT = 'demo/kitchen/light/set';

function setup(policy: Partial<CloudToolPolicy> = {}, auditFails = false) {
  const clock = new VirtualClock(1000);
  const logger = silentLogger();
  const bus = new Bus({ clock, logger });
  const registry = new ToolRegistry({ bus, clock, logger, defaultTimeoutMs: 500 });
  registerBuiltinTools(registry, {
    bus,
    logger,
    publishAllow: ['demo/#'],
    ttsProgram: 'edgeloom-no-such-tts',
  });
  const audited: ToolCallAuditEntry[] = [];
  const gate = new CloudToolGate({
    policy: {
      allow: ['mqtt.publish', 'display.show'],
      publish_allow: ['demo/+/light/set'],
      max_calls_per_utterance: 2,
      max_calls_per_minute: 6,
      ...policy,
    },
    clock,
    logger,
    audit: async (e) => {
      if (auditFails) throw new Error('disk full');
      audited.push(e);
    },
  });
  const seen: Envelope[] = [];
  bus.subscribe('action/#', (env) => void seen.push(env), { component: 'test', qos: 'batched' });
  const run = async (calls: { name: string; arguments: unknown }[]) => {
    const r = await gate.run(registry, calls, { signal: new AbortController().signal, correlationId: 'c1' });
    await bus.drain(1000);
    return r;
  };
  const published = () => seen.filter((e) => e.topic === 'action/mqtt').map((e) => e.payload as MqttAction);
  return { clock, registry, gate, audited, run, published, seen };
}

const publish = (topic: string, extra: object = {}) => ({
  name: 'mqtt_publish',
  arguments: { topic, payload: 'ON', ...extra },
});

describe('CloudToolGate', () => {
  it('offers only the allowed tools, and mqtt.publish without retain', () => {
    const { gate, registry } = setup();
    const defs = gate.definitions(registry);
    expect(defs.map((d) => d.function.name).sort()).toEqual(['display_show', 'mqtt_publish']);
    const pub = defs.find((d) => d.function.name === 'mqtt_publish')!;
    expect(Object.keys((pub.function.parameters as { properties: object }).properties)).not.toContain(
      'retain',
    );
    expect(pub.function.description).toContain('demo/+/light/set');
    // The registry's own definition is untouched (local callers may still retain).
    const full = registry.asFunctionDefinitions().find((d) => d.function.name === 'mqtt_publish')!;
    expect(Object.keys((full.function.parameters as { properties: object }).properties)).toContain('retain');
    expect(setup({ allow: [] }).gate.definitions(registry)).toEqual([]);
  });

  it('runs an allowed call and records it', async () => {
    const t = setup();
    expect(await t.run([publish(LIGHT)])).toEqual([
      { tool: 'mqtt.publish', ok: true, result: { topic: 'demo/kitchen/light/set' } },
    ]);
    expect(t.published()).toEqual([expect.objectContaining({ topic: LIGHT, payload: 'ON', retain: false })]);
    expect(t.audited).toEqual([
      expect.objectContaining({
        kind: 'tool_call',
        tool: 'mqtt.publish',
        outcome: 'allowed',
        target: LIGHT,
        correlationId: 'c1',
        argsRef: expect.stringMatching(/^sha256:[0-9a-f]{64}$/),
      }),
    ]);
  });

  it.each([
    ['a tool not in allow', { name: 'speak', arguments: { text: 'hi' } }, 'E_CLOUD_TOOL_NOT_ALLOWED'],
    ['a retained publish', publish(LIGHT, { retain: true }), 'E_CLOUD_TOOL_RETAIN'],
    ['a topic outside cloud_tools.publish_allow', publish('demo/garage/door/set'), 'E_CLOUD_TOOL_TOPIC'],
    ['an unknown function', { name: 'rm_rf\u009b2J', arguments: {} }, 'E_TOOL_UNKNOWN'],
  ])('refuses %s, records the refusal and runs nothing', async (_what, call, code) => {
    const t = setup();
    expect(await t.run([call])).toEqual([expect.objectContaining({ ok: false, code })]);
    expect(t.seen).toEqual([]);
    expect(t.audited).toEqual([expect.objectContaining({ outcome: 'refused', code })]);
    expect(t.audited[0]!.tool).not.toMatch(/\p{Cc}/u);
    expect(t.gate.outcomes.get(code)).toBe(1);
  });

  it('runs the same call twice in one answer once (argument order does not matter)', async () => {
    const t = setup();
    const r = await t.run([
      publish(LIGHT),
      { name: 'mqtt_publish', arguments: { payload: 'ON', topic: LIGHT } },
    ]);
    expect(r.map((x) => x.code ?? 'ok')).toEqual(['ok', 'E_CLOUD_TOOL_DUPLICATE']);
    expect(t.published()).toHaveLength(1);
  });

  it('bounds the calls per answer and per minute', async () => {
    const t = setup({ max_calls_per_utterance: 2, max_calls_per_minute: 3 });
    const answer = ['demo/a/light/set', 'demo/b/light/set', 'demo/c/light/set'].map((topic) =>
      publish(topic),
    );
    expect((await t.run(answer)).map((x) => x.code ?? 'ok')).toEqual(['ok', 'ok', 'E_CLOUD_TOOL_RATE']);
    // One more fits the minute; the next does not, until the first two are a minute old.
    expect((await t.run(answer)).map((x) => x.code ?? 'ok')).toEqual([
      'ok',
      'E_CLOUD_TOOL_RATE',
      'E_CLOUD_TOOL_RATE',
    ]);
    await t.clock.advanceTo(t.clock.now() + 60_000);
    expect((await t.run(answer)).map((x) => x.code ?? 'ok')).toEqual(['ok', 'ok', 'E_CLOUD_TOOL_RATE']);
    expect(t.published()).toHaveLength(5);
  });

  it('refuses a call it cannot record (fail closed)', async () => {
    const t = setup({}, true);
    expect(await t.run([publish(LIGHT)])).toEqual([{ tool: 'mqtt.publish', ok: false, code: 'E_AUDIT' }]);
    expect(t.published()).toEqual([]);
  });
});
