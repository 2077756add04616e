/**
 * `edgeloom doctor`'s storage checks: is the store readable, and are damaged stores waiting to be
 * looked at? The store is checked on a copy (the doctor only looks: the original may be held by
 * the running daemon, and opening LevelDB writes to its directory) with the same check the daemon
 * runs at start-up (storage/check.ts), so "damaged" here means the next start will move it aside.
 * A readable store is then listed row by row of the sublevel table (storage/inventory.ts): entries,
 * which are personal, and any past its retention bound or missing from the table.
 */
import { existsSync } from 'node:fs';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { Level } from 'level';
import { checkStore, isCorruption, levelMessage } from '../../storage/check.js';
import { type StoreInventory, storeInventory } from '../../storage/inventory.js';
import { listQuarantined } from '../../storage/quarantine.js';
import { type RetentionSettings, STORE_VERIFIERS } from '../../storage/sublevels.js';
import type { CheckResult } from './types.js';

export async function checkStorage(storageDir: string, settings: RetentionSettings): Promise<CheckResult[]> {
  const out: CheckResult[] = await checkCurrentStore(storageDir, settings);
  for (const q of await listQuarantined(storageDir)) {
    const r = q.record;
    out.push({
      level: 'warn',
      check: 'storage quarantine',
      detail:
        r === undefined
          ? `damaged store kept at ${q.dir}`
          : `damaged store moved aside at ${r.at} (${r.code}: ${r.reason}) kept at ${q.dir}; ${r.salvagedOutbox} outbox messages were carried over`,
      fix: `the daemon runs on a fresh store; inspect ${q.dir} (ClassicLevel.repair on a copy may recover more), then delete it`,
    });
  }
  return out;
}

async function checkCurrentStore(dir: string, settings: RetentionSettings): Promise<CheckResult[]> {
  if (!existsSync(dir)) return [{ level: 'ok', check: 'storage', detail: `${dir} will be created at start` }];
  const work = await mkdtemp(join(tmpdir(), 'edgeloom-doctor-'));
  try {
    const copy = join(work, 'store');
    try {
      await cp(dir, copy, {
        recursive: true,
        filter: (src) => src === dir || !basename(src).startsWith('damaged-'),
      });
    } catch (err) {
      // A compaction of the running daemon removed a file while it was copied.
      return [
        {
          level: 'warn',
          check: 'storage',
          detail: `${dir} changed while it was copied (${(err as Error).message}); is the daemon running?`,
          fix: 'run edgeloom doctor again',
        },
      ];
    }
    await rm(join(copy, 'LOCK'), { force: true });
    const db = new Level<string, unknown>(copy, { valueEncoding: 'json' });
    try {
      await db.open();
    } catch (err) {
      if (!isCorruption(err)) throw err;
      return [damaged(dir, `LevelDB cannot open it: ${levelMessage(err)}`)];
    }
    try {
      const check = await checkStore(db, { verifiers: STORE_VERIFIERS, dir: copy });
      if (check.damage !== undefined) return [damaged(dir, `${check.damage.code}: ${check.damage.message}`)];
      return [
        { level: 'ok', check: 'storage', detail: `${dir}: ${check.entries} entries read back` },
        contents(await storeInventory(db, settings)),
      ];
    } finally {
      await db.close();
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

function damaged(dir: string, why: string): CheckResult {
  return {
    level: 'fail',
    check: 'storage',
    detail: `${dir} is damaged (${why})`,
    fix: 'the daemon moves it aside and starts with a fresh store at its next start (see README, "Damaged store")',
  };
}

/** The store row by row: `agents 1203 (personal), outbox 2 (some personal), ...`. */
function contents(inv: StoreInventory): CheckResult {
  const personal = { all: ' (personal)', some: ' (some personal)', none: '' } as const;
  const rows = inv.sublevels.map((r) => `${r.name} ${r.entries}${personal[r.personal]}`).join(', ');
  const over = inv.sublevels.filter((r) => r.overBound > 0);
  const problems = [
    ...over.map((r) => `${r.name} holds ${r.overBound} entries past its retention bound (${r.maxEntries})`),
    ...inv.unlisted.map((n) => `sublevel ${n} is not one edgeloom keeps`),
  ];
  if (problems.length === 0) return { level: 'ok', check: 'storage contents', detail: rows };
  return {
    level: 'warn',
    check: 'storage contents',
    detail: `${rows}; ${problems.join('; ')}`,
    fix: 'see README "What the device stores"; a sublevel past its bound is trimmed by its owner while the daemon runs',
  };
}
