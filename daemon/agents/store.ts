/**
 * Agent event logs and snapshots in LevelDB, inside the store's `agents` sublevel (the table in
 * daemon/storage/sublevels.ts), one nested sublevel per agent (`!agents!!<id>!`). The key layout,
 * and the one reader of it, are in daemon/storage/event-log.ts, which the start-up check shares.
 *
 * An input's events, and the snapshot they complete, are written in one batch: a crash leaves
 * either all of them or none. Compaction keeps `retentionEvents` log entries before the latest
 * snapshot (for inspection and debugging) and deletes older entries and older snapshots.
 *
 * The working memory (reducer.ts WorkingMemorySpec) is not part of the event-sourced state: it is
 * written with an input's events when there are any, otherwise by `saveWorking` at the agent's
 * own (rare) pace, always to the same key, so it never grows the log.
 *
 * Sublevels are resources: abstract-level keeps each opened sublevel in its parent's resource set
 * until it is closed. So each agent's sublevel is opened once, on its first use, and closed by
 * `release` (the agent stopped), `delete` and `close` — never one per read or write, which left
 * one object behind per saved event and grew the heap for as long as the daemon ran.
 */
import type { AbstractSublevel } from 'abstract-level';
import {
  LOG,
  type LoadedLog,
  nestedNames,
  readEventLog,
  SNAP,
  type Snapshot,
  seqKey,
  seqOf,
  WORKING,
  type WorkingRecord,
} from '../storage/event-log.js';
import type { Store } from '../storage/store.js';
import { SUBLEVEL } from '../storage/sublevels.js';
import type { DomainEvent } from './reducer.js';

export type { LoadedLog, Snapshot, WorkingRecord } from '../storage/event-log.js';

export interface AgentStoreOptions {
  readonly db: Store;
  /** Snapshot after every N events (config agents.snapshot_every). */
  readonly snapshotEvery: number;
  /** Log entries kept before the latest snapshot (config agents.retention_events). */
  readonly retentionEvents: number;
}

type Sub<P> = AbstractSublevel<P, string | Buffer | Uint8Array, string, unknown>;
type RootSub = Sub<Store>;
type AgentSub = Sub<RootSub>;

export class AgentStore {
  readonly snapshotEvery: number;
  readonly retentionEvents: number;
  private readonly db: Store;
  /** `agents`, opened on first use; undefined after close(). */
  private root: RootSub | undefined;
  /** One open sublevel per agent that used the store (bounded by the configured agents). */
  private readonly subs = new Map<string, AgentSub>();

  constructor(options: AgentStoreOptions) {
    this.snapshotEvery = options.snapshotEvery;
    this.retentionEvents = options.retentionEvents;
    this.db = options.db;
  }

  private agent(agentId: string): AgentSub {
    let sub = this.subs.get(agentId);
    if (sub === undefined) {
      this.root ??= this.db.sublevel<string, unknown>(SUBLEVEL.agents, { valueEncoding: 'json' });
      sub = this.root.sublevel<string, unknown>(agentId, { valueEncoding: 'json' });
      this.subs.set(agentId, sub);
    }
    return sub;
  }

  /** Close the agent's sublevel (the agent stopped); the next use opens it again. */
  async release(agentId: string): Promise<void> {
    const sub = this.subs.get(agentId);
    if (sub === undefined) return;
    this.subs.delete(agentId);
    await sub.close();
  }

  /** Close every sublevel this store opened (the daemon stops); the next use opens them again. */
  async close(): Promise<void> {
    await Promise.all([...this.subs.keys()].map((id) => this.release(id)));
    const root = this.root;
    this.root = undefined;
    await root?.close();
  }

  /**
   * The latest snapshot and the events after it (storage/event-log.ts readEventLog: a missing
   * event is E_AGENT_LOG_GAP; `signal` is checked as it reads).
   */
  async load<S, E extends DomainEvent, W = unknown>(
    agentId: string,
    signal?: AbortSignal,
  ): Promise<LoadedLog<S, E, W>> {
    return readEventLog<S, E, W>(this.agent(agentId), agentId, signal);
  }

  /**
   * Append events firstSeq, firstSeq+1, ... and, when given, the snapshot they complete, in one
   * atomic batch, together with the working memory when given.
   */
  async append<S>(
    agentId: string,
    firstSeq: number,
    events: readonly DomainEvent[],
    snapshot?: Snapshot<S>,
    working?: WorkingRecord<unknown>,
  ): Promise<void> {
    const ops: { type: 'put'; key: string; value: unknown }[] = events.map((event, i) => ({
      type: 'put',
      key: seqKey(LOG, firstSeq + i),
      value: event,
    }));
    if (snapshot !== undefined)
      ops.push({ type: 'put', key: seqKey(SNAP, snapshot.seq), value: snapshot.state });
    if (working !== undefined) ops.push({ type: 'put', key: WORKING, value: working });
    await this.agent(agentId).batch(ops);
  }

  /** Overwrite the agent's working memory (one put to one key). */
  async saveWorking(agentId: string, working: WorkingRecord<unknown>): Promise<void> {
    await this.agent(agentId).put(WORKING, working);
  }

  /**
   * Delete log entries older than `snapshotSeq - retentionEvents` and every snapshot older than
   * `snapshotSeq`. Idempotent; a crash in between only leaves extra (harmless) entries.
   */
  async compact(agentId: string, snapshotSeq: number): Promise<void> {
    const db = this.agent(agentId);
    const keepFrom = snapshotSeq - this.retentionEvents + 1;
    if (keepFrom > 1) await db.clear({ gte: LOG, lt: seqKey(LOG, keepFrom) });
    await db.clear({ gte: SNAP, lt: seqKey(SNAP, snapshotSeq) });
  }

  /** Remove the agent's log and snapshots, and close its sublevel. */
  async delete(agentId: string): Promise<void> {
    try {
      await this.agent(agentId).clear();
    } finally {
      await this.release(agentId);
    }
  }

  /** Ids of the agents with anything stored (from the `agents` sublevel's keys). */
  async agentIds(signal?: AbortSignal): Promise<string[]> {
    this.root ??= this.db.sublevel<string, unknown>(SUBLEVEL.agents, { valueEncoding: 'json' });
    return nestedNames(this.root, signal);
  }

  /** Stored log entries and snapshots, for tests and the inspect command. */
  async counts(
    agentId: string,
  ): Promise<{ log: number; snapshots: number; firstLogSeq: number | undefined }> {
    const db = this.agent(agentId);
    let log = 0;
    let snapshots = 0;
    let firstLogSeq: number | undefined;
    for await (const key of db.keys()) {
      if (key.startsWith(LOG)) {
        log++;
        firstLogSeq ??= seqOf(key);
      } else if (key.startsWith(SNAP)) snapshots++;
    }
    return { log, snapshots, firstLogSeq };
  }
}
