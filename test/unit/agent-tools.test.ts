import { describe, expect, it } from 'vitest';
import { EMOJI, registerBuiltinTools, speakTool } from '../../daemon/agents/builtin-tools.js';
import { ToolRegistry } from '../../daemon/agents/tools.js';
import { Bus } from '../../daemon/bus/bus.js';
import type { Envelope } from '../../daemon/bus/envelope.js';
import type { DisplayAction, MqttAction, SayAction, ToolResult } from '../../daemon/bus/topics.js';
import { isEdgeloomError } from '../../daemon/errors.js';
import { silentLogger } from '../../daemon/log.js';
import { VirtualClock } from '../../daemon/util/virtual-clock.js';

function setup(allow: readonly string[] = ['home/+/light/set']) {
  const clock = new VirtualClock(1000);
  const logger = silentLogger();
  const bus = new Bus({ clock, logger });
  const registry = new ToolRegistry({ bus, clock, logger, defaultTimeoutMs: 500 });
  registerBuiltinTools(registry, { bus, logger, publishAllow: allow, ttsProgram: 'edgeloom-no-such-tts' });
  const seen: Envelope[] = [];
  bus.subscribe('#', (env) => void seen.push(env), { component: 'test', qos: 'batched' });
  const settle = () => bus.drain(1000);
  return { clock, bus, registry, seen, settle };
}

describe('ToolRegistry', () => {
  it('publishes successes and failures as tool/<name>/result events', async () => {
    const { registry, seen, settle } = setup();
    const ok = await registry.execute('mqtt.publish', { topic: 'home/kitchen/light/set', payload: 'ON' });
    expect(ok).toMatchObject({ tool: 'mqtt.publish', ok: true });
    const bad = await registry.execute('mqtt.publish', { topic: 'home/kitchen/light/set' });
    expect(bad.ok).toBe(false);
    await settle();
    const results = seen
      .filter((e) => e.topic === 'tool/mqtt.publish/result')
      .map((e) => e.payload as ToolResult);
    expect(results.map((r) => r.ok)).toEqual([true, false]);
    const action = seen.find((e) => e.topic === 'action/mqtt')!.payload as MqttAction;
    expect(action).toEqual({
      topic: 'home/kitchen/light/set',
      payload: 'ON',
      qos: 1,
      retain: false,
      absolute: true,
    });
  });

  it.each([
    [{ topic: 'home/kitchen/light/set' }, 'E_TOOL_INVALID_ARGS', /payload/],
    [{ topic: 'home/#', payload: 1 }, 'E_TOOL_INVALID_ARGS', /topic/],
    [{ topic: 'x', payload: 1, qos: 2 }, 'E_TOOL_INVALID_ARGS', /qos/],
    [{ topic: 'x', payload: 1, extra: true }, 'E_TOOL_INVALID_ARGS', /additional/],
    [{ topic: 'home/kitchen/door/set', payload: 'OPEN' }, 'E_TOOL_REFUSED', /publish_allow/],
    [{ topic: 'home/kitchen/light/set/x', payload: 'ON' }, 'E_TOOL_REFUSED', /not in/],
  ])('mqtt.publish %j fails with %s', async (args, code, message) => {
    const { registry, seen, settle } = setup();
    const r = await registry.execute('mqtt.publish', args);
    expect(r.ok).toBe(false);
    expect(r.error?.code).toBe(code);
    expect(r.error?.message).toMatch(message);
    await settle();
    expect(seen.some((e) => e.topic === 'action/mqtt')).toBe(false);
  });

  it('refuses everything when the allow-list is empty', async () => {
    const { registry } = setup([]);
    const r = await registry.execute('mqtt.publish', { topic: 'demo/a', payload: 1 });
    expect(r.error?.code).toBe('E_TOOL_REFUSED');
  });

  it('unknown tools fail with E_TOOL_UNKNOWN; registration rejects bad names, duplicates, bad schemas', async () => {
    const { registry } = setup();
    expect((await registry.execute('nope', {})).error?.code).toBe('E_TOOL_UNKNOWN');
    const tool = { description: 'x', parameters: { type: 'object' }, execute: async () => 1 };
    const codeOf = (f: () => void): string | undefined => {
      try {
        f();
      } catch (err) {
        return isEdgeloomError(err) ? err.code : 'other';
      }
      return undefined;
    };
    expect(codeOf(() => registry.register({ ...tool, name: 'Bad Name' }))).toBe('E_TOOL_INVALID');
    expect(codeOf(() => registry.register({ ...tool, name: 'log' }))).toBe('E_TOOL_INVALID');
    expect(codeOf(() => registry.register({ ...tool, name: 'mqtt_publish' }))).toBe('E_TOOL_INVALID');
    expect(
      codeOf(() => registry.register({ ...tool, name: 'ok.tool', parameters: { type: 'nonsense' } })),
    ).toBe('E_TOOL_INVALID');
  });

  it('times out a tool that never finishes, even one ignoring its signal, and aborts its signal', async () => {
    const { registry, clock } = setup();
    let signal: AbortSignal | undefined;
    registry.register({
      name: 'slow',
      description: 'never ends',
      parameters: { type: 'object' },
      timeoutMs: 200,
      execute: (_args, ctx) => {
        signal = ctx.signal;
        return new Promise(() => {});
      },
    });
    const pending = registry.execute('slow', {});
    await clock.advanceTo(1199);
    expect(signal?.aborted).toBe(false);
    await clock.advanceTo(1200);
    const r = await pending;
    expect(r.error?.code).toBe('E_TOOL_TIMEOUT');
    expect(signal?.aborted).toBe(true);
  });

  it('cancels on the caller’s signal with E_TOOL_ABORTED', async () => {
    const { registry } = setup();
    registry.register({
      name: 'wait',
      description: 'waits for abort',
      parameters: { type: 'object' },
      execute: (_a, ctx) =>
        new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason))),
    });
    const c = new AbortController();
    const pending = registry.execute('wait', {}, { signal: c.signal });
    c.abort();
    expect((await pending).error?.code).toBe('E_TOOL_ABORTED');
  });

  it('display.show fills the emoji; log validates its level', async () => {
    const { registry, seen, settle } = setup();
    await registry.execute('display.show', { emotion: 'happy', confidence: 0.8 });
    expect((await registry.execute('log', { level: 'loud', message: 'x' })).error?.code).toBe(
      'E_TOOL_INVALID_ARGS',
    );
    expect((await registry.execute('log', { level: 'info', message: 'x' })).ok).toBe(true);
    await settle();
    const d = seen.find((e) => e.topic === 'action/display')!.payload as DisplayAction;
    expect(d).toEqual({ emotion: 'happy', emoji: EMOJI.happy, confidence: 0.8 });
  });

  it('speak without the TTS program is a clear E_TOOL_UNAVAILABLE result', async () => {
    const { registry } = setup();
    const r = await registry.execute('speak', { text: 'hello' });
    expect(r.error?.code).toBe('E_TOOL_UNAVAILABLE');
    expect(r.error?.message).toMatch(/edgeloom-no-such-tts/);
  });

  it('speak queues the text for the TTS actuator as action/say (source tool.speak) and runs nothing itself', async () => {
    const { bus, seen, settle } = setup();
    const clock = new VirtualClock(1000);
    const registry = new ToolRegistry({ bus, clock, logger: silentLogger(), defaultTimeoutMs: 500 });
    // `sh` stands for an installed TTS program: the tool only checks that it exists.
    registry.register(speakTool(bus, true, 'sh'));
    const first = await registry.execute('speak', { text: 'the kitchen light is on' });
    const second = await registry.execute('speak', { text: 'and the oven' });
    expect(first).toMatchObject({ ok: true, result: { queued: true } });
    await settle();
    const says = seen.filter((e) => e.topic === 'action/say');
    expect(
      says.map((e) => [e.source, (e.payload as SayAction).text, (e.payload as SayAction).source]),
    ).toEqual([
      ['tool.speak', 'the kitchen light is on', 'tool.speak'],
      ['tool.speak', 'and the oven', 'tool.speak'],
    ]);
    const ids = says.map((e) => (e.payload as SayAction).utteranceId);
    expect(ids[0]).toBe((first.result as { utteranceId: string }).utteranceId);
    expect(new Set(ids).size).toBe(2);
    expect((second.result as { utteranceId: string }).utteranceId).toBe(ids[1]);
  });

  it('offers public tools as OpenAI functions with dots mapped to underscores and back', () => {
    const { registry, bus } = setup();
    registry.register({ ...speakTool(bus, false, 'x'), name: 'secret.tool', internal: true });
    const defs = registry.asFunctionDefinitions();
    const names = defs.map((d) => d.function.name).sort();
    expect(names).toEqual(['display_show', 'log', 'mqtt_publish', 'speak']);
    for (const d of defs) {
      expect(d.type).toBe('function');
      expect(d.function.parameters).toMatchObject({ type: 'object' });
      expect(registry.fromFunctionName(d.function.name)?.replaceAll('.', '_')).toBe(d.function.name);
    }
    expect(registry.fromFunctionName('mqtt_publish')).toBe('mqtt.publish');
    expect(registry.fromFunctionName('secret_tool')).toBe('secret.tool');
  });
});
