/**
 * A flood bound for audit records a network client can cause (commands, refused or no-op privacy
 * changes): the first `perMinute` records of a minute are written one by one; past that they are
 * only counted, by outcome, and one summary record is written when the next minute begins (or at
 * flush). The audit log keeps a bounded number of records, so without this a client sending
 * 20 commands a second could push the owner's real records out of it within hours.
 */
import type { AuditRecordInput } from './audit-log.js';

export interface AuditBudgetOptions {
  /** Appends one record (AuditLog.append); failures are the caller's to log. */
  readonly append: (record: AuditRecordInput) => Promise<unknown>;
  /** Records written one by one per minute. */
  readonly perMinute: number;
  /** Wall clock, ms. */
  readonly now: () => number;
  /** The summary record for what was only counted (`counts`: outcome → number). */
  readonly summary: (counts: Readonly<Record<string, number>>, total: number) => AuditRecordInput;
  readonly onError: (err: unknown) => void;
}

export class AuditBudget {
  private windowStartMs = Number.NEGATIVE_INFINITY;
  private written = 0;
  private counted: Record<string, number> = {};

  constructor(private readonly o: AuditBudgetOptions) {}

  /** Write `record`, or count it under `outcome` when this minute's budget is spent. */
  record(record: AuditRecordInput): void {
    if (this.o.now() - this.windowStartMs >= 60_000) this.flush();
    if (this.written >= this.o.perMinute) {
      this.counted[record.outcome] = (this.counted[record.outcome] ?? 0) + 1;
      return;
    }
    this.written++;
    this.o.append(record).catch(this.o.onError);
  }

  /** Write the summary of what was only counted, and start a new minute. */
  flush(): void {
    const counted = this.counted;
    const total = Object.values(counted).reduce((n, x) => n + x, 0);
    this.windowStartMs = this.o.now();
    this.written = 0;
    this.counted = {};
    if (total > 0) this.o.append(this.o.summary(counted, total)).catch(this.o.onError);
  }
}
