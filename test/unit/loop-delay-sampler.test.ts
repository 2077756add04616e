/**
 * One event-loop delay sampler for every reader (util/loop-delay.ts): one timer however many
 * windows are open, every sample in every window, each window reset on its own, the real stall
 * recorded (not the sampling period), and no timer once the last window closes. The stats
 * collector and /metrics share it in a daemon; before, each ran its own histogram timer.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { silentLogger } from '../../daemon/log.js';
import { Metrics } from '../../daemon/observe/http/metrics.js';
import { StatsCollector } from '../../daemon/observe/stats.js';
import { SystemClock } from '../../daemon/util/clock.js';
import { LOOP_DELAY_RESOLUTION_MS, LoopDelaySampler } from '../../daemon/util/loop-delay.js';

const realSetInterval = globalThis.setInterval;
const realClearInterval = globalThis.clearInterval;

/**
 * Count the intervals started and not yet cleared from here on (the sampler's timer is unref'd,
 * so process.getActiveResourcesInfo() does not list it). Restored after the test.
 */
function countIntervals(): () => number {
  const live = new Set<NodeJS.Timeout>();
  const set = vi.spyOn(globalThis, 'setInterval').mockImplementation(((fn: () => void, ms?: number) => {
    const t = realSetInterval(fn, ms);
    live.add(t);
    return t;
  }) as typeof setInterval);
  const clear = vi.spyOn(globalThis, 'clearInterval').mockImplementation(((t?: NodeJS.Timeout) => {
    if (t !== undefined) live.delete(t);
    realClearInterval(t);
  }) as typeof clearInterval);
  closers.push(() => {
    set.mockRestore();
    clear.mockRestore();
  });
  return () => live.size;
}

/** Resolve once `histogram` has at least `n` samples (the sampler's own timer fills it). */
async function samples(histogram: { count: number }, n: number): Promise<void> {
  while (histogram.count < n) await new Promise((r) => setImmediate(r));
}

/** Hold this thread for `ms`, as a synchronous handler would. */
function block(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

const closers: (() => void)[] = [];
afterEach(() => {
  for (const c of closers.splice(0)) c();
});

describe('LoopDelaySampler', () => {
  it('runs one timer for all its readers and none once the last closes', () => {
    const running = countIntervals();
    const sampler = new LoopDelaySampler();
    const a = sampler.open();
    const b = sampler.open();
    const c = sampler.open();
    expect(running()).toBe(1);
    expect(sampler.readerCount).toBe(3);
    a.close();
    b.close();
    a.close(); // twice is harmless
    expect(running()).toBe(1);
    c.close();
    expect(sampler.readerCount).toBe(0);
    expect(running()).toBe(0);
  });

  it('records each stall in every window, as lateness past the due time, and windows reset apart', async () => {
    const sampler = new LoopDelaySampler(20);
    const a = sampler.open();
    const b = sampler.open();
    closers.push(a.close, b.close);
    await samples(a.histogram, 2);
    // Quiet samples are lateness alone, below the 20 ms period (monitorEventLoopDelay's histogram
    // counts the period too: its p50 on an idle loop is the resolution or more).
    expect(a.histogram.percentile(50) / 1e6).toBeLessThan(20);
    a.histogram.reset();
    block(150);
    await samples(a.histogram, 1);
    // The late firing saw the whole stall, less what was left of its period when it began.
    expect(a.histogram.max / 1e6).toBeGreaterThan(150 - 20);
    expect(b.histogram.max / 1e6).toBeGreaterThan(150 - 20);
    expect(b.histogram.count).toBeGreaterThan(a.histogram.count);
  });

  it('is the one timer behind the stats collector and /metrics of a daemon', async () => {
    const running = countIntervals();
    const sampler = new LoopDelaySampler();
    const stats = new StatsCollector({
      clock: new SystemClock(),
      logger: silentLogger(),
      providers: {},
      intervalMs: 60_000,
      loopDelay: sampler,
    });
    await stats.start();
    const metrics = new Metrics({
      snapshot: () => stats.snapshot(),
      provides: (s) => stats.provides(s),
      sources: stats.metricsSources,
    });
    const text = await metrics.render();
    expect(text).toMatch(/^# TYPE nodejs_eventloop_lag_p99_seconds gauge$/m);
    expect(sampler.readerCount).toBe(2);
    // The stats collector's tick, and one sampler between it and /metrics.
    expect(running()).toBe(2);
    block(LOOP_DELAY_RESOLUTION_MS + 300);
    const max = async (): Promise<number> => {
      const m = /^nodejs_eventloop_lag_max_seconds (\S+)$/m.exec(await metrics.render());
      return Number(m?.[1]);
    };
    let maxS = 0;
    while (maxS === 0) {
      await new Promise((r) => setImmediate(r));
      maxS = await max();
    }
    expect(maxS).toBeGreaterThan(0.25);
    metrics.close();
    await stats.stop();
    expect(sampler.readerCount).toBe(0);
    expect(running()).toBe(0);
  });
});
