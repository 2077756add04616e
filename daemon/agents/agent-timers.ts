/**
 * An agent's named timers (DecideContext.setTimer / cancelTimer): at most one per name, so the
 * set is bounded by the names a definition uses. Setting a name again replaces its timer; a due
 * timer becomes a `timer` input of the agent (onDue), queued like any message.
 */
import type { Clock, TimerHandle } from '../util/clock.js';

export class AgentTimers {
  private readonly timers = new Map<string, TimerHandle>();

  constructor(
    private readonly clock: Clock,
    /** Called when the timer `name` set for `dueMs` fires. */
    private readonly onDue: (name: string, dueMs: number) => void,
  ) {}

  /** Fire `name` at clock time `atMs` (at once when past), replacing a timer of that name. */
  set(name: string, atMs: number): void {
    this.timers.get(name)?.cancel();
    const delayMs = Math.max(0, atMs - this.clock.now());
    const handle = this.clock.setTimeout(() => {
      if (this.timers.get(name) === handle) this.timers.delete(name);
      this.onDue(name, atMs);
    }, delayMs);
    this.timers.set(name, handle);
  }

  cancel(name: string): void {
    this.timers.get(name)?.cancel();
    this.timers.delete(name);
  }

  cancelAll(): void {
    for (const t of this.timers.values()) t.cancel();
    this.timers.clear();
  }
}
