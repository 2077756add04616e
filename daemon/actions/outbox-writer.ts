/**
 * The outbox's writes to LevelDB (outbox.ts owns the messages; this owns when they reach the disk).
 *
 * Group commit: operations issued while a batch is being written go into the next `db.batch`, so
 * a burst costs one LevelDB write instead of one per message.
 *
 * Write-behind while the broker is connected (`writeDelayMs`, `mqtt.outbox.write_delay_ms`): a
 * put waits until it is `writeDelayMs` old, and a message the broker acknowledges meanwhile is
 * never written at all (no put, no delete). A healthy broker acknowledges in about a millisecond,
 * so the steady state touches the disk only for the messages the broker is slow to take; with
 * every message written, the LevelDB batch and its completion were ~25 % of the MQTT sink's CPU
 * samples (test/bench/outbox.bench.ts). Disconnected, every put goes out with the next batch. The
 * bound this keeps: an accepted message is on disk or acknowledged within `writeDelayMs` plus one
 * batch, and its `put()` promise resolves at whichever comes first, so a caller that waits for it
 * never counts as delivered what a SIGKILL could still lose.
 *
 * Timers are wall time, not the daemon's clock: a replay's virtual clock stops when the fixture
 * ends, and durability is a promise about real time.
 *
 * Failures (a full disk): nothing of a failed batch is on disk (a LevelDB batch is atomic). Its
 * puts are refused (`onRefused`, their promises reject with E_MQTT_OUTBOX_WRITE); its deletes are
 * retried with every later batch until one succeeds. A burst of failures is one log line a minute.
 */
import type { AbstractBatchOptions } from 'abstract-level';
import { EdgeloomError, ErrorCode } from '../errors.js';
import type { Logger } from '../log.js';
import type { Sub } from '../storage/sublevels.js';
import { BurstLog } from '../util/burst-log.js';

const KEY_DIGITS = 16;
/** The store key of a sequence: zero-padded, so LevelDB's key order is delivery order. */
export const keyOf = (seq: number): string => String(seq).padStart(KEY_DIGITS, '0');

export interface OutboxWriterOptions<V> {
  readonly sub: Sub<V>;
  readonly logger: Logger;
  /** fsync every batch (survives power loss; much slower). */
  readonly sync: boolean;
  /** Write-behind delay while connected, ms; 0 = every put goes out with the next batch. */
  readonly writeDelayMs: number;
  /** A batch failed: its puts were not written. Returns how many were refused and the total so far. */
  readonly onRefused: (seqs: readonly number[]) => { readonly refused: number; readonly unstored: number };
}

/** A message accepted and not yet handed to LevelDB, and the caller waiting for it. */
interface PendingPut<V> {
  readonly value: V;
  /** performance.now() when its write is due under write-behind. */
  readonly dueMs: number;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

type Op<V> = { type: 'put'; key: string; value: V } | { type: 'del'; key: string };

export class OutboxWriter<V> {
  /** Puts not yet handed to LevelDB, in sequence order (Map keeps insertion order). */
  private readonly pendingPuts = new Map<number, PendingPut<V>>();
  /** Deletes not yet handed to LevelDB (of messages whose put was handed over before). */
  private pendingDels: number[] = [];
  /** The batch being written; an acknowledgement of a message whose put is in it needs a delete later. */
  private writing: Promise<void> | undefined;
  /** A batch is due: a microtask (write now) or a write-behind timer is armed. */
  private scheduled = false;
  private delayTimer: NodeJS.Timeout | undefined;
  private connected = false;
  /** Sequences whose delete failed: retried with every batch until it succeeds. */
  private readonly failedDeletes = new Set<number>();
  private readonly writeLog: BurstLog;
  readonly counters = { batches: 0, writeErrors: 0, writesElided: 0 };

  constructor(private readonly o: OutboxWriterOptions<V>) {
    this.writeLog = new BurstLog({ logger: o.logger, msg: 'outbox write failed' });
  }

  /** Write `value` under `seq`; resolves once written, or once `unstore(seq)` made it unnecessary. */
  put(seq: number, value: V): Promise<void> {
    const dueMs = performance.now() + this.o.writeDelayMs;
    const written = new Promise<void>((resolve, reject) =>
      this.pendingPuts.set(seq, { value, dueMs, resolve, reject }),
    );
    this.schedule();
    return written;
  }

  /**
   * `seq` left the outbox (acknowledged, dropped, purged): under write-behind, drop its put if it
   * is not written yet (its caller is done), else delete it from the store. With `writeDelayMs` 0
   * every message is written, as configured: a put still waiting (behind the batch in flight) is
   * written and deleted in the same atomic batch.
   */
  unstore(seq: number): void {
    const pending = this.pendingPuts.get(seq);
    if (pending !== undefined && this.o.writeDelayMs > 0) {
      this.pendingPuts.delete(seq);
      this.counters.writesElided++;
      pending.resolve();
      return;
    }
    this.pendingDels.push(seq);
    this.schedule();
  }

  /**
   * The broker connection is up (write-behind applies) or down (everything goes out now: while
   * nothing can acknowledge, waiting would only leave messages off the disk).
   */
  setConnected(connected: boolean): void {
    this.connected = connected;
    if (!connected && this.delayTimer !== undefined) {
      clearTimeout(this.delayTimer);
      this.delayTimer = undefined;
      this.scheduled = false;
      this.schedule();
    }
  }

  /** Write everything pending now (write-behind or not) and wait for every write issued so far. */
  async flush(): Promise<void> {
    while (this.writing !== undefined || this.hasPending()) {
      if (this.writing === undefined) this.startBatch(true);
      await this.writing?.catch(() => undefined);
    }
  }

  /** Acknowledged sequences whose delete could not be written (still on disk). */
  get deletesPending(): number {
    return this.failedDeletes.size;
  }

  deleteFailed(seq: number): boolean {
    return this.failedDeletes.has(seq);
  }

  /** True while writes fail (the last batch failed). */
  get failing(): boolean {
    return this.writeLog.active;
  }

  private hasPending(): boolean {
    return this.pendingPuts.size > 0 || this.pendingDels.length > 0;
  }

  /**
   * Arm the next batch: on the next microtask (so the rest of a synchronous burst joins it), or
   * while connected with write-behind, when the oldest pending put is due. A batch in flight
   * starts the next one itself when it completes.
   */
  private schedule(): void {
    if (this.scheduled || this.writing !== undefined || !this.hasPending()) return;
    this.scheduled = true;
    const waitMs = this.waitMs();
    if (waitMs <= 0) queueMicrotask(this.onDue);
    else this.delayTimer = setTimeout(this.onDue, Math.ceil(waitMs));
  }

  private writeBehind(): boolean {
    return this.connected && this.o.writeDelayMs > 0;
  }

  /** How long the next batch may wait: 0 unless write-behind applies. */
  private waitMs(): number {
    if (!this.writeBehind()) return 0;
    const oldest = this.pendingPuts.values().next();
    // Deletes alone are not urgent (a late one only means a duplicate after a crash).
    return oldest.done === true ? this.o.writeDelayMs : oldest.value.dueMs - performance.now();
  }

  private readonly onDue = (): void => {
    this.scheduled = false;
    this.delayTimer = undefined;
    if (this.writing === undefined) this.startBatch(false);
  };

  /** Write the puts that are due (all of them with `everything`, or without write-behind) and every delete. */
  private startBatch(everything: boolean): void {
    if (this.delayTimer !== undefined) {
      clearTimeout(this.delayTimer);
      this.delayTimer = undefined;
      this.scheduled = false;
    }
    if (!this.hasPending()) return;
    const writeAll = everything || !this.writeBehind();
    const nowMs = performance.now();
    const puts: Array<[number, PendingPut<V>]> = [];
    for (const put of this.pendingPuts) {
      // In sequence order, so in due order: the first one not due ends the batch's puts.
      if (!writeAll && put[1].dueMs > nowMs) break;
      puts.push(put);
    }
    for (const [seq] of puts) this.pendingPuts.delete(seq);
    const dels = this.pendingDels;
    this.pendingDels = [];
    if (puts.length === 0 && dels.length === 0) {
      this.schedule();
      return;
    }
    this.counters.batches++;
    const ops: Op<V>[] = [];
    for (const [seq, p] of puts) ops.push({ type: 'put', key: keyOf(seq), value: p.value });
    for (const seq of dels) ops.push({ type: 'del', key: keyOf(seq) });
    // Deletes that failed before ride along (idempotent); they stay listed until one succeeds.
    for (const seq of this.failedDeletes) if (!dels.includes(seq)) ops.push({ type: 'del', key: keyOf(seq) });
    // `sync` is classic-level's (LevelDB) option; abstract-level's typings do not list it.
    const batchOptions = { sync: this.o.sync } as AbstractBatchOptions<string, V>;
    this.writing = this.o.sub.batch(ops, batchOptions).then(
      () => {
        for (const op of ops) if (op.type === 'del') this.failedDeletes.delete(Number(op.key));
        this.writeLog.success();
        for (const [, p] of puts) p.resolve();
      },
      (err: unknown) => {
        this.counters.writeErrors++;
        const error = new EdgeloomError(
          ErrorCode.E_MQTT_OUTBOX_WRITE,
          `outbox write failed: ${(err as Error).message}`,
          { where: 'mqtt.outbox', cause: err },
        );
        for (const op of ops) if (op.type === 'del') this.failedDeletes.add(Number(op.key));
        const counts = this.o.onRefused(puts.map(([seq]) => seq));
        this.writeLog.failure(error, counts);
        for (const [, p] of puts) p.reject(error);
      },
    );
    this.writing.finally(() => {
      this.writing = undefined;
      if (this.hasPending()) this.schedule();
    });
  }
}
