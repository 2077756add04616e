/**
 * The manager's recent load and unload events, for people (the dashboard's models panel): what
 * was loaded or unloaded, when (wall clock) and why. A ring of the last RECENT_EVENTS: older ones
 * are dropped; the log keeps the full story.
 */

export interface ModelEvent {
  /** Wall-clock time, ms since epoch. */
  readonly tsMs: number;
  readonly model: string;
  readonly kind: 'load' | 'unload' | 'load_failed';
  /** Load time, ms (loads); the reason (unloads: `idle for 60000 ms`, `on request`, `stopping`). */
  readonly loadMs?: number;
  readonly why?: string;
}

/** Events kept: enough for a panel's history, bounded for a months-long run. */
export const RECENT_EVENTS = 16;

export class ModelEvents {
  private readonly events: ModelEvent[] = [];

  constructor(private readonly now: () => number = Date.now) {}

  add(event: Omit<ModelEvent, 'tsMs'>): void {
    this.events.push({ tsMs: this.now(), ...event });
    if (this.events.length > RECENT_EVENTS) this.events.shift();
  }

  /** Oldest first. */
  list(): ModelEvent[] {
    return [...this.events];
  }
}
