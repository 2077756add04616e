/**
 * A damaged store must not become a restart loop. At start-up the store is opened and read once
 * (check.ts); when it is damaged — LevelDB cannot open it (a truncated `CURRENT`, a broken
 * MANIFEST), a block does not read back, an agent's log misses an event — it is moved aside,
 * named and dated, a fresh store is opened in its place and the daemon runs on: agents start from
 * their initial state, and the sublevels the table marks `onDamage: 'salvage'` (sublevels.ts: the
 * outbox) are carried over from what can still be read of the damaged copy, so what was accepted
 * for delivery still leaves.
 *
 * Where the damaged store goes: `<storage.dir>.damaged-<UTC time>` beside it. Under systemd the
 * storage directory is the unit's StateDirectory, whose parent the service may not write
 * (DynamicUser, ProtectSystem=strict); then the damaged files go one level down instead, into
 * `<storage.dir>/damaged-<UTC time>/` (LevelDB ignores names that are not its own). Either way a
 * `QUARANTINE.json` beside the files says what was found and how to recover, and `edgeloom
 * doctor` lists every quarantined store (listQuarantined).
 *
 * A store locked by another process (E_STORAGE_LOCKED) or that cannot be opened for a reason other
 * than corruption (permissions, a full disk) is not damaged: that error is thrown as before.
 */
import { cp, mkdir, mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { Level } from 'level';
import { EdgeloomError, ErrorCode } from '../errors.js';
import type { Logger } from '../log.js';
import { checkStore, isCorruption, levelMessage, type StoreVerifier } from './check.js';
import { trackOpenResources } from './open-resources.js';
import { openStore, type Store } from './store.js';
import {
  STORE_VERIFIERS,
  SUBLEVEL_NAMES,
  SUBLEVELS,
  type SublevelName,
  type SublevelRow,
} from './sublevels.js';
import { markDamagedBlocksUnreadable } from './table-checksums.js';

/** Marker written into every quarantined store. */
export const QUARANTINE_FILE = 'QUARANTINE.json';
/** The sublevels carried over into the fresh store (the outbox: what was accepted for delivery). */
const SALVAGED: readonly SublevelName[] = SUBLEVEL_NAMES.filter(
  (n) => (SUBLEVELS[n] as SublevelRow).onDamage === 'salvage',
);

export interface QuarantineRecord {
  /** Where the damaged store is now. */
  readonly damagedDir: string;
  /** The store directory that was damaged (a fresh store now lives there). */
  readonly storageDir: string;
  /** E_STORE_OPEN_CORRUPT, E_STORE_CORRUPT or E_AGENT_LOG_GAP. */
  readonly code: string;
  readonly reason: string;
  /** UTC time of the quarantine, ISO 8601. */
  readonly at: string;
  /** Outbox messages read from the damaged store and carried over into the fresh one. */
  readonly salvagedOutbox: number;
  readonly recovery: string;
}

export interface OpenedStore {
  readonly store: Store;
  /** Entries the start-up check read. */
  readonly entries: number;
  /** Present when the store was damaged and replaced at this start. */
  readonly quarantined?: QuarantineRecord;
}

export interface OpenCheckedOptions {
  readonly dir: string;
  readonly logger: Logger;
  /** The owners' own checks (check.ts StoreVerifier); default the table's (sublevels.ts). */
  readonly verifiers?: readonly StoreVerifier[];
  /** Aborts the start-up check (shutdown during start-up). */
  readonly signal?: AbortSignal;
  /** Time source for the quarantine name; default now. */
  readonly now?: () => Date;
}

/** `2026-12-03T18-04-05Z`: sortable, no ':' (awkward in paths and scp). */
export function stamp(d: Date): string {
  return d
    .toISOString()
    .replace(/\.\d{3}Z$/, 'Z')
    .replace(/:/g, '-');
}

/**
 * Open `dir` and check it (check.ts); a damaged store is quarantined and replaced by a fresh one.
 * The returned store is open, and its sublevels are counted (open-resources.ts).
 */
export async function openCheckedStore(o: OpenCheckedOptions): Promise<OpenedStore> {
  let damage: EdgeloomError | undefined;
  let entries = 0;
  let store: Store | undefined;
  try {
    store = await openStore(o.dir);
  } catch (err) {
    if (!isCorruption(err)) throw err;
    damage = new EdgeloomError(
      ErrorCode.E_STORE_OPEN_CORRUPT,
      `LevelDB cannot open it: ${levelMessage(err)}`,
      {
        where: o.dir,
        cause: err,
      },
    );
  }
  if (store !== undefined) {
    trackOpenResources(store);
    try {
      const check = await checkStore(store, {
        verifiers: o.verifiers ?? STORE_VERIFIERS,
        dir: o.dir,
        ...(o.signal === undefined ? {} : { signal: o.signal }),
      });
      entries = check.entries;
      damage = check.damage;
    } catch (err) {
      await store.close();
      throw err;
    }
    if (damage === undefined) return { store, entries };
    await store.close();
  }
  const found = damage!;
  const at = (o.now ?? (() => new Date()))();
  const damagedDir = await moveAside(o.dir, stamp(at));
  const fresh = await openStore(o.dir);
  trackOpenResources(fresh);
  let salvagedOutbox = 0;
  try {
    salvagedOutbox = await salvage(damagedDir, fresh);
  } catch (err) {
    o.logger.warn({ err: levelMessage(err), damagedDir }, 'storage: no outbox message could be salvaged');
  }
  const record: QuarantineRecord = {
    damagedDir,
    storageDir: o.dir,
    code: found.code,
    reason: found.message,
    at: at.toISOString(),
    salvagedOutbox,
    recovery:
      `the daemon now runs on a fresh store in ${o.dir}: agent memory starts empty` +
      (salvagedOutbox > 0 ? `, ${salvagedOutbox} undelivered MQTT messages were carried over` : '') +
      `. The damaged store is kept in ${damagedDir} for inspection; LevelDB's RepairDB ` +
      `(classic-level ClassicLevel.repair) on a copy may recover more of it. Delete it once it is ` +
      `no longer needed; \`edgeloom doctor\` lists it until then.`,
  };
  await writeFile(join(damagedDir, QUARANTINE_FILE), `${JSON.stringify(record, null, 2)}\n`).catch(
    () => undefined, // the record is also in the log line below and in /metrics
  );
  o.logger.error(
    { code: record.code, reason: record.reason, damagedDir, storageDir: o.dir, salvagedOutbox },
    `storage damaged (${record.code}): moved it to ${damagedDir} and started with a fresh store; ${record.recovery}`,
  );
  return { store: fresh, entries: 0, quarantined: record };
}

/** Rename `dir` beside itself, or, when its parent may not be written, move its files one level down. */
async function moveAside(dir: string, when: string): Promise<string> {
  const sibling = await freeName(dirname(dir), `${basename(dir)}.damaged-${when}`);
  try {
    await rename(dir, sibling);
    return sibling;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EACCES' && code !== 'EPERM' && code !== 'EBUSY' && code !== 'EROFS' && code !== 'EXDEV')
      throw new EdgeloomError(
        ErrorCode.E_STORE_QUARANTINE,
        `cannot move the damaged store ${dir} aside: ${code}`,
        {
          where: dir,
          cause: err,
        },
      );
  }
  const inside = await freeName(dir, `damaged-${when}`);
  await mkdir(inside);
  for (const name of await readdir(dir)) {
    if (name.startsWith('damaged-')) continue; // an earlier quarantine stays where it is
    await rename(join(dir, name), join(inside, name));
  }
  return inside;
}

async function freeName(parent: string, name: string): Promise<string> {
  const taken = new Set(await readdir(parent).catch(() => [] as string[]));
  let candidate = name;
  for (let i = 2; taken.has(candidate); i++) candidate = `${name}-${i}`;
  return join(parent, candidate);
}

/**
 * Copy the entries of the SALVAGED sublevels that can still be read from the damaged store into
 * `fresh`, keeping their keys (the outbox's sequence, so delivery order is kept). Works on a copy,
 * so the quarantined store stays as it was found; in the copy, blocks that fail their checksum
 * are made unreadable (table-checksums.ts), and a copy LevelDB cannot open is repaired first
 * (RepairDB).
 */
async function salvage(damagedDir: string, fresh: Store): Promise<number> {
  const work = await mkdtemp(join(tmpdir(), 'edgeloom-salvage-'));
  try {
    const copy = join(work, 'store');
    // An earlier quarantine kept inside the same directory is not part of this store.
    await cp(damagedDir, copy, {
      recursive: true,
      filter: (src) => src === damagedDir || !basename(src).startsWith('damaged-'),
    });
    await rm(join(copy, 'LOCK'), { force: true });
    // LevelDB would hand out a damaged block's altered entries (it reads without checksums):
    // make those blocks unreadable, so only what was written is carried over.
    await markDamagedBlocksUnreadable(copy);
    let db = new Level<string, string>(copy, { valueEncoding: 'utf8' });
    try {
      await db.open();
    } catch (err) {
      if (!isCorruption(err)) throw err;
      await (Level as unknown as { repair(dir: string): Promise<void> }).repair(copy);
      db = new Level<string, string>(copy, { valueEncoding: 'utf8' });
      await db.open();
    }
    const ops: { type: 'put'; key: string; value: string }[] = [];
    try {
      for (const name of SALVAGED) {
        try {
          // A sublevel's keys on the root store: `!name!key`, all below `!name"`.
          for await (const [key, value] of db.iterator({ gte: `!${name}!`, lt: `!${name}"` })) {
            try {
              JSON.parse(value);
              ops.push({ type: 'put', key, value });
            } catch {
              // an unreadable entry cannot be used anyway
            }
          }
        } catch {
          // damage inside this range: keep what was read before it
        }
      }
    } finally {
      await db.close();
    }
    if (ops.length > 0) {
      await fresh.batch(ops, { keyEncoding: 'utf8', valueEncoding: 'utf8' });
    }
    return ops.length;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** A quarantined store found beside (or inside) the storage directory. */
export interface QuarantinedStore {
  readonly dir: string;
  /** From its QUARANTINE.json, when readable. */
  readonly record?: QuarantineRecord;
}

/** Every quarantined store of `dir`, oldest first (the names sort by time). */
export async function listQuarantined(dir: string): Promise<QuarantinedStore[]> {
  const prefix = `${basename(dir)}.damaged-`;
  const candidates = [
    ...(await readdir(dirname(dir)).catch(() => [] as string[]))
      .filter((n) => n.startsWith(prefix))
      .map((n) => ({ name: n.slice(basename(dir).length + 1), dir: join(dirname(dir), n) })),
    ...(await readdir(dir).catch(() => [] as string[]))
      .filter((n) => n.startsWith('damaged-'))
      .map((n) => ({ name: n, dir: join(dir, n) })),
  ].sort((a, b) => a.name.localeCompare(b.name));
  const out: QuarantinedStore[] = [];
  for (const c of candidates) {
    let record: QuarantineRecord | undefined;
    try {
      record = JSON.parse(await readFile(join(c.dir, QUARANTINE_FILE), 'utf8')) as QuarantineRecord;
    } catch {
      record = undefined;
    }
    out.push(record === undefined ? { dir: c.dir } : { dir: c.dir, record });
  }
  return out;
}
