import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createAgents } from '../../daemon/agents/build.js';
import { Bus } from '../../daemon/bus/bus.js';
import type { Envelope } from '../../daemon/bus/envelope.js';
import { Priority } from '../../daemon/bus/envelope.js';
import {
  CLOUD_ASSIST_RPC,
  type CloudAssistReply,
  type CloudAssistRequest,
} from '../../daemon/bus/rpc-cloud-assist.js';
import type { IntentEvent, MqttAction, SpeechEvent, ToolResult } from '../../daemon/bus/topics.js';
import { loadConfig } from '../../daemon/config/index.js';
import { silentLogger } from '../../daemon/log.js';
import type { Store } from '../../daemon/storage/store.js';
import { VirtualClock } from '../../daemon/util/virtual-clock.js';
import { transcript } from '../helpers/voice-events.js';
import { turn } from '../helpers/wait.js';

let dir: string;
let db: Store;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edgeloom-voice-'));
  db = new Level<string, unknown>(dir, { valueEncoding: 'json' });
  await db.open();
});
afterEach(async () => {
  await db.close();
  await rm(dir, { recursive: true, force: true });
});

/**
 * Stands in for the router on the bus: answers rpc/router/cloud-assist as the test says (the
 * router's own answers are in router-cloud-assist.test.ts, against a loopback cloud).
 */
type CloudAssist = (request: CloudAssistRequest, signal: AbortSignal) => Promise<CloudAssistReply>;

const speechStart: SpeechEvent = {
  kind: 'start',
  segmentId: 'mic:2',
  startMs: 0,
  sampleRateHz: 16000,
  modelId: 'silero',
  confidence: 0.9,
  latencyMs: 1,
  inputTsMs: 0,
};

async function setup(cloudAssist?: CloudAssist) {
  const config = loadConfig({
    env: {},
    overrides: {
      device: { id: 'test' },
      storage: { dir },
      mqtt: { publish_allow: ['demo/#', 'other/#'] },
      agents: {
        cloud_tools: { allow: ['mqtt.publish', 'display.show'], publish_allow: ['demo/#'] },
        voice: {
          // The stand-in router publishes no decisions and no refinements: nothing to wait for.
          // (The wait itself: router-cloud-assist.test.ts, against the real router stage.)
          refine_wait_ms: 0,
          min_match_score: 0.7,
          intents: [
            {
              name: 'light_on',
              templates: ['turn on the {room} light'],
              action: { tool: 'mqtt.publish', args: { topic: 'demo/{room}/light/set', payload: 'ON' } },
            },
          ],
        },
      },
    },
  });
  const clock = new VirtualClock(0);
  const logger = silentLogger();
  const bus = new Bus({ clock, logger });
  const agents = createAgents({
    config,
    bus,
    clock,
    logger,
    storage: db,
    only: new Set(['voice']),
    cloudAssist: cloudAssist !== undefined,
  });
  if (cloudAssist !== undefined)
    bus.respond(CLOUD_ASSIST_RPC, (req, signal) => cloudAssist(req.payload, signal), {
      component: 'test-router',
    });
  await agents.runtime.start(new AbortController().signal);
  const seen: Envelope[] = [];
  bus.subscribe('#', (env) => void seen.push(env), { component: 'test' });
  const voice = agents.runtime.get('voice')!;
  const settle = async () => {
    await bus.drain(1000);
    await new Promise((r) => setImmediate(r));
    await bus.drain(1000);
  };
  const say = async (text: string) => {
    await bus.publish('inference/stt/mic', transcript(text));
    await settle();
  };
  const of = <T>(topic: string) => seen.filter((e) => e.topic === topic).map((e) => e.payload as T);
  return { bus, clock, agents, voice, seen, say, settle, of };
}

describe('voice agent', () => {
  it('matches a local intent, publishes it and runs its tool with the slots filled in', async () => {
    const t = await setup();
    await t.say('Turn on the kitchen light!');
    await t.voice.idle();
    await t.settle();
    expect(t.of<IntentEvent>('agent/voice/intent')).toEqual([
      {
        intent: 'light_on',
        slots: { room: 'kitchen' },
        score: 1,
        text: 'Turn on the kitchen light!',
        source: 'local',
      },
    ]);
    expect(t.of<MqttAction>('action/mqtt')).toEqual([
      { topic: 'demo/kitchen/light/set', payload: 'ON', qos: 1, retain: false, absolute: true },
    ]);
    expect(t.of<ToolResult>('tool/mqtt.publish/result')[0]).toMatchObject({ ok: true });
    expect(t.voice.state()).toMatchObject({ utterances: 1, matched: 1 });
    await t.agents.runtime.stop();
  });

  it('without cloudAssist, an unmatched utterance is a no_match intent with its score', async () => {
    const t = await setup();
    await t.say('what is the weather like');
    await t.voice.idle();
    await t.settle();
    const [intent] = t.of<IntentEvent>('agent/voice/intent');
    expect(intent).toMatchObject({ intent: 'no_match', source: 'local', slots: {} });
    expect(intent!.score).toBeLessThan(0.7);
    expect(t.of('action/mqtt')).toEqual([]);
    await t.agents.runtime.stop();
  });

  it('sends only the text to cloudAssist with the tools the cloud may call and runs what the policy allows', async () => {
    const calls: { text: string; tools: string[] }[] = [];
    const cloud: CloudAssist = async ({ text, tools, steps }) => {
      calls.push({ text, tools: tools.map((x) => x.function.name) });
      // The second round carries the calls' results: the model then answers in words.
      if ((steps ?? []).length > 0) return { toolCalls: [], content: 'The hall is dimmed.' };
      return {
        intent: 'dim_lights',
        toolCalls: [
          { name: 'mqtt_publish', arguments: { topic: 'demo/hall/light/set', payload: 'DIM' } },
          { name: 'voice_cloud_assist', arguments: { text: 'loop' } },
          { name: 'mqtt_publish', arguments: { topic: 'other/x', payload: 1 } },
          { name: 'speak', arguments: { text: 'hello' } },
        ],
      };
    };
    const t = await setup(cloud);
    await t.say('make the hall cosy');
    await t.voice.idle();
    await t.settle();
    // agents.cloud_tools.allow: speak and log are not offered.
    expect(calls).toEqual([
      { text: 'make the hall cosy', tools: ['mqtt_publish', 'display_show'] },
      { text: 'make the hall cosy', tools: ['mqtt_publish', 'display_show'] },
    ]);
    expect(t.of<MqttAction>('action/mqtt').map((a) => a.topic)).toEqual(['demo/hall/light/set']);
    // Refused calls never reach the registry: one result, the call that ran.
    expect(t.of<ToolResult>('tool/mqtt.publish/result').map((r) => r.error?.code ?? 'ok')).toEqual(['ok']);
    const results = t.of<ToolResult>('tool/voice.cloud_assist/result');
    expect(results.map((r) => r.error?.code ?? 'ok')).toEqual(['ok']);
    expect(results[0]!.result).toMatchObject({
      answer: 'The hall is dimmed.',
      rounds: 2,
      calls: [
        { tool: 'mqtt.publish', ok: true },
        { tool: 'voice.cloud_assist', ok: false, code: 'E_CLOUD_TOOL_NOT_ALLOWED' },
        // In mqtt.publish_allow, but not in agents.cloud_tools.publish_allow.
        { tool: 'mqtt.publish', ok: false, code: 'E_CLOUD_TOOL_TOPIC' },
        { tool: 'speak', ok: false, code: 'E_CLOUD_TOOL_NOT_ALLOWED' },
      ],
    });
    expect(t.of<IntentEvent>('agent/voice/intent')).toEqual([
      expect.objectContaining({ intent: 'dim_lights', source: 'cloud' }),
    ]);
    expect(t.voice.state()).toMatchObject({ cloudRequests: 1, interrupts: 0 });
    await t.agents.runtime.stop();
  });

  it.each([
    ['a speech start (critical)', 'speech'],
    ['a "stop" utterance', 'stop'],
  ])('%s cancels an in-flight cloudAssist through its AbortSignal', async (_label, how) => {
    let observed: AbortSignal | undefined;
    let started!: () => void;
    const running = new Promise<void>((r) => {
      started = r;
    });
    const cloud: CloudAssist = (_request, signal) => {
      observed = signal;
      started();
      // A slow cloud that answers only when aborted (with the abort reason).
      return new Promise((_, reject) =>
        signal.addEventListener('abort', () => reject(signal.reason), { once: true }),
      );
    };
    const t = await setup(cloud);
    // Not t.say(): the bus does not drain while the stand-in router is still answering.
    await t.bus.publish('inference/stt/mic', transcript('tell me a long story'));
    await running;
    expect(observed!.aborted).toBe(false);
    if (how === 'speech') {
      await t.clock.advanceTo(5000);
      const published = t.bus.publish(
        'inference/vad/mic',
        { ...speechStart, startMs: 5000 },
        {
          priority: Priority.critical,
        },
      );
      // Barge-in lands in the same bus turn: aborted within the event-loop turn that delivers the
      // speech start (its microtasks, before any timer or I/O), at the speech start's own clock
      // time — the virtual clock has not moved.
      await published;
      await turn();
      expect(observed!.aborted).toBe(true);
      expect(t.clock.now()).toBe(5000);
    } else await t.bus.publish('inference/stt/mic', transcript('Stop!'));
    await t.settle();
    await t.voice.idle();
    await t.settle();
    expect(observed!.aborted).toBe(true);
    const result = t.of<ToolResult>('tool/voice.cloud_assist/result')[0]!;
    expect(result.error?.code).toBe('E_TOOL_ABORTED');
    expect(t.voice.state()).toMatchObject({ interrupts: 1, cloudRequests: 1 });
    await t.agents.runtime.stop();
  });

  it('a speech start with nothing in flight is not counted as an interrupt', async () => {
    const t = await setup();
    await t.bus.publish('inference/vad/mic', speechStart);
    await t.settle();
    await t.voice.idle();
    expect(t.voice.state()).toMatchObject({ interrupts: 0 });
    await t.agents.runtime.stop();
  });

  it('transcripts still queued when the agents stop are handled before stop() returns', async () => {
    const t = await setup();
    const rooms = ['kitchen', 'hall', 'bedroom', 'attic', 'garage', 'porch'];
    // Published without waiting: they sit in the agent's mailbox when stop() is called.
    for (const room of rooms)
      void t.bus.publish('inference/stt/mic', transcript(`turn on the ${room} light`));
    const queued = t.bus
      .stats()
      .find((x) => x.component === 'agent.voice' && x.pattern === 'inference/stt/+');
    expect(queued!.queueDepth).toBeGreaterThan(0);
    await t.agents.runtime.stop();
    expect(t.voice.state()).toMatchObject({ utterances: rooms.length, matched: rooms.length });
    await t.settle();
    expect(t.of<MqttAction>('action/mqtt').map((a) => a.topic)).toEqual(
      rooms.map((r) => `demo/${r}/light/set`),
    );
  });
});
