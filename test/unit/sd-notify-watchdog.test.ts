import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../daemon/log.js';
import { type ProgressVerdict, Watchdog, watchdogIntervalMs } from '../../daemon/systemd/watchdog.js';
import { LOOP_DELAY_RESOLUTION_MS } from '../../daemon/util/loop-delay.js';
import { VirtualClock } from '../../daemon/util/virtual-clock.js';
import { timersPhase } from '../helpers/wait.js';

/** Counts WATCHDOG=1 sends. */
function sink(): { watchdog(): Promise<boolean>; count: number } {
  const s = {
    count: 0,
    watchdog: async () => {
      s.count += 1;
      return true;
    },
  };
  return s;
}

const signal = new AbortController().signal;

/** Block this thread (and so its event loop) for `ms`, without spinning a core. */
function block(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

describe('watchdogIntervalMs', () => {
  it('is half of WATCHDOG_USEC, in ms', () => {
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '30000000' }, 42)).toBe(15_000);
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '42' }, 42)).toBe(15_000);
  });

  it('is off when unset, malformed, or meant for another process', () => {
    expect(watchdogIntervalMs({}, 42)).toBeUndefined();
    expect(watchdogIntervalMs({ WATCHDOG_USEC: 'soon' }, 42)).toBeUndefined();
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '0' }, 42)).toBeUndefined();
    expect(watchdogIntervalMs({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '7' }, 42)).toBeUndefined();
  });
});

describe('Watchdog', () => {
  const env = { WATCHDOG_USEC: '30000000' };

  it('pings every 15 s while the pipeline progresses, stops while it is stuck, resumes after', async () => {
    const clock = new VirtualClock(0);
    const notify = sink();
    let verdict: ProgressVerdict = { ok: true };
    const dog = new Watchdog({
      notify,
      progress: () => verdict,
      log: silentLogger(),
      env,
      clock,
      eventLoopDelayMs: () => 0,
    });
    await dog.start(signal);
    expect(notify.count).toBe(1); // at once
    await clock.advanceTo(30_000);
    expect(notify.count).toBe(3);
    expect(dog.health().status).toBe('ok');

    verdict = { ok: false, reason: 'no bus event for 20 s' };
    await clock.advanceTo(60_000);
    expect(notify.count).toBe(3);
    expect(dog.health()).toEqual({
      status: 'failed',
      reasons: ['watchdog withheld: no progress: no bus event for 20 s'],
    });

    verdict = { ok: true };
    await clock.advanceTo(75_000);
    expect(notify.count).toBe(4);
    expect(dog.stats()).toEqual({ pings: 4, withheld: 2 });
    await dog.stop();
    await clock.advanceTo(120_000);
    expect(notify.count).toBe(4);
  });

  it('withholds the ping when the event loop stalled longer than the limit', async () => {
    const clock = new VirtualClock(0);
    const notify = sink();
    let delayMs = 0;
    const dog = new Watchdog({
      notify,
      progress: () => ({ ok: true }),
      log: silentLogger(),
      env,
      clock,
      maxEventLoopDelayMs: 1000,
      eventLoopDelayMs: () => delayMs,
    });
    await dog.start(signal);
    delayMs = 2500;
    await clock.advanceTo(15_000);
    expect(notify.count).toBe(1);
    expect(dog.health().reasons?.[0]).toMatch(/event loop blocked for 2500 ms \(limit 1000 ms\)/);
    await dog.stop();
  });

  it('treats a throwing probe as stuck', async () => {
    const clock = new VirtualClock(0);
    const notify = sink();
    const dog = new Watchdog({
      notify,
      progress: () => {
        throw new Error('bus gone');
      },
      log: silentLogger(),
      env,
      clock,
      eventLoopDelayMs: () => 0,
    });
    await dog.start(signal);
    expect(notify.count).toBe(0);
    expect(dog.health().reasons?.[0]).toMatch(/progress probe threw: bus gone/);
    await dog.stop();
  });

  it('does nothing without WATCHDOG_USEC', async () => {
    const clock = new VirtualClock(0);
    const notify = sink();
    const dog = new Watchdog({ notify, progress: () => ({ ok: true }), log: silentLogger(), env: {}, clock });
    await dog.start(signal);
    await clock.advanceTo(100_000);
    expect(dog.intervalMs).toBeUndefined();
    expect(notify.count).toBe(0);
    expect(clock.pendingTimers()).toBe(0);
  });

  it('notices a real blocked event loop (the real loop-delay sampler)', async () => {
    // The ticks run on a virtual clock the test moves; the event-loop delay is measured for real
    // by the default sampler (util/loop-delay.ts; no eventLoopDelayMs injected).
    const clock = new VirtualClock(0);
    const notify = sink();
    const dog = new Watchdog({
      notify,
      progress: () => ({ ok: true }),
      log: silentLogger(),
      env: { WATCHDOG_USEC: '400000' }, // a ping every 200 ms of the (virtual) clock
      clock,
      maxEventLoopDelayMs: 1000,
    });
    await dog.start(signal);
    await clock.advanceTo(400);
    expect(notify.count).toBe(3); // at start, 200, 400
    expect(dog.stats().withheld).toBe(0);

    // The sampler measures from its previous firing (every LOOP_DELAY_RESOLUTION_MS), and each
    // watchdog read resets its window: let that timer come due and run once so the stall below
    // has a reference point.
    block(LOOP_DELAY_RESOLUTION_MS + 30);
    await timersPhase();
    // Block this thread for 2.5 s, as a synchronous hang in a handler would (sleeping, not spinning).
    block(2500);
    await timersPhase(); // the histogram's timer runs, late, and records the stall
    await clock.advanceTo(600);
    expect(notify.count).toBe(3);
    expect(dog.stats().withheld).toBe(1);
    expect(dog.health().reasons?.[0]).toMatch(/event loop blocked for \d+ ms \(limit 1000 ms\)/);
    const blockedMs = Number(/blocked for (\d+) ms/.exec(dog.health().reasons![0]!)![1]);
    expect(blockedMs).toBeGreaterThan(1000);
    // The stall is read once: the next tick pings again.
    await clock.advanceTo(800);
    expect(notify.count).toBe(4);
    await dog.stop();
  });
});
