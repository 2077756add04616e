import { EdgeloomError, ErrorCode } from '../errors.js';
import type { Clock, TimerHandle } from './clock.js';

/** The wall time a paced clock follows: a monotonic reading and a timer (real ones by default). */
export type Wall = Pick<Clock, 'monotonicMs' | 'setTimeout'>;

/** Node's own timers, kept referenced: a replay paced by wall time must hold the process open. */
const NODE_WALL: Wall = {
  monotonicMs: () => performance.now(),
  setTimeout: (fn, delayMs) => {
    const t = setTimeout(fn, delayMs);
    return { cancel: () => clearTimeout(t) };
  },
};

/**
 * A paced clock takes what is due within this many wall ms as due now (runUntil): the timers it
 * waits on fire up to a ms early, and a second wake-up costs more than the ms is worth.
 */
export const WAKE_SLACK_MS = 1;

/** Wall-time pacing (followWall): where clock time and wall time were together, and how far it may go. */
interface Pacing {
  readonly wall: Wall;
  /** Clock ms per wall ms. */
  readonly speed: number;
  readonly anchorWallMs: number;
  readonly anchorMs: number;
  /** The clock never reads past it: the next record's time until runUntil() is asked past it. */
  limitMs: number;
}

interface VirtualTimer {
  dueMs: number;
  /** Insertion order breaks ties so timers due at the same instant fire in the order they were armed. */
  seq: number;
  fn: () => void;
  intervalMs: number | undefined;
  cancelled: boolean;
  /** In the heap now (a one-shot timer leaves it when it fires; cancelling it after counts nothing). */
  queued: boolean;
}

/**
 * Cancelled timers stay in the heap until they reach its head, and a replay at speed 0 cancels
 * one the bus arms for every settle (a drain deadline 60 virtual seconds ahead): ~600 dead timers
 * and their closures were kept at any time through a 24 h soak. Past this many, and once they are
 * half the heap, the heap is rebuilt without them: O(n) amortised over the n/2 cancels that led
 * to it, and the heap never holds more than twice its live timers (plus this floor).
 */
const COMPACT_MIN_CANCELLED = 64;

const noop = (): void => {};

/**
 * A clock that only moves when told to. Replay at speed 0 and unit tests drive it with
 * `advanceTo()`; timers fire in (due time, arming order), so two runs over the same input fire
 * the same timers in the same order.
 *
 * A replay at speed > 0 makes it follow wall time instead (followWall, runUntil): now() moves
 * continuously between records and timers fire when wall time reaches them, so latencies measured
 * on it are real ones and not rounded up to the next record (issue #16).
 */
export class VirtualClock implements Clock {
  private nowMs: number;
  private seq = 0;
  /** Binary min-heap ordered by (dueMs, seq). */
  private readonly heap: VirtualTimer[] = [];
  /** Cancelled timers still in the heap (see COMPACT_MIN_CANCELLED). */
  private cancelledQueued = 0;
  private pacing: Pacing | undefined;
  /** While runUntil() waits for wall time: told of each timer armed, to wake early for it. */
  private onArm: ((dueMs: number) => void) | undefined;

  constructor(startMs = 0) {
    this.nowMs = startMs;
  }

  /** When following wall time: the wall's progress × speed since followWall(), held at the limit. */
  now(): number {
    const p = this.pacing;
    if (p !== undefined) {
      const t = Math.min(wallReading(p), p.limitMs);
      if (t > this.nowMs) this.nowMs = t;
    }
    return this.nowMs;
  }

  monotonicMs(): number {
    return this.now();
  }

  /**
   * From now on, move `speed` clock ms per wall ms, but only as far as runUntil() allows: the
   * clock stays where it is until then. Fixed anchor: a run that falls behind wall time (a long
   * inference) catches up afterwards, as a live sensor's frames keep coming meanwhile.
   */
  followWall(speed: number, wall: Wall = NODE_WALL): void {
    if (!(speed > 0) || !Number.isFinite(speed)) {
      throw new EdgeloomError(
        ErrorCode.E_REPLAY_SPEED,
        `a clock following wall time needs speed > 0 (got ${speed})`,
        {
          where: 'VirtualClock.followWall',
        },
      );
    }
    this.pacing = {
      wall,
      speed,
      anchorWallMs: wall.monotonicMs(),
      anchorMs: this.nowMs,
      limitMs: this.nowMs,
    };
  }

  /**
   * Let the clock run with wall time up to `limitMs`, firing each timer when wall time reaches
   * it (a timer armed meanwhile included); resolves with the clock at `limitMs` and every timer
   * due by then fired, or as soon as `signal` aborts. Without followWall() it is advanceTo().
   */
  async runUntil(limitMs: number, signal?: AbortSignal): Promise<void> {
    const p = this.pacing;
    if (p === undefined) return this.advanceTo(limitMs);
    if (limitMs > p.limitMs) p.limitMs = limitMs;
    for (;;) {
      if (signal?.aborted) return;
      const now = this.now();
      const due = this.nextDueMs();
      // Node's timers run on libuv's loop time, which is read once per loop turn in whole ms, so
      // a wake-up comes up to a ms early. What is due within WAKE_SLACK_MS of wall time is taken
      // as due: waiting again would cost a second wake-up (~0.1 ms of CPU on a VM, more than the
      // work) to be less than a ms more exact.
      const reach = now + WAKE_SLACK_MS * p.speed;
      if (due !== undefined && due <= reach && due <= limitMs) {
        await this.advanceTo(Math.max(due, now));
        continue;
      }
      if (limitMs <= reach) {
        if (limitMs > this.nowMs) this.nowMs = limitMs;
        return;
      }
      await this.waitWall(Math.min(due ?? limitMs, limitMs), p, signal);
    }
  }

  /** Until the clock reads `targetMs`, a timer is armed before it, or `signal` aborts. */
  private waitWall(targetMs: number, p: Pacing, signal: AbortSignal | undefined): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = (): void => {
        handle.cancel();
        this.onArm = undefined;
        signal?.removeEventListener('abort', done);
        resolve();
      };
      // Node's timers may fire a fraction of a ms early: runUntil's loop then waits again.
      // From wall time, not now(): the clock may be up to WAKE_SLACK_MS ahead of it (runUntil).
      const handle = p.wall.setTimeout(done, Math.max(0, (targetMs - wallReading(p)) / p.speed));
      this.onArm = (dueMs) => {
        if (dueMs < targetMs) done();
      };
      signal?.addEventListener('abort', done, { once: true });
    });
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

  /**
   * Timers in the heap: every armed one, and cancelled ones not yet collected (at most as many
   * as the armed ones, or COMPACT_MIN_CANCELLED).
   */
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
      dueMs: this.now() + Math.max(0, delayMs),
      seq: this.seq++,
      fn,
      intervalMs,
      cancelled: false,
      queued: false,
    };
    this.push(timer);
    this.onArm?.(timer.dueMs);
    return {
      cancel: () => {
        if (timer.cancelled) return;
        timer.cancelled = true;
        // Its closure is garbage now, whether or not the heap still holds the timer.
        timer.fn = noop;
        if (!timer.queued) return;
        this.cancelledQueued++;
        if (this.cancelledQueued >= COMPACT_MIN_CANCELLED && this.cancelledQueued * 2 >= this.heap.length)
          this.compact();
      },
    };
  }

  private dropCancelledHead(): void {
    while (this.heap.length > 0 && this.heap[0]!.cancelled) {
      this.pop();
      this.cancelledQueued--;
    }
  }

  /** Rebuild the heap from its live timers: a sorted array is a valid min-heap. */
  private compact(): void {
    const h = this.heap;
    const live = h.filter((t) => !t.cancelled);
    for (const t of h) if (t.cancelled) t.queued = false;
    live.sort((a, b) => (this.less(a, b) ? -1 : 1));
    h.length = 0;
    for (const t of live) h.push(t);
    this.cancelledQueued = 0;
  }

  private less(a: VirtualTimer, b: VirtualTimer): boolean {
    return a.dueMs < b.dueMs || (a.dueMs === b.dueMs && a.seq < b.seq);
  }

  private push(t: VirtualTimer): void {
    const h = this.heap;
    t.queued = true;
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
    if (top !== undefined) top.queued = false;
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

/** Where wall time × speed has brought a paced clock, past its limit too. */
function wallReading(p: Pacing): number {
  return p.anchorMs + (p.wall.monotonicMs() - p.anchorWallMs) * p.speed;
}

/** Let pending promise callbacks and I/O callbacks run. */
function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
