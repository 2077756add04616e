/**
 * The conversation loop end to end through real parts: the router stage (policy, egress guard,
 * audit) talking HTTP to a loopback OpenAI-compatible server scripted to stream answers and
 * multi-step tool calls, and the voice agent over LevelDB. What the tests wait for is an event on
 * the bus or a state of the agent; no fixed sleeps.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { VoiceWorking } from '../../daemon/agents/voice-assistant.js';
import type {
  AnswerEvent,
  IntentEvent,
  ListenWindow,
  MqttAction,
  SayAction,
  SilenceAction,
} from '../../daemon/bus/topics.js';
import { CHAT, FakeOpenAIServer, textAnswer, toolCallAnswer } from '../helpers/fake-openai-server.js';
import { voiceRig } from '../helpers/voice-rig.js';
import { until } from '../helpers/wait.js';

let server: FakeOpenAIServer;
beforeEach(async () => {
  server = await FakeOpenAIServer.start();
});
afterEach(async () => {
  await server.close();
});

const bodyOf = (i: number) =>
  JSON.parse(server.requests.filter((r) => r.path === CHAT)[i]!.body.toString('utf8')) as {
    messages: { role: string; content: string }[];
  };

describe('the conversation loop', () => {
  it('speaks the first sentence while the rest of the answer still streams', async () => {
    // The server sends one sentence and a half, then holds the stream open: a first sentence
    // spoken now was spoken before the answer was complete (no clock involved).
    server.script(CHAT, textAnswer(['It is sunny today. ', 'Highs of'], 0, true));
    const t = await voiceRig({ server });
    await t.say('what is it like outside');
    const first = await until('the first sentence', () => t.of<SayAction>('action/say')[0]);
    expect(first).toMatchObject({ text: 'It is sunny today.', final: false });
    expect(server.requests[0]!.clientClosedAtMs).toBeUndefined();
    expect(t.of<AnswerEvent>('agent/voice/answer').some((a) => a.final)).toBe(false);
    await t.stop();
  });

  it('cuts a streamed answer into sentences, the last one final, then the whole text', async () => {
    server.script(CHAT, textAnswer(['It is sunny today. ', 'Highs of twenty', ' degrees. Enjoy it!'], 100));
    const t = await voiceRig({ server });
    await t.say('what is it like outside');
    const final = await until('the final answer', () =>
      t.seen.find((e) => e.topic === 'agent/voice/answer' && (e.payload as AnswerEvent).final),
    );
    const says = t.seen.filter((e) => e.topic === 'action/say');
    expect(says.map((e) => (e.payload as SayAction).text)).toEqual([
      'It is sunny today.',
      'Highs of twenty degrees.',
      'Enjoy it!',
    ]);
    expect(says.map((e) => (e.payload as SayAction).final)).toEqual([false, false, true]);
    expect((final.payload as AnswerEvent).text).toBe('It is sunny today. Highs of twenty degrees. Enjoy it!');
    await t.stop();
  });

  it('keeps the conversation: the next question carries the earlier turn, forgotten after the idle time', async () => {
    server.script(CHAT, textAnswer(['Paris is the capital of France.']), textAnswer(['About two million.']));
    const t = await voiceRig({ server, voice: { conversation: { idle_forget_s: 2 } } });
    await t.say('what is the capital of france');
    await until('the first turn', () => t.state().conversation?.turns.length === 1);
    await t.say('how many people live there');
    await until('the second turn', () => t.state().conversation?.turns.length === 2);
    expect(
      bodyOf(1)
        .messages.map((m) => [m.role, m.content])
        .slice(1),
    ).toEqual([
      ['user', 'what is the capital of france'],
      ['assistant', 'Paris is the capital of France.'],
      ['user', 'how many people live there'],
    ]);
    const answers = t.of<AnswerEvent>('agent/voice/answer').filter((a) => a.final);
    expect(new Set(answers.map((a) => a.conversationId))).toEqual(new Set(['conversation-1']));
    // Idle for idle_forget_s: the agent's timer forgets it (a domain event, so a restart agrees).
    await until('the conversation forgotten', () => t.state().conversation === null, { timeoutMs: 10_000 });
    await t.say('and what about spain');
    await until('the third request', () => server.requests.length === 3);
    expect(bodyOf(2).messages.slice(1)).toEqual([{ role: 'user', content: 'and what about spain' }]);
    await t.stop();
  });

  it('forget erases the conversation with the rest of the agent state', async () => {
    const t = await voiceRig({ server });
    await t.say('tell me something');
    await until('the turn', () => t.state().conversation !== null);
    await t.agents.runtime.forgetAll();
    expect(t.state().conversation).toBeNull();
    await t.stop();
  });

  it('runs tool calls, returns their results to the model, and stops after max_steps rounds', async () => {
    // A model that never stops calling tools (a different light each time, so none is a duplicate).
    for (const room of ['hall', 'kitchen', 'porch', 'attic'])
      server.script(
        CHAT,
        toolCallAnswer([
          { name: 'mqtt_publish', arguments: { topic: `demo/${room}/light/set`, payload: 'ON' } },
        ]),
      );
    const t = await voiceRig({ server, voice: { conversation: { max_steps: 3 } } });
    await t.say('light up the whole house please');
    await until('the final answer', () => t.of<AnswerEvent>('agent/voice/answer').some((a) => a.final));
    // Three rounds: two ran their call, the third asked again and was cut off.
    expect(server.requests.filter((r) => r.path === CHAT)).toHaveLength(3);
    expect(t.of<MqttAction>('action/mqtt').map((a) => a.topic)).toEqual([
      'demo/hall/light/set',
      'demo/kitchen/light/set',
    ]);
    const third = bodyOf(2).messages;
    expect(third.filter((m) => m.role === 'tool')).toHaveLength(2);
    expect(t.of<SayAction>('action/say').map((s) => s.text)).toEqual(['Sorry, I could not finish that.']);
    await t.stop();
  });

  it('a call the model repeats in a later round is refused, not run twice', async () => {
    const call = { name: 'mqtt_publish', arguments: { topic: 'demo/hall/light/set', payload: 'ON' } };
    server.script(CHAT, toolCallAnswer([call]), toolCallAnswer([call]), textAnswer(['Done.']));
    const t = await voiceRig({ server });
    await t.say('make the hall bright');
    await until('the final answer', () => t.of<AnswerEvent>('agent/voice/answer').some((a) => a.final));
    expect(t.of<MqttAction>('action/mqtt')).toHaveLength(1);
    await t.stop();
  });
});

describe('barge-in and its own voice', () => {
  it('a speech start while it speaks silences the TTS and cancels the stream on arrival', async () => {
    server.script(CHAT, textAnswer(['Once upon a time. ', 'There was a device.'], 50, true));
    const t = await voiceRig({ server });
    await t.say('tell me a long story');
    await until('the first sentence', () => t.of('action/say').length > 0);
    await t.bus.publish('action/speaking', { state: 'start', text: 'Once upon a time.' });
    await until(
      'the agent to know it speaks',
      () => (t.voice.working() as unknown as VoiceWorking).speakingSinceMs !== null,
    );
    await t.speechStart();
    await until('the silence', () => t.of<SilenceAction>('action/silence').length > 0);
    expect(t.of<SilenceAction>('action/silence')).toEqual([{ reason: 'barge_in' }]);
    await until('the connection closed', () => server.requests[0]?.clientClosedAtMs !== undefined);
    expect(t.state().interrupts).toBe(1);
    await t.stop();
  });

  it('with barge_in stop_word, what the microphone hears over its own playback is ignored, but "stop" silences it', async () => {
    const t = await voiceRig({ server, voice: { barge_in: 'stop_word' } });
    await t.bus.publish('action/speaking', { state: 'start', text: 'The weather is fine.' });
    await until(
      'the agent to know it speaks',
      () => (t.voice.working() as unknown as VoiceWorking).speakingSinceMs !== null,
    );
    await t.speechStart(); // its own voice starts a segment: no barge-in under stop_word
    await t.say('the weather is fine');
    await until('the echo ignored', () => t.state().ignored === 1);
    await t.say('stop');
    await until('the silence', () => t.of<SilenceAction>('action/silence').length > 0);
    expect(t.of<SilenceAction>('action/silence')).toEqual([{ reason: 'stop_word' }]);
    expect(server.requests).toEqual([]);
    expect(t.of<IntentEvent>('agent/voice/intent')).toEqual([]);
    await t.stop();
  });
});

describe('wake phrase, follow-up window and consent', () => {
  it('needs the wake phrase, then takes a follow-up without it after an answer', async () => {
    // Questions no local skill answers ("what time is it" is the clock skill's now).
    server.script(CHAT, textAnswer(['Mount Everest.']), textAnswer(['8849 metres.']));
    const t = await voiceRig({ server, wakePhrase: 'hey edgeloom' });
    await t.say('what is the tallest mountain');
    await until('ignored without the phrase', () => t.state().ignored === 1);
    await t.say('Hey, edgeloom: what is the tallest mountain');
    await until('the answer', () => t.state().conversation?.turns.length === 1);
    expect(bodyOf(0).messages.at(-1)).toEqual({ role: 'user', content: 'what is the tallest mountain' });
    // The answer opened the follow-up window (published for the wake gate, too).
    expect(t.of<ListenWindow>('action/listen').map((w) => w.reason)).toContain('follow_up');
    await t.say('and how tall is it');
    await until('the follow-up answered', () => t.state().conversation?.turns.length === 2);
    expect(t.state().ignored).toBe(1);
    await t.stop();
  });

  it('under private, text leaves only when the utterance asks for the cloud by its phrase', async () => {
    server.script(CHAT, textAnswer(['Canberra.']));
    const t = await voiceRig({ server, tier: 'private' });
    await t.say('what is the capital of australia');
    await until('the local no_match', () => t.of<IntentEvent>('agent/voice/intent').length === 1);
    expect(t.of<IntentEvent>('agent/voice/intent')[0]).toMatchObject({ intent: 'no_match', source: 'local' });
    expect(server.requests).toEqual([]);
    await t.say('ask the cloud what is the capital of australia');
    await until('the answer', () => t.of<AnswerEvent>('agent/voice/answer').some((a) => a.final));
    expect(server.requests).toHaveLength(1);
    expect(bodyOf(0).messages.at(-1)).toEqual({ role: 'user', content: 'what is the capital of australia' });
    await t.stop();
  });

  it('the ask-cloud button (voice.ask_cloud) lets the next utterance alone go as text under private; the cloud cannot press it', async () => {
    server.script(CHAT, textAnswer(['Mercury.']));
    const t = await voiceRig({ server, tier: 'private' });
    const byCloud = await t.agents.tools.execute('voice.ask_cloud', {}, { origin: 'cloud', external: true });
    expect(byCloud.error?.code).toBe('E_TOOL_REFUSED');
    const pressed = await t.agents.tools.execute(
      'voice.ask_cloud',
      {},
      { origin: 'command', external: true },
    );
    expect(pressed.ok).toBe(true);
    await until(
      'the agent to hold the consent',
      () => (t.voice.working() as unknown as VoiceWorking).consentUntilMs > 0,
    );
    await t.say('which planet is closest to the sun');
    await until('the answer', () => t.of<AnswerEvent>('agent/voice/answer').some((a) => a.final));
    expect(bodyOf(0).messages.at(-1)).toEqual({
      role: 'user',
      content: 'which planet is closest to the sun',
    });
    // Used up: the next utterance stays on the device.
    await t.say('and which one is the largest');
    await until('the local no_match', () =>
      t.of<IntentEvent>('agent/voice/intent').some((i) => i.intent === 'no_match' && i.source === 'local'),
    );
    expect(server.requests).toHaveLength(1);
    await t.stop();
  });

  it('takes the detected wake word off the utterance said in the same breath', async () => {
    server.script(CHAT, textAnswer(['A very bright galaxy core.']));
    const t = await voiceRig({ server });
    await t.bus.publish('inference/wake/mic', {
      word: 'hey jarvis',
      score: 0.9,
      modelId: 'openwakeword-hey-jarvis',
    });
    await until(
      'the agent to know the word',
      () => (t.voice.working() as unknown as VoiceWorking).wakeWord !== '',
    );
    await t.say('Hey Jarvis, what is a quasar');
    await until('the request', () => server.requests.length === 1);
    expect(bodyOf(0).messages.at(-1)).toEqual({ role: 'user', content: 'what is a quasar' });
    await t.stop();
  });
});
