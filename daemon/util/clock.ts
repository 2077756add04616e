/**
 * Time as a dependency. Every component that reads the time or arms a timer takes a Clock, so a
 * replay at speed 0 can drive the whole daemon from a virtual clock and stay deterministic
 * (README, "Replay": a virtual clock drives every timer). Never call Date.now()/setTimeout
 * directly in a component.
 */
import { toError } from '../errors.js';

export interface TimerHandle {
  /** Cancel the timer; idempotent. */
  cancel(): void;
}

export interface Clock {
  /** Milliseconds since the Unix epoch (wall clock for live runs, fixture time for replays). */
  now(): number;
  /** Monotonic milliseconds, for measuring durations. Equals now() on a virtual clock. */
  monotonicMs(): number;
  setTimeout(fn: () => void, delayMs: number): TimerHandle;
  setInterval(fn: () => void, intervalMs: number): TimerHandle;
  /** Resolves after delayMs of this clock's time; rejects with the signal's reason when aborted. */
  sleep(delayMs: number, signal?: AbortSignal): Promise<void>;
}

/** The real clock: wall time and Node timers. Timers are unref'd so they never hold the process open. */
export class SystemClock implements Clock {
  now(): number {
    return Date.now();
  }

  monotonicMs(): number {
    return performance.now();
  }

  setTimeout(fn: () => void, delayMs: number): TimerHandle {
    const t = setTimeout(fn, delayMs);
    t.unref();
    return { cancel: () => clearTimeout(t) };
  }

  setInterval(fn: () => void, intervalMs: number): TimerHandle {
    const t = setInterval(fn, intervalMs);
    t.unref();
    return { cancel: () => clearInterval(t) };
  }

  sleep(delayMs: number, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const t = setTimeout(() => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, delayMs);
      const onAbort = (): void => {
        clearTimeout(t);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }
}

/**
 * Wait for `p` at most `ms` of `clock`'s time: true when it resolved in time, false when the time
 * ran out first (p is left running); rejects, as an Error, when p rejects in time.
 */
export async function resolvesWithin(clock: Clock, p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: TimerHandle | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = clock.setTimeout(() => resolve(false), ms);
  });
  try {
    return await Promise.race([
      p.then(
        () => true,
        (err: unknown) => Promise.reject(toError(err)),
      ),
      timeout,
    ]);
  } finally {
    timer?.cancel();
  }
}
