/**
 * The daemon's one LevelDB store (`storage.dir`). One process may open a LevelDB
 * directory at a time, so the daemon opens it once and hands the same `Level` to every user;
 * each user keeps to its own sublevel. Names used on the shared store (also what `forget` clears):
 *
 * | sublevel      | owner            | content                                    | personal? |
 * |---------------|------------------|--------------------------------------------|-----------|
 * | `audit`       | router/audit-log | hash-chained audit records (egress, …)     | yes       |
 * | `agents`      | agents runtime   | event logs, snapshots (agent memory)       | yes       |
 * | `outbox`      | actions/outbox   | MQTT messages not yet acknowledged         | some      |
 * | `privacy`     | privacy/control  | run-time privacy tier changes              | no        |
 * | `router`      | router/cost      | daily cost state                           | no        |
 *
 * `edgeloom forget` (daemon/privacy/forget.ts) erases the personal ones, the outbox's personal
 * entries included.
 */
import type { AbstractSublevel } from 'abstract-level';
import { Level } from 'level';
import { EdgeloomError, ErrorCode } from '../errors.js';

export type Store = Level<string, unknown>;
export type Sub<V> = AbstractSublevel<Store, string | Buffer | Uint8Array, string, V>;

export const SUBLEVEL = {
  audit: 'audit',
  agents: 'agents',
  outbox: 'outbox',
  privacy: 'privacy',
  router: 'router',
} as const;

export function sublevel<V>(db: Store, name: string): Sub<V> {
  return db.sublevel<string, V>(name, { valueEncoding: 'json' });
}

/**
 * Open the store at `dir` (created when missing). A store held by a running daemon fails with
 * `E_STORAGE_LOCKED` naming the directory, instead of LevelDB's generic open error.
 */
export async function openStore(dir: string): Promise<Store> {
  const db = new Level<string, unknown>(dir, { valueEncoding: 'json' });
  try {
    await db.open();
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause;
    if (cause?.code === 'LEVEL_LOCKED') {
      throw new EdgeloomError(
        ErrorCode.E_STORAGE_LOCKED,
        `storage ${dir} is in use by another process (is the daemon running?)`,
        {
          where: dir,
          cause: err,
        },
      );
    }
    throw new EdgeloomError(
      ErrorCode.E_STORAGE_OPEN,
      `cannot open storage ${dir}: ${(err as Error).message}`,
      {
        where: dir,
        cause: err,
      },
    );
  }
  return db;
}

/** Count the keys of a sublevel (nested sublevels included), closing it afterwards. */
export async function countSublevel(db: Store, name: string): Promise<number> {
  const sub = db.sublevel(name);
  try {
    let count = 0;
    for await (const _key of sub.keys()) count++;
    return count;
  } finally {
    await sub.close();
  }
}

/** Count then delete every key of a sublevel (nested sublevels included); returns the count. */
export async function clearSublevel(db: Store, name: string): Promise<number> {
  const sub = db.sublevel(name);
  try {
    let count = 0;
    for await (const _key of sub.keys()) count++;
    await sub.clear();
    return count;
  } finally {
    await sub.close(); // a sublevel stays in the store's resource set until closed
  }
}
