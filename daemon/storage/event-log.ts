/**
 * The on-disk layout of an event log with snapshots — what the `agents` sublevel holds, one
 * nested sublevel per agent (`!agents!!<id>!`) — and the one function that reads it back. The
 * agents' store (agents/store.ts) writes and compacts it; reading lives here, beside the sublevel
 * table (sublevels.ts), so the start-up check reads every log exactly the way an agent's start
 * does without the storage layer importing the agents.
 *
 *   `l!<seq>` → domain event      (the log; seq zero-padded to 16 digits so keys sort by number)
 *   `s!<seq>` → state              (snapshot of the state after event <seq>)
 *   `w!`      → working memory     ({seq, savedAtMs, state}: one key, overwritten in place)
 * 'l!' sorts before 's!' before 'w!', so each kind is one contiguous key range.
 */
import type { AbstractLevel } from 'abstract-level';
import { EdgeloomError, ErrorCode } from '../errors.js';
import type { StoreVerifier } from './check.js';

/** Events read between two checks of the abort signal while loading. */
const LOAD_ABORT_EVERY = 1024;
/** 16 digits: enough for 2^53 (Number.MAX_SAFE_INTEGER has 16 digits). */
const SEQ_DIGITS = 16;
export const LOG = 'l!';
export const SNAP = 's!';
export const WORKING = 'w!';
/** The character after '!', closing each range. */
const LOG_END = 'l"';
const SNAP_END = 's"';

export function seqKey(prefix: string, seq: number): string {
  return prefix + String(seq).padStart(SEQ_DIGITS, '0');
}

export function seqOf(key: string): number {
  return Number(key.slice(2));
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

/** One log's sublevel (JSON values, string keys). */
// biome-ignore lint/suspicious/noExplicitAny: the parent's own type parameters do not matter here.
export type LogLevel = AbstractLevel<any, string, unknown>;

/**
 * The latest snapshot and the events after it; a missing event after the snapshot is
 * E_AGENT_LOG_GAP naming `id`. `signal` (a shutdown during start-up) is checked every
 * LOAD_ABORT_EVERY events: the log after a snapshot is bounded, but by configuration.
 */
export async function readEventLog<S, E, W = unknown>(
  db: LogLevel,
  id: string,
  signal?: AbortSignal,
): Promise<LoadedLog<S, E, W>> {
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
        `agent ${id}: event ${lastSeq + 1} missing, found ${seq}`,
        {
          where: `agents/${id}`,
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
 * Names of the nested sublevels with anything stored under `root` (the agent ids of `agents`),
 * read from the keys: nested keys read `!<name>!<key>`; after one name, skip past its range.
 */
export async function nestedNames(root: LogLevel, signal?: AbortSignal): Promise<string[]> {
  const names: string[] = [];
  let gt = '';
  for (;;) {
    signal?.throwIfAborted();
    let next: string | undefined;
    for await (const key of root.keys({ gt, limit: 1 })) next = key;
    if (next === undefined) return names;
    const end = next.indexOf('!', 1);
    if (!next.startsWith('!') || end < 0) {
      gt = next; // not a nested sublevel's key: step over it
      continue;
    }
    const name = next.slice(1, end);
    names.push(name);
    gt = `!${name}"`;
  }
}

/**
 * The start-up check of the event logs under sublevel `name` (storage/check.ts StoreVerifier):
 * every log read the way its agent's start reads it; the first E_AGENT_LOG_GAP is returned. The
 * store is only read; every sublevel opened here is closed again.
 */
export function eventLogVerifier(name: string): StoreVerifier {
  return async (db, signal) => {
    const root = db.sublevel<string, unknown>(name, { valueEncoding: 'json' });
    try {
      for (const id of await nestedNames(root, signal)) {
        const log = root.sublevel<string, unknown>(id, { valueEncoding: 'json' });
        try {
          await readEventLog(log, id, signal);
        } catch (err) {
          if (err instanceof EdgeloomError) return err;
          throw err;
        } finally {
          await log.close();
        }
      }
      return undefined;
    } finally {
      await root.close();
    }
  };
}
