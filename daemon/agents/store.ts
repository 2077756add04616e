/**
 * Agent event logs and snapshots in LevelDB, inside the shared store's `agents` sublevel (one
 * process may open a LevelDB directory at a time, so the daemon opens it once and every user keeps
 * to its own sublevel; see daemon/storage/store.ts).
 *
 * Layout, one nested sublevel per agent (`!agents!!<id>!`):
 *   `l!<seq>` → domain event      (the log; seq zero-padded to 16 digits so keys sort by number)
 *   `s!<seq>` → state              (snapshot of the state after event <seq>)
 *   `w!`      → working memory     ({seq, savedAtMs, state}: one key, overwritten in place)
 * 'l!' sorts before 's!' before 'w!', so each kind is one contiguous key range.
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
import type { Level } from 'level';
import { EdgeloomError, ErrorCode } from '../errors.js';
import type { StoreVerifier } from '../storage/check.js';
import type { DomainEvent } from './reducer.js';

/** The shared store (daemon/storage/store.ts `Store`). */
export type SharedStore = Level<string, unknown>;

export const AGENTS_SUBLEVEL = 'agents';
/** Events read between two checks of the abort signal while loading. */
const LOAD_ABORT_EVERY = 1024;
/** 16 digits: enough for 2^53 (Number.MAX_SAFE_INTEGER has 16 digits). */
const SEQ_DIGITS = 16;
const LOG = 'l!';
const SNAP = 's!';
const WORKING = 'w!';
/** The character after '!', closing each range. */
const LOG_END = 'l"';
const SNAP_END = 's"';

export function seqKey(prefix: string, seq: number): string {
  return prefix + String(seq).padStart(SEQ_DIGITS, '0');
}

function seqOf(key: string): number {
  return Number(key.slice(2));
}

export interface AgentStoreOptions {
  readonly db: SharedStore;
  /** Snapshot after every N events (config agents.snapshot_every). */
  readonly snapshotEvery: number;
  /** Log entries kept before the latest snapshot (config agents.retention_events). */
  readonly retentionEvents: number;
}

export interface Snapshot<S> {
  /** Seq of the last event folded into `state`. */
  readonly seq: number;
  readonly state: S;
}

/** The last written working memory of an agent. */
export interface WorkingRecord<W> {
  /** Seq of the last event persisted when it was written. */
  readonly seq: number;
  /** Clock time it was written, ms. */
  readonly savedAtMs: number;
  readonly state: W;
}

export interface LoadedLog<S, E, W = unknown> {
  readonly snapshot: Snapshot<S> | undefined;
  /** The last written working memory, when the agent keeps one. */
  readonly working: WorkingRecord<W> | undefined;
  /** Events after the snapshot, in order. */
  readonly events: readonly E[];
  /** Seq of the last stored event; 0 for an empty log. */
  readonly lastSeq: number;
}

type Sub<P> = AbstractSublevel<P, string | Buffer | Uint8Array, string, unknown>;
type RootSub = Sub<SharedStore>;
type AgentSub = Sub<RootSub>;

export class AgentStore {
  readonly snapshotEvery: number;
  readonly retentionEvents: number;
  private readonly db: SharedStore;
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
      this.root ??= this.db.sublevel<string, unknown>(AGENTS_SUBLEVEL, { valueEncoding: 'json' });
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
   * The latest snapshot and the events after it. `signal` (a shutdown during start-up) is checked
   * every LOAD_ABORT_EVERY events: the log after a snapshot is bounded, but by configuration.
   */
  async load<S, E extends DomainEvent, W = unknown>(
    agentId: string,
    signal?: AbortSignal,
  ): Promise<LoadedLog<S, E, W>> {
    const db = this.agent(agentId);
    let snapshot: Snapshot<S> | undefined;
    for await (const [key, value] of db.iterator({ gte: SNAP, lt: SNAP_END, reverse: true, limit: 1 })) {
      snapshot = { seq: seqOf(key), state: value as S };
    }
    const events: E[] = [];
    let lastSeq = snapshot?.seq ?? 0;
    const from = snapshot === undefined ? LOG : seqKey(LOG, snapshot.seq);
    for await (const [key, value] of db.iterator({ gt: from, lt: LOG_END })) {
      const seq = seqOf(key);
      if (seq !== lastSeq + 1) {
        throw new EdgeloomError(
          ErrorCode.E_AGENT_LOG_GAP,
          `agent ${agentId}: event ${lastSeq + 1} missing, found ${seq}`,
          {
            where: `agents/${agentId}`,
          },
        );
      }
      events.push(value as E);
      lastSeq = seq;
      if (events.length % LOAD_ABORT_EVERY === 0) signal?.throwIfAborted();
    }
    const working = (await db.get(WORKING)) as WorkingRecord<W> | undefined;
    return { snapshot, events, lastSeq, working: working ?? undefined };
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
    this.root ??= this.db.sublevel<string, unknown>(AGENTS_SUBLEVEL, { valueEncoding: 'json' });
    const ids: string[] = [];
    // Nested keys read `!<id>!<key>`; after one agent, skip past its range (`!<id>"`).
    let gt = '';
    for (;;) {
      signal?.throwIfAborted();
      let next: string | undefined;
      for await (const key of this.root.keys({ gt, limit: 1 })) next = key;
      if (next === undefined) return ids;
      const end = next.indexOf('!', 1);
      if (!next.startsWith('!') || end < 0) {
        gt = next; // not an agent's key: step over it
        continue;
      }
      const id = next.slice(1, end);
      ids.push(id);
      gt = `!${id}"`;
    }
  }

  /**
   * Load every stored agent the way a start does; the first error (E_AGENT_LOG_GAP: an event
   * after the latest snapshot is missing) is returned, not thrown. Used at open to tell a damaged
   * store before any agent depends on it.
   */
  async verify(signal?: AbortSignal): Promise<EdgeloomError | undefined> {
    for (const id of await this.agentIds(signal)) {
      signal?.throwIfAborted();
      try {
        await this.load(id, signal);
      } catch (err) {
        if (err instanceof EdgeloomError) return err;
        throw err;
      } finally {
        await this.release(id);
      }
    }
    return undefined;
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

/**
 * The agents' part of the start-up store check (storage/check.ts): every stored agent loaded the
 * way its start loads it. Snapshot settings do not matter for loading; the store is only read.
 */
export const verifyAgentLogs: StoreVerifier = async (db, signal) => {
  const agents = new AgentStore({ db, snapshotEvery: 1, retentionEvents: 1 });
  try {
    return await agents.verify(signal);
  } finally {
    await agents.close();
  }
};
