/**
 * An agent's named timers (DecideContext.setTimer / cancelTimer): at most one per name, so the
 * set is bounded by the names a definition uses. Setting a name again replaces its timer; a due
 * timer becomes a `timer` input of the agent (onDue), queued like any message.
 *
 * "Replaces" holds for a firing already queued too: every arming has a sequence number, and the
 * agent hands a firing to its decide() only while it is still the name's latest arming
 * (take). An input queued before the firing (a face frame behind a slow turn) may re-arm
 * the name first; the firing it superseded is then dropped instead of acting on time that has
 * moved on, so a definition need not keep exact times in its state only to recognise it.
 *
 * Bound: one entry per name armed now. A fired timer's entry stays until its firing is taken (or
 * found stale), set again or cancelled, so names used once each (the timers skill's `timer:<id>`)
 * do not pile up over months.
 */
import type { Clock, TimerHandle } from '../util/clock.js';

interface Armed {
  readonly handle: TimerHandle;
  readonly seq: number;
}

export class AgentTimers {
  /** By name; a fired timer's entry stays until take(), set() or cancel(). */
  private readonly armed = new Map<string, Armed>();
  private seq = 0;

  constructor(
    private readonly clock: Clock,
    /** Called when the timer `name` set for `dueMs` fires; `seq` identifies that arming. */
    private readonly onDue: (name: string, dueMs: number, seq: number) => void,
  ) {}

  /** Fire `name` at clock time `atMs` (at once when past), replacing a timer of that name. */
  set(name: string, atMs: number): void {
    this.armed.get(name)?.handle.cancel();
    const seq = ++this.seq;
    const delayMs = Math.max(0, atMs - this.clock.now());
    const handle = this.clock.setTimeout(() => this.onDue(name, atMs, seq), delayMs);
    this.armed.set(name, { handle, seq });
  }

  /**
   * Hand over the firing of arming `seq`: true, and the entry is gone, while it is the latest of
   * `name`; false when the name was set again or cancelled since (a stale firing).
   */
  take(name: string, seq: number): boolean {
    if (this.armed.get(name)?.seq !== seq) return false;
    this.armed.delete(name);
    return true;
  }

  /** Names armed now, fired ones not yet taken included. */
  get size(): number {
    return this.armed.size;
  }

  cancel(name: string): void {
    this.armed.get(name)?.handle.cancel();
    this.armed.delete(name);
  }

  cancelAll(): void {
    for (const a of this.armed.values()) a.handle.cancel();
    this.armed.clear();
  }
}
