/**
 * The listening gate (issue #14): in wake modes `wake_word` and `push_to_talk`, speech is
 * transcribed only inside a listening window. Windows come from `action/listen`, whoever opens
 * them: the wake-word stage, push-to-talk (MQTT `cmd/voice/listen`, Home Assistant's button) and
 * the voice agent's follow-up after an answer. The STT stage asks `admits()` for every segment;
 * a segment refused is never transcribed — that is the CPU a wake word saves on a Pi.
 *
 * A segment is admitted when it overlaps a window: it starts before the window closes and ends
 * after it opened. So a command spoken in the same breath as the wake word ("hey jarvis, what time
 * is it" is one VAD segment, begun before the word was recognised) is heard, and speech that ended
 * before the window opened is not. A window opens at its event's time (`tsMs`: the wake stage
 * stamps the audio time of the detection) and closes at its `untilMs`.
 *
 * Mode `always` (and `wake_word` whose model files are missing: the daemon then falls back to the
 * wake phrase, which the voice agent checks on the transcript) admits everything.
 */
import type { Envelope } from '../../bus/envelope.js';
import type { ListenWindow } from '../../bus/topics.js';
import type { EventBus, Subscription } from '../../bus/types.js';
import type { Component, ComponentHealth } from '../../component.js';
import type { Logger } from '../../log.js';
import type { SpeechGate } from '../stt/stt-stage.js';

export interface ListenGateOptions {
  readonly bus: EventBus;
  readonly logger: Logger;
  /** `open`: admit every segment (mode always, or the phrase fallback); `windows`: only inside windows. */
  readonly mode: 'open' | 'windows';
  /** Component name (default `pipeline.listen-gate`). */
  readonly name?: string;
  /**
   * Windows remembered (default 8). Overflow policy: the window that closes first is forgotten
   * (it is the least useful); windows closed for more than a minute are pruned on every event.
   */
  readonly maxWindows?: number;
}

export interface ListenGateStats {
  readonly admitted: number;
  /** Segments not transcribed because no window was open: the work the wake word saved. */
  readonly skipped: number;
  readonly windowsOpened: number;
  readonly openWindows: number;
}

interface Window {
  readonly reason: ListenWindow['reason'];
  readonly openedMs: number;
  readonly untilMs: number;
}

/** Closed windows are kept this long for segments still being cut when they closed, ms. */
const KEEP_CLOSED_MS = 60_000;

export class ListenGate implements Component, SpeechGate {
  readonly name: string;
  private readonly o: ListenGateOptions;
  private readonly maxWindows: number;
  private windows: Window[] = [];
  private sub: Subscription | undefined;
  private counts = { admitted: 0, skipped: 0, windowsOpened: 0 };

  constructor(options: ListenGateOptions) {
    this.o = options;
    this.name = options.name ?? 'pipeline.listen-gate';
    this.maxWindows = options.maxWindows ?? 8;
  }

  async start(): Promise<void> {
    if (this.o.mode === 'open') return;
    this.sub = this.o.bus.subscribe('action/listen', (env) => this.onListen(env), {
      component: this.name,
      qos: 'realtime',
      queueCapacity: 16,
    });
  }

  async stop(): Promise<void> {
    const sub = this.sub;
    this.sub = undefined;
    await sub?.unsubscribe();
    this.windows = [];
  }

  health(): ComponentHealth {
    return { status: 'ok' };
  }

  stats(): ListenGateStats {
    return { ...this.counts, openWindows: this.windows.length };
  }

  /** Record a window (what `action/listen` does; public for the tests of the policy). */
  open(reason: ListenWindow['reason'], openedMs: number, untilMs: number): void {
    if (!(untilMs > openedMs)) return; // an empty or inverted window admits nothing
    this.windows = this.windows.filter((w) => w.untilMs > openedMs - KEEP_CLOSED_MS);
    this.windows.push({ reason, openedMs, untilMs });
    if (this.windows.length > this.maxWindows) {
      this.windows.sort((a, b) => b.untilMs - a.untilMs);
      this.windows.length = this.maxWindows;
    }
    this.counts.windowsOpened++;
  }

  admits(micId: string, startMs: number, endMs: number): boolean {
    const ok =
      this.o.mode === 'open' || this.windows.some((w) => startMs <= w.untilMs && endMs >= w.openedMs);
    if (ok) this.counts.admitted++;
    else {
      this.counts.skipped++;
      this.o.logger.debug({ micId, startMs, endMs }, 'segment outside any listening window: not transcribed');
    }
    return ok;
  }

  private onListen(env: Envelope<ListenWindow>): void {
    const w = env.payload;
    if (typeof w.untilMs !== 'number' || !Number.isFinite(w.untilMs)) {
      this.o.logger.warn({ source: env.source }, 'action/listen without a finite untilMs: ignored');
      return;
    }
    this.open(w.reason, env.tsMs, w.untilMs);
  }
}
