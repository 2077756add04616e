/**
 * The voice assistant's cloud path end to end on a real loopback OpenAI-compatible server: the
 * voice agent (real tool registry, real LevelDB) → rpc/router/cloud-assist → the router stage's
 * cloud gateway → policy → CloudClient → Egress → HTTP (test/helpers/voice-rig.ts). The server's
 * byte record shows what left: the transcript text with the tool definitions under
 * public/sensitive, never the segment's audio (which the router stage holds for the same
 * utterance under public), and nothing at all under local_only.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { VoiceState } from '../../daemon/agents/voice-state.js';
import { Priority } from '../../daemon/bus/envelope.js';
import type {
  AnswerEvent,
  IntentEvent,
  MqttAction,
  PrivacyTier,
  RouteDecision,
  SayAction,
  SpeechEvent,
  ToolResult,
  Transcript,
} from '../../daemon/bus/topics.js';
import { isEgressEntry } from '../../daemon/router/audit-log.js';
import {
  type Behaviour,
  CHAT,
  chatChunk,
  defaultTranscription,
  FakeOpenAIServer,
  TRANSCRIPTIONS,
} from '../helpers/fake-openai-server.js';
import { segmentAudio, voiceRig } from '../helpers/voice-rig.js';

const UTTERANCE = 'could you brighten up the kitchen please';

let server: FakeOpenAIServer;
beforeEach(async () => {
  server = await FakeOpenAIServer.start();
});
afterEach(async () => {
  await server.close();
});

/** A tool call streamed the way OpenAI does it: name first, arguments in fragments. */
function toolCallStream(intervalMs = 0, hang = false) {
  return {
    kind: 'sse' as const,
    intervalMs,
    hang,
    done: !hang,
    chunks: [
      chatChunk({
        tool_calls: [
          { index: 0, id: 'call_1', type: 'function', function: { name: 'mqtt_publish', arguments: '' } },
        ],
      }),
      chatChunk({ tool_calls: [{ index: 0, function: { arguments: '{"topic":"demo/kitchen/' } }] }),
      chatChunk({ tool_calls: [{ index: 0, function: { arguments: 'light/set","payload":"ON"}' } }] }),
      chatChunk({}, 'tool_calls'),
    ],
  };
}

/** The rig under a tier, with agents.voice keys over its defaults (the light_on intent, score 0.7). */
const setup = (tier: PrivacyTier, voice: Record<string, unknown> = {}) => voiceRig({ server, tier, voice });

async function until(what: string, cond: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** 64 bytes from the middle of the segment: noise, so found only where the samples themselves are. */
function hasSamples(bytes: Buffer, audio: Int16Array): boolean {
  const mid = Math.floor(audio.length / 2);
  return bytes.includes(Buffer.from(audio.buffer, audio.byteOffset + mid * 2, 64));
}

function hasWavHeader(bytes: Buffer): boolean {
  return /RIFF....WAVE/s.test(bytes.toString('latin1'));
}

function containsAudio(bytes: Buffer, audio: Int16Array): boolean {
  return hasSamples(bytes, audio) || hasWavHeader(bytes);
}

describe('cloudAssist on the router chat path', () => {
  it.each(['public', 'sensitive'] as const)(
    'under %s an unmatched utterance goes to the cloud as text and its tool call runs',
    async (tier) => {
      server.script(CHAT, toolCallStream());
      const t = await setup(tier);
      await t.say(UTTERANCE);
      await until('action/mqtt', () => t.of('action/mqtt').length > 0);
      expect(t.of<MqttAction>('action/mqtt')).toEqual([
        { topic: 'demo/kitchen/light/set', payload: 'ON', qos: 1, retain: false, absolute: true },
      ]);
      await until('the cloud_assist result', () => t.of('tool/voice.cloud_assist/result').length > 0);
      // The tool's result went back to the model, which answered (the server's default: "ok").
      expect(t.of<ToolResult>('tool/voice.cloud_assist/result')[0]).toMatchObject({
        ok: true,
        result: { calls: [{ tool: 'mqtt.publish', ok: true }], answer: 'ok', rounds: 2 },
      });
      expect(t.of<IntentEvent>('agent/voice/intent')).toEqual([
        expect.objectContaining({ intent: 'cloud_assist', source: 'cloud', text: UTTERANCE }),
      ]);
      const intentDecisions = t.of<RouteDecision>('router/decision').filter((d) => d.kind === 'intent');
      // One decision per round: the policy (tier, cap, breaker) is asked again before each send.
      expect(intentDecisions).toEqual([
        expect.objectContaining({ route: 'cloud', reason: 'confidence_below_threshold', tier }),
        expect.objectContaining({ route: 'cloud', reason: 'confidence_below_threshold', tier }),
      ]);
      // What left the device: two chat requests (the call, then its result back) with text and tools, no audio.
      expect(server.requests.map((r) => r.path)).toEqual([CHAT, CHAT]);
      const second = JSON.parse(server.requests[1]!.body.toString('utf8'));
      expect(second.messages.slice(-3)).toEqual([
        { role: 'user', content: UTTERANCE },
        {
          role: 'assistant',
          content: '',
          tool_calls: [
            {
              id: 'call_1',
              type: 'function',
              function: {
                name: 'mqtt_publish',
                arguments: JSON.stringify({ topic: 'demo/kitchen/light/set', payload: 'ON' }),
              },
            },
          ],
        },
        { role: 'tool', tool_call_id: 'call_1', content: expect.stringContaining('demo/kitchen/light/set') },
      ]);
      expect(server.requests.filter((r) => r.path === TRANSCRIPTIONS)).toEqual([]);
      const body = JSON.parse(server.requests[0]!.body.toString('utf8'));
      expect(body.stream).toBe(true);
      expect(body.messages.at(-1)).toEqual({ role: 'user', content: UTTERANCE });
      // Only what agents.cloud_tools allows is offered.
      expect(body.tools.map((x: { function: { name: string } }) => x.function.name)).toEqual([
        'mqtt_publish',
      ]);
      // The call is in the audit log next to the egress that carried the text.
      const entries = await t.audit.list();
      expect(entries.filter((e) => !isEgressEntry(e))).toEqual([
        expect.objectContaining({
          tool: 'mqtt.publish',
          outcome: 'allowed',
          target: 'demo/kitchen/light/set',
        }),
      ]);
      expect(entries.filter(isEgressEntry)).toEqual([
        expect.objectContaining({ outcome: 'sent', dataKind: 'text' }),
        expect.objectContaining({ outcome: 'sent', dataKind: 'text' }),
      ]);
      // containsAudio can fail: see 'the audio check finds the segment when the router does upload it'.
      expect(containsAudio(server.allBytes(), t.audio)).toBe(false);
      await t.stop();
    },
  );

  it('the audio check finds the segment when the router does upload it (so the checks above can fail)', async () => {
    // Same stage, same segment, but an unsure local transcript under public: the router sends the
    // segment for a cloud transcription, as it is allowed to. Both halves of containsAudio see it.
    const t = await setup('public');
    await t.say(UTTERANCE, true);
    await until('the transcription upload', () => server.requests.some((r) => r.path === TRANSCRIPTIONS));
    const upload = server.requests.find((r) => r.path === TRANSCRIPTIONS)!.body;
    expect(hasSamples(upload, t.audio)).toBe(true);
    expect(hasWavHeader(upload)).toBe(true);
    await t.stop();
  });

  it('under local_only nothing reaches the server and the agent publishes no_match', async () => {
    const t = await setup('local_only');
    await t.say(UTTERANCE);
    await until('agent/voice/intent', () => t.of('agent/voice/intent').length > 0);
    expect(t.of<IntentEvent>('agent/voice/intent')).toEqual([
      expect.objectContaining({ intent: 'no_match', source: 'local', text: UTTERANCE }),
    ]);
    expect(t.of<RouteDecision>('router/decision').filter((d) => d.kind === 'intent')).toEqual([
      expect.objectContaining({ route: 'local', reason: 'privacy_local_only', tier: 'local_only' }),
    ]);
    await until('the cloud_assist result', () => t.of('tool/voice.cloud_assist/result').length > 0);
    expect(t.of<ToolResult>('tool/voice.cloud_assist/result')[0]).toMatchObject({
      ok: true,
      result: { calls: [], declined: 'privacy_local_only' },
    });
    expect(t.of('action/mqtt')).toEqual([]);
    expect(server.requests).toEqual([]);
    await t.stop();
  });

  it('a local intent match never asks the cloud', async () => {
    const t = await setup('public');
    await t.say('turn on the hall light');
    await until('action/mqtt', () => t.of('action/mqtt').length > 0);
    expect(t.of<MqttAction>('action/mqtt')[0]!.topic).toBe('demo/hall/light/set');
    expect(t.of<RouteDecision>('router/decision').filter((d) => d.kind === 'intent')).toEqual([]);
    expect(server.requests).toEqual([]);
    await t.stop();
  });

  it('a speech start aborts the streaming call: the connection closes and no tool runs', async () => {
    // The name and first fragment arrive, then the stream stalls before the arguments complete.
    server.script(CHAT, toolCallStream(50, true));
    const t = await setup('public');
    await t.say(UTTERANCE);
    await until('the chat request', () => server.requests.some((r) => r.path === CHAT));
    const start: SpeechEvent = {
      kind: 'start',
      segmentId: 'mic:2',
      startMs: 2000,
      sampleRateHz: 16_000,
      modelId: 'silero',
      confidence: 0.9,
      latencyMs: 1,
      inputTsMs: 2000,
    };
    await t.bus.publish('inference/vad/mic', start, { priority: Priority.critical });
    await until('the cloud_assist result', () => t.of('tool/voice.cloud_assist/result').length > 0);
    expect(t.of<ToolResult>('tool/voice.cloud_assist/result')[0]!.error?.code).toBe('E_TOOL_ABORTED');
    await until('the client closing the stream', () => server.requests[0]!.clientClosedAtMs !== undefined);
    expect(t.of('action/mqtt')).toEqual([]);
    const intentDecisions = t.of<RouteDecision>('router/decision').filter((d) => d.kind === 'intent');
    expect(intentDecisions.map((d) => [d.route, d.reason])).toEqual([
      ['cloud', 'confidence_below_threshold'],
      ['local_fallback', 'cloud_aborted'],
    ]);
    // Every handler has finished, the agent's own fold of the speech start included: seeing the
    // aborted tool result does not mean the agent has recorded the interrupt yet.
    await t.bus.drain(10_000);
    // Aborted by the user, not a no_match.
    expect(t.of<IntentEvent>('agent/voice/intent')).toEqual([]);
    expect(t.agents.runtime.get('voice')!.state()).toMatchObject({ interrupts: 1, cloudRequests: 1 });
    await t.stop();
  });

  it('a cloud answer without a tool call is an answer: spoken, shown, and kept as a turn', async () => {
    // The server's default chat answer: content only.
    const t = await setup('public');
    await t.say(UTTERANCE);
    await until('the final answer', () => t.of<AnswerEvent>('agent/voice/answer').some((a) => a.final));
    expect(t.of<IntentEvent>('agent/voice/intent')).toEqual([
      expect.objectContaining({ intent: 'answer', source: 'cloud' }),
    ]);
    expect(t.of<SayAction>('action/say')).toEqual([
      expect.objectContaining({
        text: 'ok',
        final: true,
        source: 'answer',
        conversationId: 'conversation-1',
      }),
    ]);
    expect(t.of<AnswerEvent>('agent/voice/answer').at(-1)).toEqual({
      text: 'ok',
      final: true,
      conversationId: 'conversation-1',
    });
    expect(server.requests.map((r) => r.path)).toEqual([CHAT]);
    expect(t.of('action/mqtt')).toEqual([]);
    const voice = t.agents.runtime.get('voice')!;
    await until('the turn', () => (voice.state() as VoiceState).conversation !== null);
    await t.stop();
  });

  it('a cloud that fails (HTTP 500) falls back: no_match with the reason, breaker counts it', async () => {
    server.script(CHAT, { kind: 'status', status: 500 });
    const t = await setup('sensitive');
    await t.say(UTTERANCE);
    await until('agent/voice/intent', () => t.of('agent/voice/intent').length > 0);
    expect(t.of<IntentEvent>('agent/voice/intent')[0]).toMatchObject({ intent: 'no_match', source: 'local' });
    const reasons = t
      .of<RouteDecision>('router/decision')
      .filter((d) => d.kind === 'intent')
      .map((d) => d.reason);
    expect(reasons).toEqual(['confidence_below_threshold', 'cloud_failed']);
    expect(t.router.snapshot()).toMatchObject({ cloudCalls: 1, cloudFailures: 1 });
    await t.stop();
  });
});

/** The sample rate in the first WAV header of a multipart upload (RIFF….WAVE, fmt at +24). */
function wavSampleRateHz(bytes: Buffer): number {
  const riff = bytes.indexOf('RIFF');
  expect(riff).toBeGreaterThanOrEqual(0);
  return bytes.readUInt32LE(riff + 24);
}

describe('refinements and the cloud gateway at the router stage', () => {
  it('a hybrid route refines the utterance on …/refined, and the voice agent acts once, on the refinement', async () => {
    // The cloud hears another room than the local transcript: the agent waits for it (within
    // refine_wait_ms) and acts on the better text once — never on both.
    server.script(TRANSCRIPTIONS, defaultTranscription('turn on the kitchen light'));
    const t = await setup('public');
    await t.say('turn on the hall light', true);
    await until('the refinement', () => t.router.snapshot().refinementsPublished === 1);
    await until('the intent', () => t.of('agent/voice/intent').length > 0);
    // Every handler has finished, the agent's fold of anything the refinement triggered included.
    await t.bus.drain(10_000);
    // One intent, one action (on the refined text), and one transcript on the agent's topic.
    expect(t.of<IntentEvent>('agent/voice/intent')).toEqual([
      expect.objectContaining({ intent: 'light_on', source: 'local', text: 'turn on the kitchen light' }),
    ]);
    expect(t.of<MqttAction>('action/mqtt').map((a) => a.topic)).toEqual(['demo/kitchen/light/set']);
    expect(t.of('inference/stt/mic')).toHaveLength(1);
    const transcriptDecisions = t.of<RouteDecision>('router/decision').filter((d) => d.kind === 'transcript');
    expect(transcriptDecisions.map((d) => d.route)).toEqual([expect.stringMatching(/^(hybrid|cloud)$/)]);
    const local = t.seen.find((e) => e.topic === 'inference/stt/mic')!;
    expect(t.of<Transcript>('inference/stt/mic/refined')).toEqual([
      expect.objectContaining({ text: 'turn on the kitchen light', refines: local.id, segmentId: 'mic:1' }),
    ]);
    await t.stop();
  });

  it('a refinement that is another sentence (a lying cloud) is not acted on: the local text stands', async () => {
    server.script(TRANSCRIPTIONS, defaultTranscription('turn on the garage light and open the door'));
    const t = await setup('public');
    await t.say('what time is it now', true);
    await until('the intent', () => t.of('agent/voice/intent').length > 0);
    await t.bus.drain(10_000);
    // Acted once, on what the device heard: no light, and the unlike refinement counted.
    expect(t.of<MqttAction>('action/mqtt')).toEqual([]);
    expect((t.agents.runtime.get('voice')!.state() as VoiceState).ignored).toBe(1);
    await t.stop();
  });

  it('a refinement slower than refine_wait_ms: the agent acts on the local text, and the late one never acts', async () => {
    server.script(TRANSCRIPTIONS, {
      ...(defaultTranscription('turn on the kitchen light') as Extract<Behaviour, { kind: 'json' }>),
      delayMs: 600,
    });
    const t = await setup('public', { refine_wait_ms: 100 });
    await t.say('turn on the hall light', true);
    await until('the refinement', () => t.router.snapshot().refinementsPublished === 1);
    await t.bus.drain(10_000);
    expect(t.of<IntentEvent>('agent/voice/intent')).toEqual([
      expect.objectContaining({ intent: 'light_on', text: 'turn on the hall light' }),
    ]);
    expect(t.of<MqttAction>('action/mqtt').map((a) => a.topic)).toEqual(['demo/hall/light/set']);
    // Published for information (MQTT voice/transcript), counted as ignored by the agent.
    expect(t.of<Transcript>('inference/stt/mic/refined')).toHaveLength(1);
    expect(t.agents.runtime.get('voice')!.state()).toMatchObject({ ignored: 1, matched: 1, pending: null });
    await t.stop();
  });

  it('a confident local transcript the router keeps local is acted on at once, without waiting', async () => {
    const t = await setup('public', { refine_wait_ms: 60_000 });
    await t.say('turn on the hall light');
    // Had the agent waited for a refinement, nothing would happen for a minute.
    await until('the intent', () => t.of('agent/voice/intent').length > 0, 5000);
    expect(t.of<RouteDecision>('router/decision').find((d) => d.kind === 'transcript')?.route).toBe('local');
    expect(t.of<MqttAction>('action/mqtt').map((a) => a.topic)).toEqual(['demo/hall/light/set']);
    await t.stop();
  });

  it('one failure table: a malformed cloud answer is cloud_bad_response for an assist and a refinement alike', async () => {
    // Not JSON where JSON is due, on both endpoints.
    server.script(CHAT, { kind: 'sse', chunks: ['this is not json'] });
    server.script(TRANSCRIPTIONS, { kind: 'raw', body: 'this is not json' });
    const t = await setup('public');
    await t.say(UTTERANCE, true);
    await until('the intent', () => t.of('agent/voice/intent').length > 0);
    await until(
      'both follow-ups',
      () => t.of<RouteDecision>('router/decision').filter((d) => d.route === 'local_fallback').length === 2,
    );
    const fallbacks = t
      .of<RouteDecision>('router/decision')
      .filter((d) => d.route === 'local_fallback')
      .map((d) => [d.kind, d.reason])
      .sort();
    expect(fallbacks).toEqual([
      ['intent', 'cloud_bad_response'],
      ['transcript', 'cloud_bad_response'],
    ]);
    expect(t.of<IntentEvent>('agent/voice/intent')).toEqual([
      expect.objectContaining({ intent: 'no_match', source: 'local' }),
    ]);
    expect(t.of('inference/stt/mic/refined')).toEqual([]);
    await t.stop();
  });

  it("joins a transcript to its segment's audio by segment id, sent at the segment's own sample rate", async () => {
    const t = await setup('public');
    // Two segments starting at the same time (a replay looping its fixture restarts the clock),
    // the first at 8 kHz: the transcript of the first must send the first's audio as 8 kHz.
    const first = segmentAudio().subarray(0, 8000);
    const second = segmentAudio();
    const end = (segmentId: string, audio: Int16Array, sampleRateHz: number): SpeechEvent => ({
      kind: 'end',
      segmentId,
      startMs: 0,
      endMs: 1000,
      sampleRateHz,
      audio,
      modelId: 'silero',
      confidence: 0.9,
      latencyMs: 1,
      inputTsMs: 0,
    });
    await t.bus.publish('inference/vad/mic', end('mic:7', first, 8000));
    await t.bus.publish('inference/vad/mic', end('mic:8', second, 16_000));
    await t.bus.drain(10_000);
    expect(t.router.held().segments).toBe(2);
    await t.bus.publish('inference/stt/mic', {
      text: 'hello there',
      modelId: 'whisper-tiny',
      confidence: 0.3,
      latencyMs: 10,
      inputTsMs: 0,
      language: 'en',
      noSpeechProb: 0.1,
      avgLogProb: -1.2,
      durationMs: 1000,
      inferenceMs: 100,
      segmentStartMs: 0,
      segmentId: 'mic:7',
    } satisfies Transcript);
    await until('the transcription upload', () => server.requests.some((r) => r.path === TRANSCRIPTIONS));
    const upload = server.requests.find((r) => r.path === TRANSCRIPTIONS)!.body;
    expect(hasSamples(upload, first)).toBe(true);
    expect(hasSamples(upload, second)).toBe(false);
    expect(wavSampleRateHz(upload)).toBe(8000);
    // The transcript took its segment out of the hold; the other waits for its own transcript.
    expect(t.router.held().segments).toBe(1);
    await t.stop();
  });
});
