/**
 * systemd's software watchdog (WatchdogSec= in the unit): WATCHDOG=1 every half of WATCHDOG_USEC,
 * but only while the daemon is really working. A process whose event loop is blocked, or whose
 * pipeline stopped producing (a wedged model, a dead sensor chain), stops petting; systemd then
 * kills and restarts it (Restart=on-failure), which is the one recovery that always works.
 *
 * Wall time, not the replay clock: systemd counts real seconds. The clock is injectable only so
 * that tests can drive the ticks.
 */
import type { Component, ComponentHealth } from '../component.js';
import type { Logger } from '../log.js';
import { type Clock, SystemClock, type TimerHandle } from '../util/clock.js';
import { type LoopDelayReader, LoopDelaySampler } from '../util/loop-delay.js';

/** What the progress probe says: ok, or why the pipeline looks stuck. */
export type ProgressVerdict = { readonly ok: true } | { readonly ok: false; readonly reason: string };

export interface WatchdogOptions {
  /** Sends WATCHDOG=1 (an SdNotify). */
  readonly notify: { watchdog(): Promise<boolean> };
  /**
   * Is the pipeline making progress? Called before every ping, on the timer, so it must be cheap
   * (e.g. "the bus delivered an event within the last N seconds"). Throwing counts as stuck.
   */
  readonly progress: () => ProgressVerdict;
  readonly log: Logger;
  /** Where WATCHDOG_USEC / WATCHDOG_PID come from (default process.env). */
  readonly env?: NodeJS.ProcessEnv;
  /** This process's pid, compared with WATCHDOG_PID (default process.pid). */
  readonly pid?: number;
  /** Default: the real clock. Never the virtual replay clock. */
  readonly clock?: Clock;
  /**
   * Longest event-loop stall tolerated within one ping interval, ms. Default: half the ping
   * interval (7.5 s with WatchdogSec=30) — a loop that stalls that long cannot serve sensors.
   */
  readonly maxEventLoopDelayMs?: number;
  /**
   * Reads and resets the longest event-loop delay since the last call, ms. Default: a window of
   * `loopDelay`. Injectable for tests.
   */
  readonly eventLoopDelayMs?: () => number;
  /** The process's event-loop delay sampler (default: one of its own), read while running. */
  readonly loopDelay?: LoopDelaySampler;
}

/** The ping interval systemd asks for, ms, or undefined when the watchdog is off for this process. */
export function watchdogIntervalMs(env: NodeJS.ProcessEnv, pid: number): number | undefined {
  const usec = Number(env.WATCHDOG_USEC);
  if (env.WATCHDOG_USEC === undefined || !Number.isFinite(usec) || usec <= 0) return undefined;
  // WATCHDOG_PID names the process the setting is for; a child that inherited it must not ping.
  if (env.WATCHDOG_PID !== undefined && env.WATCHDOG_PID !== '' && Number(env.WATCHDOG_PID) !== pid) {
    return undefined;
  }
  // sd_watchdog_enabled(3): "send a keep-alive at half the timeout".
  return Math.max(1, usec / 1000 / 2);
}

export class Watchdog implements Component {
  readonly name = 'system.watchdog';
  /** Ping interval, ms; undefined when systemd did not ask for a watchdog (then start is a no-op). */
  readonly intervalMs: number | undefined;
  private readonly clock: Clock;
  private readonly maxDelayMs: number;
  private timer: TimerHandle | undefined;
  private loopDelay: LoopDelayReader | undefined;
  private lastTickMs = 0;
  private pings = 0;
  private withheld = 0;
  private lastReason: string | undefined;

  constructor(private readonly options: WatchdogOptions) {
    this.intervalMs = watchdogIntervalMs(options.env ?? process.env, options.pid ?? process.pid);
    this.clock = options.clock ?? new SystemClock();
    this.maxDelayMs = options.maxEventLoopDelayMs ?? (this.intervalMs ?? 0) / 2;
  }

  async start(signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    if (this.intervalMs === undefined || this.timer !== undefined) return;
    if (this.options.eventLoopDelayMs === undefined) {
      this.loopDelay = (this.options.loopDelay ?? new LoopDelaySampler()).open();
    }
    this.lastTickMs = this.clock.monotonicMs();
    this.options.log.info(
      { intervalMs: this.intervalMs, maxEventLoopDelayMs: this.maxDelayMs },
      'watchdog on',
    );
    // The first ping goes out at once: READY=1 may have taken a while and the timer starts then.
    this.tick();
    this.timer = this.clock.setInterval(() => this.tick(), this.intervalMs);
  }

  async stop(): Promise<void> {
    this.timer?.cancel();
    this.timer = undefined;
    this.loopDelay?.close();
    this.loopDelay = undefined;
  }

  health(): ComponentHealth {
    if (this.lastReason === undefined) return { status: 'ok' };
    return { status: 'failed', reasons: [`watchdog withheld: ${this.lastReason}`] };
  }

  stats(): { readonly pings: number; readonly withheld: number } {
    return { pings: this.pings, withheld: this.withheld };
  }

  /** One interval: ping when the loop and the pipeline are fine, else log why not. */
  private tick(): void {
    const reason = this.stuckReason();
    if (reason === undefined) {
      if (this.lastReason !== undefined) this.options.log.info('watchdog: progress resumed, pinging again');
      this.lastReason = undefined;
      this.pings += 1;
      void this.options.notify.watchdog();
      return;
    }
    this.withheld += 1;
    // Logged on every withheld ping: at most two lines before systemd restarts the daemon.
    this.options.log.error({ reason }, 'watchdog: not pinging systemd, the daemon looks stuck');
    this.lastReason = reason;
  }

  private stuckReason(): string | undefined {
    const now = this.clock.monotonicMs();
    // A late timer is the simplest lag measure; the histogram also sees stalls between ticks.
    const driftMs = Math.max(0, now - this.lastTickMs - (this.intervalMs ?? 0));
    this.lastTickMs = now;
    const delayMs = Math.max(driftMs, this.readLoopDelayMs());
    if (delayMs > this.maxDelayMs) {
      return `event loop blocked for ${Math.round(delayMs)} ms (limit ${Math.round(this.maxDelayMs)} ms)`;
    }
    try {
      const verdict = this.options.progress();
      return verdict.ok ? undefined : `no progress: ${verdict.reason}`;
    } catch (err) {
      return `progress probe threw: ${err instanceof Error ? err.message : String(err)}`;
    }
  }

  private readLoopDelayMs(): number {
    if (this.options.eventLoopDelayMs !== undefined) return this.options.eventLoopDelayMs();
    const h = this.loopDelay?.histogram;
    if (h === undefined || h.count === 0) return 0;
    // The sampler records lateness past each due time, so the max is the longest stall it saw.
    const maxMs = h.max / 1e6;
    h.reset();
    return maxMs;
  }
}
