/**
 * The TTS actuator (actions/tts.ts) with a real espeak-ng on a real bus: utterances one at a time
 * in order, each a real WAV; `action/silence` killing a long utterance mid-play and dropping the
 * queue; the bounded queue dropping (and counting) what does not fit; a missing program or player
 * counted as failed while the actuator goes on; the utterance time limit.
 *
 * No sound device exists here: the long utterance plays through `espeak-ng --stdout` piped to
 * test/helpers/paced-player.mjs, which takes the audio at a real device's pace (the one mock).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TtsActuator, type TtsActuatorOptions } from '../../daemon/actions/tts.js';
import { fileStem, fillArgv, TtsRun } from '../../daemon/actions/tts-process.js';
import { Bus } from '../../daemon/bus/bus.js';
import { Priority } from '../../daemon/bus/envelope.js';
import type { SayAction, SpeakingEvent, SpeechEvent } from '../../daemon/bus/topics.js';
import { silentLogger } from '../../daemon/log.js';
import { Metrics } from '../../daemon/observe/http/metrics.js';
import { StatsCollector } from '../../daemon/observe/stats.js';
import { type Clock, SystemClock } from '../../daemon/util/clock.js';
import { VirtualClock } from '../../daemon/util/virtual-clock.js';
import { needs, REPO_ROOT } from '../helpers/tools.js';
import { turn, until } from '../helpers/wait.js';

const PLAYER = join(REPO_ROOT, 'test/helpers/paced-player.mjs');
/** espeak-ng's output: 22050 Hz, 16-bit, mono. */
const BYTES_PER_S = 44_100;

/** A speaking event and what the WAV files held when it was seen. */
interface Seen extends SpeakingEvent {
  readonly wavBytes: Readonly<Record<string, number>>;
}

describe.runIf(needs({ tools: ['espeak-ng'] }))('TTS actuator with a real espeak-ng', () => {
  let dir: string;
  let bus: Bus;
  let tts: TtsActuator | undefined;
  let seen: Seen[];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'edgeloom-tts-'));
    seen = [];
  });
  afterEach(async () => {
    await tts?.stop();
    tts = undefined;
    await rm(dir, { recursive: true, force: true });
  });

  function wavSizes(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.wav'))) out[f] = statSync(join(dir, f)).size;
    return out;
  }

  async function startTts(
    o: Partial<Omit<TtsActuatorOptions, 'command'>> & { command?: Partial<TtsActuatorOptions['command']> },
    clock: Clock = new SystemClock(),
  ): Promise<TtsActuator> {
    bus = new Bus({ clock: new SystemClock(), logger: silentLogger() });
    bus.subscribe('action/speaking', (env) => void seen.push({ ...env.payload, wavBytes: wavSizes() }), {
      component: 'test',
    });
    tts = new TtsActuator({
      bus,
      logger: silentLogger(),
      queueSize: o.queueSize ?? 16,
      maxUtteranceMs: o.maxUtteranceMs ?? 30_000,
      clock,
      ...(o.available === undefined ? {} : { available: o.available }),
      ...(o.bargeInOnSpeech === undefined ? {} : { bargeInOnSpeech: o.bargeInOnSpeech }),
      command: {
        command: ['espeak-ng', '-w', join(dir, '{utterance}.wav')],
        input: 'stdin',
        player: [],
        outputDevice: 'default',
        ...o.command,
      },
    });
    await tts.start();
    return tts;
  }

  const say = (text: string, utteranceId: string, conversationId?: string): void => {
    const p: SayAction = {
      text,
      utteranceId,
      source: 'answer',
      ...(conversationId === undefined ? {} : { conversationId }),
    };
    void bus.publish('action/say', p, { source: 'test' });
  };
  const ends = (): Seen[] => seen.filter((e) => e.state === 'end');

  it('speaks utterances one at a time in order: the next starts only after the previous ended, each a real WAV', async () => {
    const t = await startTts({});
    say('The kitchen light is on.', 'u1', 'c1');
    say('The oven is off.', 'u2', 'c1');
    say('Anything else?', 'u3', 'c1');
    await until('three ends', () => ends().length === 3);
    expect(seen.map((e) => [e.state, e.utteranceId, e.conversationId, e.ok])).toEqual([
      ['start', 'u1', 'c1', undefined],
      ['end', 'u1', 'c1', true],
      ['start', 'u2', 'c1', undefined],
      ['end', 'u2', 'c1', true],
      ['start', 'u3', 'c1', undefined],
      ['end', 'u3', 'c1', true],
    ]);
    // At each start, the earlier utterances' WAVs are complete and the later ones not begun (its
    // own may be, by a process racing the event's delivery).
    const at = (state: string, id: string) =>
      seen.find((e) => e.state === state && e.utteranceId === id)!.wavBytes;
    const final = (id: string) => statSync(join(dir, `${id}.wav`)).size;
    expect(at('start', 'u1')).not.toHaveProperty(['u2.wav']);
    expect(at('start', 'u1')).not.toHaveProperty(['u3.wav']);
    expect(at('start', 'u2')).toMatchObject({ 'u1.wav': final('u1') });
    expect(at('start', 'u2')).not.toHaveProperty(['u3.wav']);
    expect(at('start', 'u3')).toMatchObject({ 'u1.wav': final('u1'), 'u2.wav': final('u2') });
    expect(at('end', 'u1')).toMatchObject({ 'u1.wav': final('u1') });
    for (const id of ['u1', 'u2', 'u3']) {
      const wav = readFileSync(join(dir, `${id}.wav`));
      expect(wav.subarray(0, 4).toString()).toBe('RIFF');
      expect(wav.subarray(8, 12).toString()).toBe('WAVE');
      // Real speech: at least a few tenths of a second of 16-bit audio at 22050 Hz.
      expect(wav.length, id).toBeGreaterThan(0.3 * BYTES_PER_S);
    }
    // The longest sentence made the longest audio.
    expect(statSync(join(dir, 'u1.wav')).size).toBeGreaterThan(statSync(join(dir, 'u3.wav')).size);
    expect(t.stats()).toMatchObject({ spoken: 3, failed: 0, interrupted: 0, queueDepth: 0 });
    expect(t.health()).toEqual({ status: 'ok' });
  });

  it('action/silence kills a long utterance mid-play and drops the queue; later speech still plays', async () => {
    const out = join(dir, 'long.raw');
    const t = await startTts({
      command: {
        command: ['espeak-ng', '--stdout'],
        player: [process.execPath, PLAYER, String(BYTES_PER_S), join(dir, '{utterance}.raw')],
      },
    });
    const long = 'This is a long answer that goes on and on about the weather in the kitchen. '.repeat(6);
    say(long, 'long', 'c1');
    say('queued one', 'q1', 'c1');
    say('queued two', 'q2', 'c1');
    // Mid-play: the player has taken a second of audio, far from the ~30 s the text lasts.
    await until('a second of audio played', () => {
      try {
        return statSync(out).size >= BYTES_PER_S;
      } catch {
        return false;
      }
    });
    const playerPid = Number(readFileSync(`${out}.pid`, 'utf8'));
    expect(alive(playerPid)).toBe(true);
    void bus.publish(
      'action/silence',
      { reason: 'barge_in' },
      { source: 'test', priority: Priority.critical },
    );
    // Published after the silence: kept and spoken once the long one is gone.
    say('Okay.', 'after', 'c2');
    await until('the long utterance to end', () => ends().some((e) => e.utteranceId === 'long'));
    await until('the reply after the silence to end', () => ends().some((e) => e.utteranceId === 'after'));
    expect(seen.map((e) => [e.state, e.utteranceId, e.ok])).toEqual([
      ['start', 'long', undefined],
      ['end', 'long', false],
      ['start', 'after', undefined],
      ['end', 'after', true],
    ]);
    await until('the player to be gone', () => !alive(playerPid));
    expect(espeakChildren()).toEqual([]);
    // Cut off: far less audio than the whole text makes (~30 s; the silence came after ~1 s).
    expect(statSync(out).size).toBeLessThan(10 * BYTES_PER_S);
    expect(t.stats()).toMatchObject({
      spoken: 1,
      interrupted: 1,
      failed: 0,
      dropped: { silenced: 2, queue_full: 0 },
      queueDepth: 0,
    });
  });

  it('with barge-in on speech, a speech start while it plays silences it in the turn that delivers it', async () => {
    const out = join(dir, 'story.raw');
    const t = await startTts({
      bargeInOnSpeech: true,
      command: {
        command: ['espeak-ng', '--stdout'],
        player: [process.execPath, PLAYER, String(BYTES_PER_S), join(dir, '{utterance}.raw')],
      },
    });
    say('Once upon a time there was a small device that listened to everything. '.repeat(6), 'story', 'c1');
    say('and then', 'next', 'c1');
    await until('half a second played', () => {
      try {
        return statSync(out).size >= BYTES_PER_S / 2;
      } catch {
        return false;
      }
    });
    const start: SpeechEvent = {
      kind: 'start',
      segmentId: 'mic:9',
      startMs: 0,
      sampleRateHz: 16_000,
      modelId: 'silero',
      confidence: 0.9,
      latencyMs: 1,
      inputTsMs: 0,
    };
    await bus.publish('inference/vad/mic', start, { source: 'test', priority: Priority.critical });
    await turn();
    // Nobody published action/silence: the actuator reacted to the speech start itself, at once.
    expect(t.stats()).toMatchObject({ dropped: { silenced: 1 }, queueDepth: 0 });
    await until('the story to end', () => ends().some((e) => e.utteranceId === 'story'));
    expect(ends().map((e) => [e.utteranceId, e.ok])).toEqual([['story', false]]);
    expect(t.stats().interrupted).toBe(1);
    // Cut off: far less audio than the whole story makes.
    expect(statSync(out).size).toBeLessThan(10 * BYTES_PER_S);
  });

  it('without barge-in on speech, a speech start changes nothing (its own voice, under stop_word/off)', async () => {
    const t = await startTts({});
    say('a short one', 'short', 'c1');
    await until('it to start', () => seen.some((e) => e.state === 'start'));
    await bus.publish('inference/vad/mic', {
      kind: 'start',
      segmentId: 'mic:1',
      startMs: 0,
      sampleRateHz: 16_000,
      modelId: 'silero',
      confidence: 0.9,
      latencyMs: 1,
      inputTsMs: 0,
    });
    await until('it to end', () => ends().length === 1);
    expect(ends()[0]!.ok).toBe(true);
    expect(t.stats().interrupted).toBe(0);
  });

  it('bounds the queue: what does not fit is dropped, counted, and never started', async () => {
    const t = await startTts({ queueSize: 2 });
    // One turn: the first starts at once, two wait, two do not fit.
    for (const n of [1, 2, 3, 4, 5]) say(`number ${n}`, `n${n}`);
    await until('three ends', () => ends().length === 3);
    await t.idle();
    expect(seen.filter((e) => e.state === 'start').map((e) => e.utteranceId)).toEqual(['n1', 'n2', 'n3']);
    expect(ends().map((e) => e.ok)).toEqual([true, true, true]);
    expect(t.stats()).toMatchObject({ spoken: 3, dropped: { queue_full: 2 }, queueCapacity: 2 });
    expect(readdirSync(dir).sort()).toEqual(['n1.wav', 'n2.wav', 'n3.wav']);
    // The counters as /metrics shows them.
    const stats = new StatsCollector({
      clock: new VirtualClock(0),
      logger: silentLogger(),
      providers: { tts: () => t.stats() },
    });
    const text = await new Metrics({
      snapshot: () => stats.snapshot(),
      provides: (x) => stats.provides(x),
    }).render();
    const metric = (series: string) =>
      text
        .split('\n')
        .find((l) => l.startsWith(`${series} `))
        ?.split(' ')[1];
    expect(metric('edgeloom_tts_utterances_total{outcome="spoken"}')).toBe('3');
    expect(metric('edgeloom_tts_utterances_total{outcome="dropped"}')).toBe('2');
    expect(metric('edgeloom_tts_utterances_total{outcome="failed"}')).toBe('0');
    expect(metric('edgeloom_tts_utterances_total{outcome="interrupted"}')).toBe('0');
    expect(metric('edgeloom_tts_dropped_total{reason="queue_full"}')).toBe('2');
    expect(metric('edgeloom_tts_queue_depth')).toBe('0');
  });

  it('a missing program is counted failed with E_TTS_UNAVAILABLE, health says so, and the next utterance is still tried', async () => {
    const t = await startTts({ command: { command: ['edgeloom-no-such-tts'] }, available: false });
    expect(t.health().status).toBe('degraded');
    say('hello', 'm1');
    say('again', 'm2');
    await until('two ends', () => ends().length === 2);
    expect(seen.map((e) => [e.state, e.utteranceId, e.ok])).toEqual([
      ['start', 'm1', undefined],
      ['end', 'm1', false],
      ['start', 'm2', undefined],
      ['end', 'm2', false],
    ]);
    expect(t.stats()).toMatchObject({ spoken: 0, failed: 2 });
    expect(t.health()).toMatchObject({
      status: 'degraded',
      reasons: [expect.stringMatching(/edgeloom-no-such-tts/)],
    });
  });

  it('a missing player fails the utterance and takes the TTS program down with it', async () => {
    const t = await startTts({
      command: { command: ['espeak-ng', '--stdout'], player: ['edgeloom-no-such-player'] },
    });
    say('hello there', 'p1');
    await until('the end', () => ends().length === 1);
    expect(ends()[0]).toMatchObject({ utteranceId: 'p1', ok: false });
    expect(t.stats()).toMatchObject({ failed: 1 });
    await until('no espeak-ng left', () => espeakChildren().length === 0);
  });

  it('kills an utterance that runs past max_utterance_ms (on the injected clock) and counts it failed', async () => {
    const clock = new VirtualClock(0);
    const t = await startTts(
      {
        maxUtteranceMs: 5000,
        command: {
          command: ['sh', '-c', 'echo $$ > "$0.pid"; exec sleep 3600', join(dir, 'hang')],
          input: 'stdin',
        },
      },
      clock,
    );
    say('never ends', 'h1');
    const pid = await until('the program to start', () => {
      try {
        return Number(readFileSync(join(dir, 'hang.pid'), 'utf8')) || undefined;
      } catch {
        return undefined;
      }
    });
    expect(alive(pid)).toBe(true);
    await clock.advanceTo(5000);
    await until('the end', () => ends().length === 1);
    expect(ends()[0]).toMatchObject({ utteranceId: 'h1', ok: false });
    expect(t.stats()).toMatchObject({ failed: 1, interrupted: 0 });
    await until('the program to be gone', () => !alive(pid));
  });
});

describe('TTS argv placeholders', () => {
  it('an argv spawn() refuses at once (a NUL byte) ends the utterance with E_TTS_UNAVAILABLE, never a throw', async () => {
    const run = new TtsRun(
      { command: ['espeak-ng', 'a\u0000b'], input: 'stdin', player: [], outputDevice: 'default' },
      'hi',
      'x',
    );
    const outcome = await run.done;
    expect(outcome.ok).toBe(false);
    expect('error' in outcome && outcome.error.code).toBe('E_TTS_UNAVAILABLE');
  });

  it('fills {utterance} with a file-name-safe stem and {output} with the device; text is never a placeholder', () => {
    expect(fileStem('../../etc/passwd')).toBe('______etc_passwd');
    expect(fileStem('')).toBe('_');
    expect(
      fillArgv(['aplay', '-D', '{output}', '/tmp/{utterance}.wav', '{text}'], 'a/b', 'plughw:1,0'),
    ).toEqual(['aplay', '-D', 'plughw:1,0', '/tmp/a_b.wav', '{text}']);
  });
});

/** True while `pid` is a live process (a zombie counts as gone). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    return !/^\S+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

/** Live espeak-ng processes this test process started. */
function espeakChildren(): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const m = /^\d+ \((.*)\) (\S) (\d+)/.exec(stat);
      if (m !== null && m[1] === 'espeak-ng' && m[2] !== 'Z' && Number(m[3]) === process.pid)
        out.push(Number(name));
    } catch {}
  }
  return out;
}
