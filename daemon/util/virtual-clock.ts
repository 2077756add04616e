import type { Clock, TimerHandle } from './clock.js';

interface VirtualTimer {
  dueMs: number;
  /** Insertion order breaks ties so timers due at the same instant fire in the order they were armed. */
  seq: number;
  fn: () => void;
  intervalMs: number | undefined;
  cancelled: boolean;
}

/**
 * A clock that only moves when told to. Replay at speed 0 and unit tests drive it with
 * `advanceTo()`; timers fire in (due time, arming order), so two runs over the same input fire
 * the same timers in the same order.
 */
export class VirtualClock implements Clock {
  private nowMs: number;
  private seq = 0;
  /** Binary min-heap ordered by (dueMs, seq). */
  private readonly heap: VirtualTimer[] = [];

  constructor(startMs = 0) {
    this.nowMs = startMs;
  }

  now(): number {
    return this.nowMs;
  }

  monotonicMs(): number {
    return this.nowMs;
  }

  setTimeout(fn: () => void, delayMs: number): TimerHandle {
    return this.arm(fn, delayMs, undefined);
  }

  setInterval(fn: () => void, intervalMs: number): TimerHandle {
    return this.arm(fn, intervalMs, Math.max(1, intervalMs));
  }

  sleep(delayMs: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const handle = this.setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, delayMs);
      const onAbort = (): void => {
        handle.cancel();
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Time of the next live timer, or undefined when none is armed. */
  nextDueMs(): number | undefined {
    this.dropCancelledHead();
    return this.heap[0]?.dueMs;
  }

  /** Number of armed timers (cancelled ones not yet collected may be counted). */
  pendingTimers(): number {
    return this.heap.length;
  }

  /**
   * Move time forward to `targetMs`, firing every timer due on the way in order. Between timers
   * the event loop gets a turn (setImmediate) so promise chains a timer started can settle
   * before the next timer fires: this is what keeps replays deterministic.
   */
  async advanceTo(targetMs: number): Promise<void> {
    for (;;) {
      this.dropCancelledHead();
      const next = this.heap[0];
      if (next === undefined || next.dueMs > targetMs) break;
      this.pop();
      if (next.dueMs > this.nowMs) this.nowMs = next.dueMs;
      if (next.intervalMs !== undefined) {
        next.dueMs += next.intervalMs;
        next.seq = this.seq++;
        this.push(next);
      }
      next.fn();
      await settle();
    }
    if (targetMs > this.nowMs) this.nowMs = targetMs;
    await settle();
  }

  /** Fire timers until none is due at or before `limitMs` (default: run everything that is armed). */
  async runAll(limitMs = Number.POSITIVE_INFINITY): Promise<void> {
    for (;;) {
      const due = this.nextDueMs();
      if (due === undefined || due > limitMs) return;
      await this.advanceTo(due);
    }
  }

  private arm(fn: () => void, delayMs: number, intervalMs: number | undefined): TimerHandle {
    const timer: VirtualTimer = {
      dueMs: this.nowMs + Math.max(0, delayMs),
      seq: this.seq++,
      fn,
      intervalMs,
      cancelled: false,
    };
    this.push(timer);
    return {
      cancel: () => {
        timer.cancelled = true;
      },
    };
  }

  private dropCancelledHead(): void {
    while (this.heap.length > 0 && this.heap[0]!.cancelled) this.pop();
  }

  private less(a: VirtualTimer, b: VirtualTimer): boolean {
    return a.dueMs < b.dueMs || (a.dueMs === b.dueMs && a.seq < b.seq);
  }

  private push(t: VirtualTimer): void {
    const h = this.heap;
    h.push(t);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  private pop(): VirtualTimer | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last !== undefined) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

/** Let pending promise callbacks and I/O callbacks run. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
