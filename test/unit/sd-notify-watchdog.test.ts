import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../daemon/log.js';
import { type ProgressVerdict, Watchdog, watchdogIntervalMs } from '../../daemon/system/watchdog.js';
import { VirtualClock } from '../../daemon/util/virtual-clock.js';

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

  it('notices a real blocked event loop (real clock, real histogram)', async () => {
    const notify = sink();
    // 400 ms watchdog: a ping every 200 ms, stalls over 100 ms withhold it.
    const dog = new Watchdog({
      notify,
      progress: () => ({ ok: true }),
      log: silentLogger(),
      env: { WATCHDOG_USEC: '400000' },
    });
    await dog.start(signal);
    await new Promise((r) => setTimeout(r, 450));
    const healthyPings = notify.count;
    expect(healthyPings).toBeGreaterThanOrEqual(2);
    expect(dog.stats().withheld).toBe(0);

    const until = performance.now() + 350;
    while (performance.now() < until) {
      // busy: the event loop cannot run timers
    }
    await new Promise((r) => setTimeout(r, 50));
    expect(dog.stats().withheld).toBeGreaterThanOrEqual(1);
    expect(dog.health().reasons?.[0]).toMatch(/event loop blocked/);
    await dog.stop();
  });
});
