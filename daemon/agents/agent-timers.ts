/**
 * An agent's named timers (DecideContext.setTimer / cancelTimer): at most one per name, so the
 * set is bounded by the names a definition uses. Setting a name again replaces its timer; a due
 * timer becomes a `timer` input of the agent (onDue), queued like any message.
 *
 * "Replaces" holds for a firing already queued too: every arming has a sequence number, and the
 * agent hands a firing to its decide() only while it is still the name's latest arming
 * (isCurrent). An input queued before the firing (a face frame behind a slow turn) may re-arm
 * the name first; the firing it superseded is then dropped instead of acting on time that has
 * moved on, so a definition need not keep exact times in its state only to recognise it.
 */
import type { Clock, TimerHandle } from '../util/clock.js';

interface Armed {
  readonly handle: TimerHandle;
  readonly seq: number;
}

export class AgentTimers {
  /** By name; an entry stays after its timer fired until the name is set again or cancelled. */
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

  /** True while arming `seq` is the latest of `name`: not replaced nor cancelled since. */
  isCurrent(name: string, seq: number): boolean {
    return this.armed.get(name)?.seq === seq;
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
