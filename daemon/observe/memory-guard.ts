import type { EventBus } from '../bus/types.js';
import type { Component, ComponentHealth } from '../component.js';
import { EdgeloomError, ErrorCode, toError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Clock, TimerHandle } from '../util/clock.js';

/** `ok` below the soft mark; `soft` sheds optional load; `hard` sheds everything it can. */
export type MemoryLevel = 'ok' | 'soft' | 'hard';

export interface MemoryGuardStatus {
  readonly level: MemoryLevel;
  readonly rssBytes: number;
  readonly budgetBytes: number;
  /** rss / budget, 0..1 (may exceed 1). */
  readonly ratio: number;
  readonly softBytes: number;
  readonly hardBytes: number;
  /** Times the guard escalated (ok→soft, soft→hard, ok→hard) since start. */
  readonly pressureEvents: number;
  /** Callbacks that threw or rejected. */
  readonly callbackFailures: number;
}

export interface MemoryGuardOptions {
  readonly clock: Clock;
  readonly logger: Logger;
  /** Memory budget, MiB (config `budget.memory_mb`). */
  readonly budgetMb: number;
  /** Escalations are published as `system/error` (code E_MEMORY_PRESSURE) when given. */
  readonly bus?: EventBus;
  /** Soft mark as a fraction of the budget, 0..1. Default 0.8. */
  readonly softRatio?: number;
  /** Hard mark as a fraction of the budget, 0..1, above softRatio. Default 0.9. */
  readonly hardRatio?: number;
  /**
   * Fraction of the budget RSS must fall below a mark before the level may drop, so RSS
   * hovering at a mark does not flap between levels. Default 0.05.
   */
  readonly hysteresisRatio?: number;
  /** Sampling period, ms. Default 5000. */
  readonly intervalMs?: number;
  /** RSS must stay below the lower mark this long before the level drops, ms. Default 30000. */
  readonly reliefAfterMs?: number;
  /** RSS reader, bytes; default process.memoryUsage.rss() (cheap: no heap walk). */
  readonly readRssBytes?: () => number;
  /**
   * Called on every escalation with the new level: the lead wires load shedding here (halve
   * the face stage's rate, `models.unloadIdle(0)`). Failures are logged and counted.
   */
  readonly onPressure?: (level: 'soft' | 'hard', status: MemoryGuardStatus) => void | Promise<void>;
  /** Called once the level is back to `ok`: restore what onPressure shed. */
  readonly onRelief?: (status: MemoryGuardStatus) => void | Promise<void>;
}

const RANK: Readonly<Record<MemoryLevel, number>> = { ok: 0, soft: 1, hard: 2 };
const MIB = 1024 * 1024;

/**
 * Samples RSS on the injected clock and sheds load before the kernel's OOM killer does it for
 * us. Escalation is immediate (one sample over a mark); de-escalation waits until RSS has stayed
 * below the mark minus the hysteresis for `reliefAfterMs`, because freed memory is often
 * re-used at once and an early relief would undo the shedding.
 */
export class MemoryGuard implements Component {
  readonly name = 'system.memory';
  private readonly budgetBytes: number;
  private readonly softBytes: number;
  private readonly hardBytes: number;
  private readonly hysteresisBytes: number;
  private readonly intervalMs: number;
  private readonly reliefAfterMs: number;
  private readonly readRss: () => number;
  private timer: TimerHandle | undefined;
  private level: MemoryLevel = 'ok';
  private rssBytes = 0;
  /** Since when the samples have been consistently below the current level's lower mark. */
  private belowSinceMs: number | undefined;
  private pressureEvents = 0;
  private callbackFailures = 0;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly options: MemoryGuardOptions) {
    const soft = options.softRatio ?? 0.8;
    const hard = options.hardRatio ?? 0.9;
    const hyst = options.hysteresisRatio ?? 0.05;
    const where = this.name;
    if (!(options.budgetMb > 0))
      throw new EdgeloomError(ErrorCode.E_CONFIG, 'budgetMb must be > 0', { where });
    if (!(soft > 0 && soft < hard && hard <= 1)) {
      throw new EdgeloomError(
        ErrorCode.E_CONFIG,
        `need 0 < softRatio < hardRatio <= 1 (got ${soft}, ${hard})`,
        {
          where,
        },
      );
    }
    if (!(hyst >= 0 && hyst < soft)) {
      throw new EdgeloomError(ErrorCode.E_CONFIG, `need 0 <= hysteresisRatio < softRatio (got ${hyst})`, {
        where,
      });
    }
    this.budgetBytes = options.budgetMb * MIB;
    this.softBytes = soft * this.budgetBytes;
    this.hardBytes = hard * this.budgetBytes;
    this.hysteresisBytes = hyst * this.budgetBytes;
    this.intervalMs = options.intervalMs ?? 5_000; // 5 s: RSS grows by model loads, not per frame
    this.reliefAfterMs = options.reliefAfterMs ?? 30_000; // 30 s
    this.readRss = options.readRssBytes ?? (() => process.memoryUsage.rss());
  }

  async start(): Promise<void> {
    this.sample();
    this.timer = this.options.clock.setInterval(() => this.sample(), this.intervalMs);
  }

  async stop(): Promise<void> {
    this.timer?.cancel();
    this.timer = undefined;
    await Promise.allSettled([...this.inFlight]);
  }

  status(): MemoryGuardStatus {
    return {
      level: this.level,
      rssBytes: this.rssBytes,
      budgetBytes: this.budgetBytes,
      ratio: this.rssBytes / this.budgetBytes,
      softBytes: this.softBytes,
      hardBytes: this.hardBytes,
      pressureEvents: this.pressureEvents,
      callbackFailures: this.callbackFailures,
    };
  }

  health(): ComponentHealth {
    if (this.level === 'ok') return { status: 'ok' };
    const pct = Math.round((this.rssBytes / this.budgetBytes) * 100);
    return { status: 'degraded', reasons: [`memory ${this.level} pressure: RSS at ${pct}% of budget`] };
  }

  /** Take one sample now (the timer calls this; tests may too). */
  sample(): void {
    let rss: number;
    try {
      rss = this.readRss();
    } catch (err) {
      this.options.logger.warn({ err: toError(err) }, 'RSS read failed');
      return;
    }
    this.rssBytes = rss;
    const raw: MemoryLevel = rss >= this.hardBytes ? 'hard' : rss >= this.softBytes ? 'soft' : 'ok';
    if (RANK[raw] > RANK[this.level]) {
      this.belowSinceMs = undefined;
      this.escalate(raw as 'soft' | 'hard');
      return;
    }
    // The level this sample allows once hysteresis is applied to the mark we would fall below.
    const lower: MemoryLevel =
      rss < this.softBytes - this.hysteresisBytes
        ? 'ok'
        : rss < this.hardBytes - this.hysteresisBytes
          ? 'soft'
          : 'hard';
    if (RANK[lower] >= RANK[this.level]) {
      this.belowSinceMs = undefined;
      return;
    }
    const now = this.options.clock.monotonicMs();
    this.belowSinceMs ??= now;
    if (now - this.belowSinceMs >= this.reliefAfterMs) {
      this.belowSinceMs = undefined;
      this.relax(lower);
    }
  }

  private escalate(level: 'soft' | 'hard'): void {
    this.level = level;
    this.pressureEvents++;
    const status = this.status();
    const message = `RSS ${mib(status.rssBytes)} MiB is ${Math.round(status.ratio * 100)}% of the ${mib(this.budgetBytes)} MiB budget (${level} mark ${mib(level === 'hard' ? this.hardBytes : this.softBytes)} MiB)`;
    this.options.logger.warn({ level, rssBytes: status.rssBytes, budgetBytes: this.budgetBytes }, message);
    try {
      this.options.bus
        ?.publish(
          'system/error',
          {
            severity: level === 'hard' ? 'error' : 'warning',
            component: this.name,
            code: ErrorCode.E_MEMORY_PRESSURE,
            message,
          },
          { source: this.name },
        )
        ?.catch(() => undefined);
    } catch (err) {
      // A closing bus refuses publishes; the log line above still records the pressure.
      this.options.logger.debug({ err: toError(err) }, 'memory pressure event not published');
    }
    const cb = this.options.onPressure;
    if (cb !== undefined) this.run('onPressure', () => cb(level, status));
  }

  private relax(level: MemoryLevel): void {
    const from = this.level;
    this.level = level;
    const status = this.status();
    this.options.logger.info({ from, to: level, rssBytes: status.rssBytes }, 'memory pressure eased');
    const cb = this.options.onRelief;
    if (level === 'ok' && cb !== undefined) this.run('onRelief', () => cb(status));
  }

  /** Run a callback without letting it throw into the timer; its promise is awaited by stop(). */
  private run(what: string, fn: () => void | Promise<void>): void {
    const fail = (err: unknown): void => {
      this.callbackFailures++;
      this.options.logger.error({ err: toError(err), callback: what }, 'memory guard callback failed');
    };
    try {
      const result = fn();
      if (result instanceof Promise) {
        const p = result.catch(fail).finally(() => this.inFlight.delete(p));
        this.inFlight.add(p);
      }
    } catch (err) {
      fail(err);
    }
  }
}

function mib(bytes: number): number {
  return Math.round(bytes / MIB);
}
