/**
 * The TTS actuator (issue #14): speaks `action/say` one utterance at a time, in the order they
 * were published, through the configured program (tts-process.ts), and frames each with
 * `action/speaking` start/end (carrying utteranceId and conversationId) — what the display shows
 * as "speaking", what the voice agent uses for its own-voice guard and follow-up window, and what
 * the MQTT bridge publishes as `<base>/voice/speaking`.
 *
 * `action/silence` (a barge-in, a stop word, a command; published critical) kills the utterance
 * playing now with SIGTERM and drops every utterance published before the silence. Its handler is
 * synchronous, on its own subscription: it runs in the microtask after the publish, in the same
 * bus turn as the speech start that caused it, never behind queued speech. Which utterances came
 * before the silence is decided by publish order (envelope ids are the bus's publish sequence,
 * bus/bus-envelope.ts), not by delivery order across the two subscriptions: a sentence published
 * after the silence (the reply to "stop") is kept even when it is delivered first.
 */
import { commandExists, speakableText } from '../agents/builtin-tools.js';
import type { Envelope } from '../bus/envelope.js';
import type { SayAction, SilenceAction } from '../bus/topics.js';
import type { EventBus, Subscription } from '../bus/types.js';
import type { Component, ComponentHealth } from '../component.js';
import type { EdgeloomConfig } from '../config/index.js';
import { EdgeloomError, ErrorCode } from '../errors.js';
import type { Logger } from '../log.js';
import { type Clock, SystemClock, type TimerHandle } from '../util/clock.js';
import { type TtsCommand, TtsRun } from './tts-process.js';

export interface TtsActuatorOptions {
  readonly bus: EventBus;
  readonly logger: Logger;
  /** The program, how the text reaches it, the player and the device (agents.voice.tts). */
  readonly command: TtsCommand;
  /** Utterances waiting at most (agents.voice.tts.queue_size); the one playing is not counted. */
  readonly queueSize: number;
  /** One utterance is killed past this, ms (agents.voice.tts.max_utterance_ms). */
  readonly maxUtteranceMs: number;
  /** Wall time for the utterance limit (processes run in real time, also in a replay). */
  readonly clock?: Clock;
  /** False when the program was not found at start: health says so (each utterance still tries). */
  readonly available?: boolean;
  /**
   * Barge-in on any speech start (`agents.voice.barge_in: speech`): a speech start while playing
   * silences at once, in the bus turn that delivers it, before the voice agent has even decided
   * (its own `action/silence` follows and finds nothing left to stop).
   */
  readonly bargeInOnSpeech?: boolean;
}

/** Why utterances never played. */
export type TtsDropReason = 'queue_full' | 'silenced' | 'stopped' | 'invalid';

export interface TtsStats {
  /** Played to the end, the program exiting 0. */
  readonly spoken: number;
  /** The program could not run, exited non-zero, or ran past max_utterance_ms. */
  readonly failed: number;
  /** Cut off while playing by `action/silence` (or the daemon stopping). */
  readonly interrupted: number;
  /** Never played, by reason. */
  readonly dropped: Readonly<Record<TtsDropReason, number>>;
  readonly queueDepth: number;
  readonly queueCapacity: number;
}

interface Playing {
  readonly env: Envelope<SayAction>;
  readonly text: string;
  readonly run: TtsRun;
  readonly limit: TimerHandle;
  readonly done: Promise<void>;
}

/** How long stop() waits for a killed utterance's processes to exit, ms. */
const STOP_WAIT_MS = 3000;

export class TtsActuator implements Component {
  readonly name = 'actions.tts';
  /**
   * Utterances waiting, oldest first; at most queueSize. When full the NEW utterance is dropped
   * (counted `queue_full`): the answer being read stays coherent instead of losing its beginning.
   */
  private queue: Envelope<SayAction>[] = [];
  private playing: Playing | undefined;
  /** Utterances published before this envelope sequence were silenced. */
  private silencedBeforeSeq = 0;
  private subs: Subscription[] = [];
  private running = false;
  private idleWaiters: (() => void)[] = [];
  private unavailable: boolean;
  private readonly clock: Clock;
  private spoken = 0;
  private failed = 0;
  private interrupted = 0;
  private readonly dropped: Record<TtsDropReason, number> = {
    queue_full: 0,
    silenced: 0,
    stopped: 0,
    invalid: 0,
  };

  constructor(private readonly o: TtsActuatorOptions) {
    this.clock = o.clock ?? new SystemClock();
    this.unavailable = o.available === false;
  }

  async start(): Promise<void> {
    this.running = true;
    if (this.unavailable) {
      this.o.logger.error(
        { code: ErrorCode.E_TTS_UNAVAILABLE, program: this.o.command.command[0] },
        'tts: the program is not installed (agents.voice.tts.command); nothing will be spoken until it is',
      );
    }
    // The say handler only queues (synchronous): the bound and its policy are this class's queue,
    // so the bus queue never holds speech. Batched: a say is an action, never dropped unseen.
    this.subs.push(
      this.o.bus.subscribe('action/say', (env) => this.onSay(env), { component: this.name }),
      // Realtime, 4 deep: silences are idempotent, the newest is the one that matters.
      this.o.bus.subscribe('action/silence', (env) => this.onSilence(env), {
        component: this.name,
        qos: 'realtime',
        queueCapacity: 4,
      }),
    );
    if (this.o.bargeInOnSpeech === true) {
      // Realtime, 4 deep: only a start while playing matters, and only now.
      this.subs.push(
        this.o.bus.subscribe(
          'inference/vad/+',
          (env) => {
            if (env.payload.kind === 'start' && this.playing !== undefined)
              this.silence(seqOf(env), 'barge_in');
          },
          { component: this.name, qos: 'realtime', queueCapacity: 4 },
        ),
      );
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    const subs = this.subs;
    this.subs = [];
    await Promise.all(subs.map((s) => s.unsubscribe()));
    this.dropped.stopped += this.queue.length;
    this.queue = [];
    const p = this.playing;
    if (p !== undefined) {
      p.run.kill('stopped');
      const wall = new Promise<void>((r) => setTimeout(r, STOP_WAIT_MS).unref());
      await Promise.race([p.done, wall]);
    }
    this.notifyIdle();
  }

  health(): ComponentHealth {
    return this.unavailable
      ? { status: 'degraded', reasons: [`tts program '${this.o.command.command[0]}' cannot be run`] }
      : { status: 'ok' };
  }

  /** Undefined when nothing is queued or playing; else settles when both are done. */
  idle(): Promise<void> | undefined {
    if (this.playing === undefined && this.queue.length === 0) return undefined;
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  stats(): TtsStats {
    return {
      spoken: this.spoken,
      failed: this.failed,
      interrupted: this.interrupted,
      dropped: { ...this.dropped },
      queueDepth: this.queue.length,
      queueCapacity: this.o.queueSize,
    };
  }

  private onSay(env: Envelope<SayAction>): void {
    const p = env.payload as Partial<SayAction> | undefined;
    if (typeof p?.text !== 'string' || typeof p.utteranceId !== 'string') {
      this.dropped.invalid++;
      this.o.logger.warn(
        { source: env.source, id: env.id },
        'tts: action/say without text or utteranceId: dropped',
      );
      return;
    }
    if (!this.running) {
      this.dropped.stopped++;
      return;
    }
    if (seqOf(env) < this.silencedBeforeSeq) {
      this.dropped.silenced++;
      return;
    }
    if (this.queue.length >= this.o.queueSize) {
      this.dropped.queue_full++;
      this.o.logger.warn(
        { utteranceId: p.utteranceId, queueSize: this.o.queueSize },
        'tts: queue full, utterance dropped (agents.voice.tts.queue_size)',
      );
      return;
    }
    this.queue.push(env);
    this.next();
  }

  private onSilence(env: Envelope<SilenceAction>): void {
    this.silence(seqOf(env), env.payload.reason);
  }

  /** Stop what plays and drop what waits, for everything published before envelope `seq`. */
  private silence(seq: number, reason: string): void {
    this.silencedBeforeSeq = Math.max(this.silencedBeforeSeq, seq);
    const kept = this.queue.filter((e) => seqOf(e) > this.silencedBeforeSeq);
    this.dropped.silenced += this.queue.length - kept.length;
    this.queue = kept;
    const p = this.playing;
    if (p !== undefined && seqOf(p.env) < this.silencedBeforeSeq) {
      p.run.kill(`silence:${reason}`);
    }
  }

  /** Start the oldest queued utterance unless one is playing. */
  private next(): void {
    if (this.playing !== undefined) return;
    const env = this.queue.shift();
    if (env === undefined) {
      this.notifyIdle();
      return;
    }
    const say = env.payload;
    const text = speakableText(say.text);
    // `start` before the process: the voice agent's own-voice guard must cover its first sound.
    const started = this.speaking(env, text, 'start');
    const run = new TtsRun(this.o.command, text, say.utteranceId);
    const limit = this.clock.setTimeout(() => run.kill('timeout'), this.o.maxUtteranceMs);
    const done = run.done.then(async (outcome) => {
      limit.cancel();
      await started;
      let ok = false;
      if (outcome.ok) {
        this.spoken++;
        this.unavailable = false;
        ok = true;
      } else if ('killed' in outcome && outcome.killed !== 'timeout') {
        this.interrupted++;
      } else {
        this.failed++;
        const error =
          'error' in outcome
            ? outcome.error
            : new EdgeloomError(
                ErrorCode.E_TTS_FAILED,
                `utterance killed after max_utterance_ms (${this.o.maxUtteranceMs} ms)`,
                { where: 'tts' },
              );
        if (error.code === ErrorCode.E_TTS_UNAVAILABLE) this.unavailable = true;
        this.o.logger.error(
          { err: error, code: error.code, utteranceId: say.utteranceId, chars: text.length },
          'tts: utterance failed',
        );
      }
      await this.speaking(env, text, 'end', ok);
    });
    this.playing = { env, text, run, limit, done };
    void done.finally(() => {
      this.playing = undefined;
      if (this.running) this.next();
      else this.notifyIdle();
    });
  }

  /** Publish `action/speaking`; awaits only a full guaranteed subscriber (backpressure). */
  private async speaking(
    env: Envelope<SayAction>,
    text: string,
    state: 'start' | 'end',
    ok?: boolean,
  ): Promise<void> {
    const say = env.payload;
    try {
      await this.o.bus.publish(
        'action/speaking',
        {
          state,
          text,
          ...(ok === undefined ? {} : { ok }),
          utteranceId: say.utteranceId,
          ...(say.conversationId === undefined ? {} : { conversationId: say.conversationId }),
        },
        { source: this.name, correlationId: say.utteranceId },
      );
    } catch (err) {
      // A closing bus refuses publishes: the utterance still counts, nobody is left to tell.
      this.o.logger.debug({ err }, 'tts: action/speaking not published');
    }
  }

  private notifyIdle(): void {
    if (this.playing !== undefined || this.queue.length > 0) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }
}

/** The envelope's publish sequence number (its id; bus/bus-envelope.ts). */
function seqOf(env: Envelope): number {
  const n = Number(env.id);
  return Number.isFinite(n) ? n : 0;
}

/** The TTS actuator for `agents.voice.tts`, or undefined when speech output is off. */
export function ttsFromConfig(
  voice: EdgeloomConfig['agents']['voice'],
  bus: EventBus,
  logger: Logger,
): TtsActuator | undefined {
  const c = voice.tts;
  if (!c.enabled) return undefined;
  return new TtsActuator({
    bus,
    logger,
    command: { command: c.command, input: c.input, player: c.player, outputDevice: c.output_device },
    queueSize: c.queue_size,
    maxUtteranceMs: c.max_utterance_ms,
    available: commandExists(c.command[0] ?? ''),
    bargeInOnSpeech: voice.barge_in === 'speech',
  });
}
