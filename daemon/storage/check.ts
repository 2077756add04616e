/**
 * Is the store readable? Run once at start-up, before any component relies on the store, so that
 * damage shows up as one finding (and a quarantine, quarantine.ts) instead of a component that
 * fails to start on every restart (a restart loop under systemd) or reads half a log.
 *
 * What it reads, and the damage each step finds (seen on real LevelDB directories, see
 * test/integration/store-damage.test.ts):
 * 0. every block of every table file against its CRC32C (table-checksums.ts), when the store's
 *    directory is given: LevelDB reads without checking checksums, so a damaged byte inside a
 *    compressed literal reads back as a different byte and steps 1 and 2 cannot see it;
 * 1. every entry, in key order, and each value's JSON: a damaged `.ldb` data block fails with
 *    LevelDB's `Corruption: corrupted compressed block contents` / `bad block type`;
 * 2. each key again by point lookup (`getMany`), compared with what the iteration returned: a
 *    damaged filter or index block lets the iteration pass but makes lookups miss keys;
 * 3. each owner's own consistency check (a StoreVerifier, e.g. the agents' `verifyAgentLogs`:
 *    every agent's log loaded the way an agent's start loads it, so a missing log key after the
 *    latest snapshot shows as E_AGENT_LOG_GAP). The owners pass theirs in: this module sits below
 *    every user of the store and imports none of them.
 * Opening itself fails on a damaged CURRENT or MANIFEST (quarantine.ts handles that case).
 *
 * The store is bounded by the retention settings (agents.retention_events per agent, the outbox's
 * max_messages), so a full read stays short; it checks `signal` every batch so a stop during
 * start-up is not held up by it.
 */
import { EdgeloomError, ErrorCode } from '../errors.js';
import type { Store } from './store.js';
import { verifyTableChecksums } from './table-checksums.js';

/** Entries read between two point-lookup comparisons (and abort checks). */
const BATCH = 512;

/**
 * One owner's check of its own data, beyond what a generic read can see; returns the first damage
 * found (not thrown). LevelDB corruption it runs into may be thrown: checkStore reports it.
 */
export type StoreVerifier = (db: Store, signal?: AbortSignal) => Promise<EdgeloomError | undefined>;

export interface StoreCheckOptions {
  /** The owners' checks, run in order after the full read (the daemon passes every owner's). */
  readonly verifiers: readonly StoreVerifier[];
  /** Checked every batch: a stop during start-up is not held up by the read. */
  readonly signal?: AbortSignal;
  /** The store's directory: its table files are checked block by block against their checksums. */
  readonly dir?: string;
}

export interface StoreCheck {
  /** Entries read. */
  readonly entries: number;
  /** The first damage found; undefined when the whole store read back consistently. */
  readonly damage: EdgeloomError | undefined;
}

/** Codes of the damage the check reports (LevelDB's own corruption errors are wrapped in the first). */
export const STORE_DAMAGE_CODES = [ErrorCode.E_STORE_CORRUPT, ErrorCode.E_AGENT_LOG_GAP] as const;

function corrupt(message: string, cause?: unknown): EdgeloomError {
  return new EdgeloomError(ErrorCode.E_STORE_CORRUPT, message, { where: 'storage', cause });
}

export async function checkStore(db: Store, options: StoreCheckOptions): Promise<StoreCheck> {
  const { signal } = options;
  if (options.dir !== undefined) {
    const damage = await verifyTableChecksums(options.dir, signal);
    if (damage !== undefined) return { entries: 0, damage: corrupt(damage) };
  }
  let entries = 0;
  let keys: string[] = [];
  let values: string[] = [];
  const compare = async (): Promise<EdgeloomError | undefined> => {
    const got = await db.getMany<string, string>(keys, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
    for (let i = 0; i < keys.length; i++) {
      if (got[i] !== values[i]) {
        return corrupt(`key ${JSON.stringify(keys[i])} reads differently by lookup than by scan`);
      }
    }
    keys = [];
    values = [];
    return undefined;
  };
  try {
    for await (const [key, value] of db.iterator<string, string>({
      keyEncoding: 'utf8',
      valueEncoding: 'utf8',
      fillCache: false,
    })) {
      entries++;
      try {
        JSON.parse(value);
      } catch {
        return { entries, damage: corrupt(`value of key ${JSON.stringify(key)} is not the JSON written`) };
      }
      keys.push(key);
      values.push(value);
      if (keys.length >= BATCH) {
        signal?.throwIfAborted();
        const damage = await compare();
        if (damage !== undefined) return { entries, damage };
      }
    }
    if (keys.length > 0) {
      const damage = await compare();
      if (damage !== undefined) return { entries, damage };
    }
  } catch (err) {
    if (isCorruption(err)) return { entries, damage: corrupt(`read failed: ${levelMessage(err)}`, err) };
    throw err;
  }
  signal?.throwIfAborted();
  for (const verify of options.verifiers) {
    try {
      const damage = await verify(db, signal);
      if (damage !== undefined) return { entries, damage };
    } catch (err) {
      if (isCorruption(err)) return { entries, damage: corrupt(`read failed: ${levelMessage(err)}`, err) };
      throw err;
    }
  }
  return { entries, damage: undefined };
}

/** LevelDB reported corruption (classic-level's LEVEL_CORRUPTION, possibly as the cause). */
export function isCorruption(err: unknown): boolean {
  for (let e = err as { code?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (e.code === 'LEVEL_CORRUPTION') return true;
  }
  return false;
}

/** The innermost message (LevelDB's own text, e.g. `Corruption: bad block type`). */
export function levelMessage(err: unknown): string {
  let e = err as { message?: string; cause?: unknown };
  while (e.cause !== undefined && typeof e.cause === 'object' && e.cause !== null) e = e.cause as typeof e;
  return e.message ?? String(err);
}
