/**
 * The MQTT outbox: every QoS 1 message the sink accepts is written here first and deleted only
 * after the broker acknowledged it (PUBACK), so a broker outage, a lost connection, a daemon
 * restart or a SIGKILL loses nothing that `publish()` resolved for.
 *
 * Storage: sublevel `outbox` of the daemon's one LevelDB (daemon/storage/sublevels.ts). Keys are the
 * zero-padded monotonic sequence number (`0000000000000042`), so LevelDB's key order is delivery
 * order; values are `{ topic, payload, retain, enqueued_ms }` (payload as the JSON text sent).
 * The live entries are mirrored in memory (at most `maxMessages`), so the send path never reads
 * the disk.
 *
 * Writes are group-committed: operations issued while a batch is being written go into the next
 * `db.batch`, so a burst costs one LevelDB write instead of one per message.
 *
 * Durability: LevelDB writes reach the OS before the write promise resolves, which survives a
 * process crash (SIGKILL); `sync: true` also survives power loss, at a large cost per batch.
 *
 * Duplicates: a message acknowledged by the broker just before a crash, whose delete had not been
 * written yet, is sent again after the restart — at-least-once, as QoS 1 allows.
 *
 * Write failures (a full disk): a message whose write fails is not accepted — it leaves the
 * in-memory mirror, `add()`'s promise rejects with E_MQTT_OUTBOX_WRITE and it is counted as
 * `unstored` — so the outbox never claims to hold what the disk does not. A delete that fails is
 * retried with the next batch (the message stays on disk and would be sent again after a restart;
 * `deletesPending` counts it). A burst of failures is one log line a minute (util/burst-log.ts).
 */
import type { AbstractBatchOptions } from 'abstract-level';
import { EdgeloomError, ErrorCode } from '../errors.js';
import type { Logger } from '../log.js';
import type { Store } from '../storage/store.js';
import { SUBLEVEL, type Sub, sublevel } from '../storage/sublevels.js';
import { BurstLog } from '../util/burst-log.js';
import type { Clock } from '../util/clock.js';
import type { MessagePrivacy } from './mqtt-contract.js';

/** What to do when the outbox holds `maxMessages` and another message arrives. */
export type OutboxPolicy = 'drop-oldest' | 'refuse';

export interface OutboxEntry {
  readonly seq: number;
  readonly topic: string;
  /** The exact bytes to publish (JSON text). */
  readonly payload: string;
  readonly retain: boolean;
  /** Clock time the message was accepted, ms since the epoch. */
  readonly enqueuedMs: number;
  /** Personal data in the message (absent: device state), for the privacy purge and `forget`. */
  readonly privacy?: MessagePrivacy;
}

interface StoredValue {
  readonly topic: string;
  readonly payload: string;
  readonly retain: boolean;
  readonly enqueued_ms: number;
  readonly privacy?: MessagePrivacy;
}

export interface OutboxOptions {
  /** The daemon's store (open, owned by its caller); the outbox uses its sublevel `outbox`. */
  readonly store: Store;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Bound, messages. */
  readonly maxMessages: number;
  /** drop-oldest: evict the oldest message (counted); refuse: reject the new one with `E_MQTT_OUTBOX_FULL`. */
  readonly policy: OutboxPolicy;
  /** fsync every batch (survives power loss; much slower). Default false (survives a crash). */
  readonly sync?: boolean;
}

export interface OutboxStats {
  readonly size: number;
  readonly maxMessages: number;
  readonly enqueued: number;
  readonly acknowledged: number;
  readonly droppedOldest: number;
  readonly refused: number;
  /** Messages found in the store at open (left over from the previous run). */
  readonly recovered: number;
  readonly batches: number;
  /** Batches whose write failed. */
  readonly writeErrors: number;
  /** Messages refused because their write failed (never accepted, not in the store). */
  readonly unstored: number;
  /** Acknowledged messages whose delete has not been written yet (still on disk). */
  readonly deletesPending: number;
}

type Op = { type: 'put'; key: string; value: StoredValue } | { type: 'del'; key: string };

const KEY_DIGITS = 16;
const keyOf = (seq: number): string => String(seq).padStart(KEY_DIGITS, '0');

export class Outbox {
  private readonly sub: Sub<StoredValue>;
  /** Live entries in sequence order (Map keeps insertion order, and sequences only grow). */
  private readonly entries = new Map<number, OutboxEntry>();
  private nextSeq = 1;
  private pendingOps: Op[] = [];
  private pendingWaiters: Array<{ resolve: () => void; reject: (err: Error) => void }> = [];
  private writing: Promise<void> | undefined;
  private scheduled = false;
  private counters = zeroCounters();
  /** Sequences acknowledged whose delete failed: retried with every batch until it succeeds. */
  private readonly failedDeletes = new Set<number>();
  private readonly writeLog: BurstLog;

  constructor(private readonly options: OutboxOptions) {
    if (!Number.isInteger(options.maxMessages) || options.maxMessages < 1) {
      throw new EdgeloomError(
        ErrorCode.E_CONFIG_INVALID,
        `outbox max_messages must be a positive integer, got ${options.maxMessages}`,
        {
          where: 'mqtt.outbox.max_messages',
        },
      );
    }
    this.sub = sublevel<StoredValue>(options.store, SUBLEVEL.outbox);
    this.writeLog = new BurstLog({ logger: options.logger, msg: 'outbox write failed' });
  }

  /**
   * Load what the previous run left, in order. Entries beyond the bound are handled by the policy.
   * `signal` (a shutdown during start-up) is checked every 1024 entries.
   */
  async open(signal?: AbortSignal): Promise<void> {
    let last = 0;
    for await (const [key, value] of this.sub.iterator()) {
      if (this.entries.size % 1024 === 1023) signal?.throwIfAborted();
      const seq = Number(key);
      if (!Number.isSafeInteger(seq)) continue;
      this.entries.set(seq, {
        seq,
        topic: value.topic,
        payload: value.payload,
        retain: value.retain,
        enqueuedMs: value.enqueued_ms,
        ...(value.privacy === undefined ? {} : { privacy: value.privacy }),
      });
      last = seq;
    }
    this.counters.recovered = this.entries.size;
    this.nextSeq = last + 1;
    // A smaller bound than last run's: keep the newest under drop-oldest, all under refuse (nothing accepted is lost).
    if (this.options.policy === 'drop-oldest') {
      while (this.entries.size > this.options.maxMessages) this.evictOldest();
    }
    if (this.entries.size > 0) {
      this.options.logger.info(
        { recovered: this.entries.size },
        'outbox: messages left from the previous run',
      );
    }
  }

  get size(): number {
    return this.entries.size;
  }

  /** Live entries, oldest first. Iterating while entries are added or removed is safe. */
  values(): IterableIterator<OutboxEntry> {
    return this.entries.values();
  }

  get(seq: number): OutboxEntry | undefined {
    return this.entries.get(seq);
  }

  /**
   * Accept a message: it is in the outbox (and visible to `values()`) at once, and the returned
   * promise resolves once it is written to the store. Full + `refuse` throws `E_MQTT_OUTBOX_FULL`.
   */
  add(
    topic: string,
    payload: string,
    retain: boolean,
    privacy?: MessagePrivacy,
  ): { entry: OutboxEntry; persisted: Promise<void> } {
    if (this.entries.size >= this.options.maxMessages) {
      if (this.options.policy === 'refuse') {
        this.counters.refused++;
        throw new EdgeloomError(
          ErrorCode.E_MQTT_OUTBOX_FULL,
          `outbox holds ${this.entries.size} messages (max_messages); message refused`,
          {
            where: topic,
          },
        );
      }
      this.evictOldest();
    }
    const entry: OutboxEntry = {
      seq: this.nextSeq++,
      topic,
      payload,
      retain,
      enqueuedMs: this.options.clock.now(),
      ...(privacy === undefined ? {} : { privacy }),
    };
    this.entries.set(entry.seq, entry);
    this.counters.enqueued++;
    const value: StoredValue = {
      topic,
      payload,
      retain,
      enqueued_ms: entry.enqueuedMs,
      ...(privacy === undefined ? {} : { privacy }),
    };
    return { entry, persisted: this.write({ type: 'put', key: keyOf(entry.seq), value }) };
  }

  /** The broker acknowledged `seq`: forget it. A no-op when it was already evicted. */
  acknowledge(seq: number): void {
    if (!this.entries.delete(seq)) return;
    this.counters.acknowledged++;
    this.write({ type: 'del', key: keyOf(seq) }).catch(() => undefined); // counted in writeErrors
  }

  /**
   * Delete every entry `drop` selects (a tier was tightened, or `forget`); resolves once the
   * deletes are written, with how many were removed. An entry already handed to the client may
   * still be delivered: only what waits in the outbox can be held back.
   */
  async removeWhere(drop: (entry: OutboxEntry) => boolean): Promise<number> {
    const doomed = [...this.entries.values()].filter(drop);
    for (const e of doomed) this.entries.delete(e.seq);
    await Promise.all(doomed.map((e) => this.write({ type: 'del', key: keyOf(e.seq) })));
    return doomed.length;
  }

  stats(): OutboxStats {
    return {
      size: this.entries.size,
      maxMessages: this.options.maxMessages,
      ...this.counters,
      deletesPending: this.failedDeletes.size,
    };
  }

  /**
   * Messages in the store once every issued write has settled (after flush()): the live entries
   * plus the acknowledged ones whose delete could not be written.
   */
  stored(): number {
    return this.entries.size + this.failedDeletes.size;
  }

  /** True while writes fail (the last batch failed). */
  get writesFailing(): boolean {
    return this.writeLog.active;
  }

  /**
   * Wait for the writes issued so far and close the `outbox` sublevel (a resource of the shared
   * store until closed). The outbox is not usable afterwards; the sink opens a new one on start.
   */
  async close(): Promise<void> {
    await this.flush();
    await this.sub.close();
  }

  /** Wait for every write issued so far. */
  async flush(): Promise<void> {
    while (this.writing !== undefined || this.pendingOps.length > 0) {
      if (this.writing === undefined) this.startBatch();
      await this.writing?.catch(() => undefined);
    }
  }

  private evictOldest(): void {
    const oldest = this.entries.keys().next();
    if (oldest.done === true) return;
    this.entries.delete(oldest.value);
    this.counters.droppedOldest++;
    this.write({ type: 'del', key: keyOf(oldest.value) }).catch(() => undefined);
  }

  private write(op: Op): Promise<void> {
    this.pendingOps.push(op);
    const done = new Promise<void>((resolve, reject) => this.pendingWaiters.push({ resolve, reject }));
    if (this.writing === undefined && !this.scheduled) {
      // Let the rest of this synchronous burst join the batch.
      this.scheduled = true;
      queueMicrotask(() => {
        this.scheduled = false;
        if (this.writing === undefined) this.startBatch();
      });
    }
    return done;
  }

  private startBatch(): void {
    if (this.pendingOps.length === 0) return;
    const ops = this.pendingOps;
    const waiters = this.pendingWaiters;
    this.pendingOps = [];
    this.pendingWaiters = [];
    this.counters.batches++;
    // Deletes that failed before ride along (idempotent); they stay listed until one succeeds.
    const retried = [...this.failedDeletes].filter((seq) => !ops.some((o) => o.key === keyOf(seq)));
    const all: Op[] = [...ops, ...retried.map((seq): Op => ({ type: 'del', key: keyOf(seq) }))];
    // `sync` is classic-level's (LevelDB) option; abstract-level's typings do not list it.
    const batchOptions = { sync: this.options.sync === true } as AbstractBatchOptions<string, StoredValue>;
    this.writing = this.sub.batch(all, batchOptions).then(
      () => {
        for (const op of all) if (op.type === 'del') this.failedDeletes.delete(Number(op.key));
        this.writeLog.success();
        for (const w of waiters) w.resolve();
      },
      (err: unknown) => {
        this.counters.writeErrors++;
        const error = new EdgeloomError(
          ErrorCode.E_MQTT_OUTBOX_WRITE,
          `outbox write failed: ${(err as Error).message}`,
          {
            where: 'mqtt.outbox',
            cause: err,
          },
        );
        // Nothing of the batch is on disk (a LevelDB batch is atomic): its messages are not
        // accepted, its deletes are retried.
        let refused = 0;
        for (const op of ops) {
          const seq = Number(op.key);
          if (op.type === 'put') {
            if (this.entries.delete(seq)) refused++;
          } else {
            this.failedDeletes.add(seq);
          }
        }
        this.counters.unstored += refused;
        this.writeLog.failure(error, { refused, unstored: this.counters.unstored });
        for (const w of waiters) w.reject(error);
      },
    );
    this.writing.finally(() => {
      this.writing = undefined;
      if (this.pendingOps.length > 0) this.startBatch();
    });
  }
}

function zeroCounters(): {
  -readonly [K in Exclude<keyof OutboxStats, 'size' | 'maxMessages' | 'deletesPending'>]: number;
} {
  return {
    enqueued: 0,
    acknowledged: 0,
    droppedOldest: 0,
    refused: 0,
    recovered: 0,
    batches: 0,
    writeErrors: 0,
    unstored: 0,
  };
}

/** Stats of an outbox that is not open yet (before start, or when storage failed). */
export function emptyOutboxStats(maxMessages: number): OutboxStats {
  return { size: 0, maxMessages, ...zeroCounters(), deletesPending: 0 };
}
