/**
 * Daily cloud spend, persisted in the `router` sublevel so a restart cannot reset the cap.
 * A day is the local calendar day of the injected clock: the count resets at local midnight.
 * Prices are the configured estimates per call (`router.cost.*_call_usd`), charged when a call is
 * made (a failed call may still be billed, so charging up front keeps the cap conservative).
 */

import type { Store } from '../storage/store.js';
import { SUBLEVEL, type Sub, sublevel } from '../storage/sublevels.js';
import type { Clock } from '../util/clock.js';

interface CostState {
  /** Local date, `YYYY-MM-DD`. */
  readonly day: string;
  readonly spentUsd: number;
}

const KEY = 'cost';

/** Local calendar date of `ms` (the TZ of the process). */
export function localDay(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

export class CostTracker {
  private readonly sub: Sub<CostState>;
  private state: CostState;
  /** Serialises writes so two charges in flight cannot lose one another. */
  private writing: Promise<void> = Promise.resolve();

  constructor(
    db: Store,
    private readonly clock: Clock,
    /** Spend allowed per local day, USD. */
    readonly dailyCapUsd: number,
  ) {
    this.sub = sublevel<CostState>(db, SUBLEVEL.router);
    this.state = { day: localDay(clock.now()), spentUsd: 0 };
  }

  /** Read the persisted state (call once at start). */
  async load(): Promise<void> {
    const saved = await this.sub.get(KEY);
    if (saved !== undefined && typeof saved.spentUsd === 'number' && typeof saved.day === 'string') {
      this.state = saved;
    }
  }

  /** Wait for the last write and close the `router` sublevel (a resource of the shared store). */
  async close(): Promise<void> {
    await this.writing.catch(() => undefined);
    await this.sub.close();
  }

  /** Spent today, USD (0 after local midnight). */
  spentTodayUsd(): number {
    return this.state.day === localDay(this.clock.now()) ? this.state.spentUsd : 0;
  }

  /** Whether a call costing `usd` stays within the cap. */
  canSpend(usd: number): boolean {
    return this.spentTodayUsd() + usd <= this.dailyCapUsd;
  }

  /** Charge a call and persist the new total. */
  charge(usd: number): Promise<void> {
    const day = localDay(this.clock.now());
    this.state = { day, spentUsd: this.spentTodayUsd() + usd };
    const snapshot = this.state;
    this.writing = this.writing.then(() => this.sub.put(KEY, snapshot));
    return this.writing;
  }
}
