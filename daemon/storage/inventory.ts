/**
 * What the store holds, row by row of the sublevel table (sublevels.ts), against each row's
 * retention bound: what `edgeloom doctor` reports, what the soak benchmark checks after a long
 * run, and what the table's test uses to find a sublevel the table does not list.
 *
 * One pass over the keys (no values), in key order; `signal` is checked every batch.
 */

import type { Store } from './store.js';
import {
  isSublevelName,
  type Personal,
  type RetentionSettings,
  SUBLEVEL_NAMES,
  SUBLEVELS,
  type SublevelName,
  type SublevelRow,
} from './sublevels.js';

/** Keys read between two checks of the abort signal. */
const ABORT_EVERY = 4096;

export interface SublevelCount {
  readonly name: SublevelName;
  readonly personal: Personal;
  /** Keys in the sublevel (nested sublevels included). */
  readonly entries: number;
  /** Per nested sublevel (the agents' logs), when the row's bound counts them one by one. */
  readonly nested: Readonly<Record<string, number>>;
  /** The row's bound under the settings (per nested sublevel for `agents`). */
  readonly maxEntries: number;
  /** Entries past the bound: the sublevel's, or its largest nested sublevel's. */
  readonly overBound: number;
}

export interface StoreInventory {
  /** Every row of the table, in table order (empty rows included). */
  readonly sublevels: readonly SublevelCount[];
  /** Top-level sublevels found in the store that the table does not list. */
  readonly unlisted: readonly string[];
  /** Keys outside any sublevel (nothing in edgeloom writes one). */
  readonly loose: number;
}

export async function storeInventory(
  db: Store,
  settings: RetentionSettings,
  signal?: AbortSignal,
): Promise<StoreInventory> {
  const entries = new Map<string, number>();
  const nested = new Map<string, Map<string, number>>();
  let loose = 0;
  let read = 0;
  for await (const key of db.keys({ keyEncoding: 'utf8', fillCache: false })) {
    if (++read % ABORT_EVERY === 0) signal?.throwIfAborted();
    // A sublevel's key on the root store: `!name!rest`; a nested one's rest is `!inner!key`.
    const end = key.startsWith('!') ? key.indexOf('!', 1) : -1;
    if (end < 0) {
      loose++;
      continue;
    }
    const name = key.slice(1, end);
    entries.set(name, (entries.get(name) ?? 0) + 1);
    const rest = key.slice(end + 1);
    const innerEnd = rest.startsWith('!') ? rest.indexOf('!', 1) : -1;
    if (innerEnd > 0) {
      const inner = rest.slice(1, innerEnd);
      let m = nested.get(name);
      if (m === undefined) nested.set(name, (m = new Map()));
      m.set(inner, (m.get(inner) ?? 0) + 1);
    }
  }
  const sublevels = SUBLEVEL_NAMES.map((name): SublevelCount => {
    const row: SublevelRow = SUBLEVELS[name];
    const maxEntries = row.retention.maxEntries(settings);
    const inner = Object.fromEntries(nested.get(name) ?? []);
    const count = entries.get(name) ?? 0;
    const measured = row.retention.per === 'nested sublevel' ? Math.max(0, ...Object.values(inner)) : count;
    return {
      name,
      personal: row.personal,
      entries: count,
      nested: row.retention.per === 'nested sublevel' ? inner : {},
      maxEntries,
      overBound: Math.max(0, measured - maxEntries),
    };
  });
  const unlisted = [...entries.keys()].filter((n) => !isSublevelName(n));
  return { sublevels, unlisted, loose };
}
