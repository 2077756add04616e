/**
 * Counts the sublevels open on a LevelDB store. abstract-level registers every opened sublevel as
 * a resource of its parent and keeps it there until the sublevel (or the parent) is closed, so a
 * `db.sublevel(name)` per call instead of per owner grows the parent by one object per call, for
 * as long as the daemon runs (see STYLE.md "Resources that close"). The count is exported on
 * /metrics (`edgeloom_store_open_sublevels`): it should be a small constant — the number of owners
 * (outbox, router, audit, one per agent) — however long the daemon runs, and the tests and the
 * soak benchmark check that it is.
 *
 * It watches abstract-level's public `newsub` hook (every `sublevel()` call, nested ones included)
 * and each sublevel's `open`/`closed` events, which bracket its membership in the parent's set.
 */
import type { AbstractLevel } from 'abstract-level';

// biome-ignore lint/suspicious/noExplicitAny: any abstract-level database or sublevel.
type AnyLevel = AbstractLevel<any, any, any>;

export interface OpenResources {
  /** Sublevels open right now (each one held in its parent's resource set). */
  readonly openSublevels: number;
  /** Sublevels created since the store was opened (a leak shows as created ≫ open). */
  readonly createdSublevels: number;
  /**
   * Names of the store's own (top-level) sublevels created since it was opened, in first-use
   * order: what test/unit/store-table.test.ts compares with the table of sublevels.ts.
   */
  readonly names: readonly string[];
}

class Tracker {
  open = 0;
  created = 0;
  /** Bounded by the distinct names the daemon's code uses (the table's rows). */
  readonly names = new Set<string>();

  watch(db: AnyLevel, top: boolean): void {
    db.hooks.newsub.add((sub: AnyLevel) => {
      this.created++;
      if (top) this.names.add(String((sub as unknown as { path(): string[] }).path()[0]));
      sub.on('open', () => this.open++);
      sub.on('closed', () => this.open--);
      this.watch(sub, false);
    });
  }
}

const trackers = new WeakMap<object, Tracker>();

/** Start counting the sublevels of `db` (idempotent). Call before any sublevel is created. */
export function trackOpenResources(db: AnyLevel): void {
  if (trackers.has(db)) return;
  const t = new Tracker();
  t.watch(db, true);
  trackers.set(db, t);
}

/** The counts for a tracked store; undefined when `trackOpenResources` was never called on it. */
export function openResources(db: object): OpenResources | undefined {
  const t = trackers.get(db);
  return t === undefined
    ? undefined
    : { openSublevels: t.open, createdSublevels: t.created, names: [...t.names] };
}
