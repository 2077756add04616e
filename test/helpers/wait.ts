/**
 * Waiting for the state a test expects, instead of sleeping for a time that is usually enough
 * (which is a race on a loaded machine) or asserting how long something took (which flakes).
 *
 * `until` re-checks a condition until it holds. Its only limit is a hang guard, not a timing
 * assertion: by default it is generous and below vitest's test timeout, so a wait that can never
 * end fails naming what it waited for instead of as an anonymous test timeout.
 */

/** Default hang guard, ms: well below the suite's 60 s test timeout, far above any real wait. */
export const HANG_GUARD_MS = 45_000;

export interface UntilOptions {
  /** Fail after this long, ms (a hang guard; default HANG_GUARD_MS). */
  readonly timeoutMs?: number;
  /** Re-check every this many ms (default 10). */
  readonly everyMs?: number;
}

/**
 * Resolves with the condition's value once it is truthy (`undefined`, `null` and `false` mean "not
 * yet"); a condition may be async. Rejects naming `what` when the hang guard expires.
 */
export async function until<T>(
  what: string,
  condition: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  options: UntilOptions = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? HANG_GUARD_MS;
  const everyMs = options.everyMs ?? 10;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await condition();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`waited ${timeoutMs} ms for ${what}; it never happened`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** One full turn of the event loop: pending I/O callbacks and promise chains get to run. */
export function turn(): Promise<void> {
  return new Promise((r) => setImmediate(r));
}

/**
 * One timers phase of the event loop: every timer already due — a JS timer or a native one such
 * as perf_hooks' event-loop-delay histogram — fires before this resolves (libuv runs due timers
 * in due order, and this one is due after them). Not a sleep: it waits for a loop phase, not a time.
 */
export function timersPhase(): Promise<void> {
  return new Promise((r) => setTimeout(r, 0));
}
