/**
 * The MQTT outbox: every QoS 1 message the sink accepts is kept here until the broker
 * acknowledged it (PUBACK), on disk unless the acknowledgement came first, so a broker outage, a
 * lost connection, a daemon restart or a SIGKILL loses nothing that `publish()` resolved for.
 *
 * Storage: sublevel `outbox` of the daemon's one LevelDB (daemon/storage/sublevels.ts). Keys are the
 * zero-padded monotonic sequence number (`0000000000000042`), so LevelDB's key order is delivery
 * order; values are `{ topic, payload, retain, enqueued_ms }` (payload as the JSON text sent).
 * The live entries are mirrored in memory (at most `maxMessages`), so the send path never reads
 * the disk.
 *
 * Writes (outbox-writer.ts) are group-committed, and while the broker is connected written
 * behind (`mqtt.outbox.write_delay_ms`): a message the broker acknowledges before its write is
 * due never reaches the disk, and `add()`'s promise resolves at the acknowledgement or the write,
 * whichever comes first.
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
 * `deletesPending` counts it).
 */
import { EdgeloomError, ErrorCode } from '../errors.js';
import type { Logger } from '../log.js';
import type { Store } from '../storage/store.js';
import { SUBLEVEL, type Sub, sublevel } from '../storage/sublevels.js';
import type { Clock } from '../util/clock.js';
import type { MessagePrivacy } from './mqtt-contract.js';
import { OutboxWriter } from './outbox-writer.js';

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
  /**
   * While connected, a write waits up to this long so a message acknowledged meanwhile is never
   * written, ms. 0: every write goes out with the next batch. Default 0.
   */
  readonly writeDelayMs?: number;
  /** Called when messages refused by a failed write left the outbox empty. */
  readonly onEmptied?: () => void;
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
  /** Messages acknowledged (or dropped) before their write was due: never written (write-behind). */
  readonly writesElided: number;
}

export class Outbox {
  private readonly sub: Sub<StoredValue>;
  /** Live entries in sequence order (Map keeps insertion order, and sequences only grow). */
  private readonly entries = new Map<number, OutboxEntry>();
  private nextSeq = 1;
  private counters = zeroCounters();
  private readonly writer: OutboxWriter<StoredValue>;

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
    this.writer = new OutboxWriter<StoredValue>({
      sub: this.sub,
      logger: options.logger,
      sync: options.sync === true,
      writeDelayMs: options.writeDelayMs ?? 0,
      onRefused: (seqs) => this.refuse(seqs),
    });
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
    return { entry, persisted: this.writer.put(entry.seq, value) };
  }

  /**
   * The broker acknowledged `seq`: forget it. A no-op when it was already evicted. A message whose
   * write was not due yet is never written; its `add()` promise resolves now.
   */
  acknowledge(seq: number): void {
    if (!this.entries.delete(seq)) return;
    this.counters.acknowledged++;
    this.writer.unstore(seq);
  }

  /**
   * The broker connection is up (write-behind applies) or down (every write goes out now: while
   * nothing can acknowledge, waiting would only leave messages off the disk).
   */
  setConnected(connected: boolean): void {
    this.writer.setConnected(connected);
  }

  /**
   * Delete every entry `drop` selects (a tier was tightened, or `forget`); resolves once the
   * deletes are written, with how many were removed. An entry already handed to the client may
   * still be delivered: only what waits in the outbox can be held back.
   */
  async removeWhere(drop: (entry: OutboxEntry) => boolean): Promise<number> {
    const doomed = [...this.entries.values()].filter(drop);
    for (const e of doomed) {
      this.entries.delete(e.seq);
      this.writer.unstore(e.seq);
    }
    // Personal data is erased now, not after a write-behind delay; a failed delete is an error here
    // (it stays listed and is retried with every later batch).
    await this.flush();
    if (doomed.some((e) => this.writer.deleteFailed(e.seq))) {
      throw new EdgeloomError(
        ErrorCode.E_MQTT_OUTBOX_WRITE,
        'outbox write failed: a delete was not written',
        {
          where: 'mqtt.outbox',
        },
      );
    }
    return doomed.length;
  }

  stats(): OutboxStats {
    return {
      size: this.entries.size,
      maxMessages: this.options.maxMessages,
      ...this.counters,
      ...this.writer.counters,
      deletesPending: this.writer.deletesPending,
    };
  }

  /**
   * Messages in the store once every issued write has settled (after flush()): the live entries
   * plus the acknowledged ones whose delete could not be written.
   */
  stored(): number {
    return this.entries.size + this.writer.deletesPending;
  }

  /** True while writes fail (the last batch failed). */
  get writesFailing(): boolean {
    return this.writer.failing;
  }

  /**
   * Wait for the writes issued so far and close the `outbox` sublevel (a resource of the shared
   * store until closed). The outbox is not usable afterwards; the sink opens a new one on start.
   */
  async close(): Promise<void> {
    await this.flush();
    await this.sub.close();
  }

  /** Write everything pending now (write-behind or not) and wait for every write issued so far. */
  flush(): Promise<void> {
    return this.writer.flush();
  }

  private evictOldest(): void {
    const oldest = this.entries.keys().next();
    if (oldest.done === true) return;
    this.entries.delete(oldest.value);
    this.counters.droppedOldest++;
    this.writer.unstore(oldest.value);
  }

  /** A failed batch: its messages were never stored, so they are not accepted after all. */
  private refuse(seqs: readonly number[]): { refused: number; unstored: number } {
    let refused = 0;
    for (const seq of seqs) if (this.entries.delete(seq)) refused++;
    this.counters.unstored += refused;
    if (refused > 0 && this.entries.size === 0) this.options.onEmptied?.();
    return { refused, unstored: this.counters.unstored };
  }
}

/** The counters the outbox keeps itself (the writer keeps batches, writeErrors, writesElided). */
function zeroCounters(): {
  -readonly [K in
    | 'enqueued'
    | 'acknowledged'
    | 'droppedOldest'
    | 'refused'
    | 'recovered'
    | 'unstored']: number;
} {
  return { enqueued: 0, acknowledged: 0, droppedOldest: 0, refused: 0, recovered: 0, unstored: 0 };
}

/** Stats of an outbox that is not open yet (before start, or when storage failed). */
export function emptyOutboxStats(maxMessages: number): OutboxStats {
  return {
    size: 0,
    maxMessages,
    ...zeroCounters(),
    batches: 0,
    writeErrors: 0,
    writesElided: 0,
    deletesPending: 0,
  };
}
