/**
 * One log line per burst of the same failure, not one per input. A full disk fails every write
 * the daemon makes — each outbox batch, each agent's event append — and a line per failure would
 * fill the journal (on the same full disk) and bury the one line that says what is wrong.
 *
 * The first failure is logged at once, with its error. Further failures within `everyMs` are only
 * counted; the first failure after the window logs again, with how many were counted meanwhile.
 * When writes succeed again, one line says so and how many failed in all. The counters keep
 * counting whatever is logged (they are what /metrics and health report).
 */
import type { Logger } from '../log.js';

/** Default window: at most one line per minute per kind of failure. */
export const BURST_LOG_EVERY_MS = 60_000;

export class BurstLog {
  /** Failures since the last success. */
  private failing = 0;
  /** Failures counted but not yet logged. */
  private suppressed = 0;
  private lastLoggedMs = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly o: {
      readonly logger: Logger;
      /** The failure's message, e.g. 'outbox write failed'. */
      readonly msg: string;
      readonly everyMs?: number;
      /** Wall time, ms (journal lines are about wall time, even in a replay); default performance.now. */
      readonly nowMs?: () => number;
    },
  ) {}

  /** True while the last attempt failed. */
  get active(): boolean {
    return this.failing > 0;
  }

  failure(err: Error, fields: Record<string, unknown> = {}): void {
    this.failing++;
    const now = (this.o.nowMs ?? performance.now.bind(performance))();
    if (now - this.lastLoggedMs < (this.o.everyMs ?? BURST_LOG_EVERY_MS)) {
      this.suppressed++;
      return;
    }
    this.o.logger.error(
      { ...fields, err, failuresSinceLastLine: this.suppressed, failingSince: this.failing },
      `${this.o.msg}${hint(err)}${this.suppressed > 0 ? ` (${this.suppressed} more since the last line)` : ''}`,
    );
    this.suppressed = 0;
    this.lastLoggedMs = now;
  }

  success(): void {
    if (this.failing === 0) return;
    this.o.logger.info(
      { failed: this.failing },
      `${this.o.msg}: writes succeed again after ${this.failing} failures`,
    );
    this.failing = 0;
    this.suppressed = 0;
    this.lastLoggedMs = Number.NEGATIVE_INFINITY;
  }
}

/** A word on the likely cause, when the error says it. */
function hint(err: Error): string {
  const text = `${err.message} ${(err.cause as Error | undefined)?.message ?? ''}`;
  if (/No space left|ENOSPC/i.test(text)) return ': disk full (storage.dir)';
  if (/Read-only file system|EROFS/i.test(text)) return ': storage.dir is read-only';
  return '';
}
