import { describe, expect, it } from 'vitest';
import { Bus } from '../../daemon/bus/bus.js';
import type { Envelope } from '../../daemon/bus/envelope.js';
import type { ErrorEvent } from '../../daemon/bus/topics.js';
import { isEdgeloomError } from '../../daemon/errors.js';
import { silentLogger } from '../../daemon/log.js';
import { MemoryGuard, type MemoryGuardOptions } from '../../daemon/observe/memory-guard.js';
import { VirtualClock } from '../../daemon/util/virtual-clock.js';

const MIB = 1024 * 1024;

/** A guard over a 100 MiB budget (soft 80, hard 90, hysteresis 5 MiB) sampling every second. */
function setup(overrides: Partial<MemoryGuardOptions> = {}) {
  const clock = new VirtualClock(0);
  let rssMb = 10;
  const calls: string[] = [];
  const guard = new MemoryGuard({
    clock,
    logger: silentLogger(),
    budgetMb: 100,
    intervalMs: 1_000,
    reliefAfterMs: 5_000,
    readRssBytes: () => rssMb * MIB,
    onPressure: (level) => {
      calls.push(`pressure:${level}`);
    },
    onRelief: () => {
      calls.push('relief');
    },
    ...overrides,
  });
  return {
    clock,
    guard,
    calls,
    set: (mb: number) => {
      rssMb = mb;
    },
  };
}

describe('MemoryGuard', () => {
  it('escalates on the first sample over a mark and sheds once per escalation', async () => {
    const { clock, guard, calls, set } = setup();
    await guard.start();
    expect(guard.status().level).toBe('ok');
    set(85);
    await clock.advanceTo(1_000);
    expect(guard.status().level).toBe('soft');
    await clock.advanceTo(3_000); // still 85: no repeated shedding
    expect(calls).toEqual(['pressure:soft']);
    set(95);
    await clock.advanceTo(4_000);
    expect(guard.status().level).toBe('hard');
    expect(calls).toEqual(['pressure:soft', 'pressure:hard']);
    expect(guard.health()).toMatchObject({ status: 'degraded' });
    expect(guard.health().reasons?.[0]).toContain('95%');
    await guard.stop();
  });

  it('recovers only after staying below the mark minus hysteresis for reliefAfterMs', async () => {
    const { clock, guard, calls, set } = setup();
    await guard.start();
    set(82);
    await clock.advanceTo(1_000);
    expect(guard.status().level).toBe('soft');
    set(77); // below soft (80) but not below soft − hysteresis (75): stays soft
    await clock.advanceTo(20_000);
    expect(guard.status().level).toBe('soft');
    set(70);
    await clock.advanceTo(24_000); // 4 s below: not yet
    expect(guard.status().level).toBe('soft');
    set(76); // back into the hysteresis band: the relief timer restarts
    await clock.advanceTo(25_000);
    set(70);
    await clock.advanceTo(29_000);
    expect(guard.status().level).toBe('soft');
    await clock.advanceTo(31_000);
    expect(guard.status().level).toBe('ok');
    expect(calls).toEqual(['pressure:soft', 'relief']);
    expect(guard.health()).toEqual({ status: 'ok' });
    await guard.stop();
  });

  it('steps down from hard to soft before ok, calling onRelief only at ok', async () => {
    const { clock, guard, calls, set } = setup();
    await guard.start();
    set(92);
    await clock.advanceTo(1_000);
    set(81); // under hard − hysteresis (85), above soft
    await clock.advanceTo(7_000);
    expect(guard.status().level).toBe('soft');
    expect(calls).toEqual(['pressure:hard']);
    set(50);
    await clock.advanceTo(14_000);
    expect(guard.status().level).toBe('ok');
    expect(calls).toEqual(['pressure:hard', 'relief']);
    await guard.stop();
  });

  it('publishes E_MEMORY_PRESSURE on escalation and survives a throwing callback', async () => {
    const clock = new VirtualClock(0);
    const bus = new Bus({ clock, logger: silentLogger() });
    const seen: ErrorEvent[] = [];
    bus.subscribe('system/error', (env: Envelope<ErrorEvent>) => void seen.push(env.payload), {
      component: 't',
    });
    let rss = 95 * MIB;
    const guard = new MemoryGuard({
      clock,
      logger: silentLogger(),
      bus,
      budgetMb: 100,
      intervalMs: 1_000,
      readRssBytes: () => rss,
      onPressure: async () => {
        throw new Error('shedding failed');
      },
    });
    await guard.start();
    await clock.advanceTo(1_000);
    await guard.stop();
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({
      severity: 'error',
      code: 'E_MEMORY_PRESSURE',
      component: 'system.memory',
    });
    expect(seen[0]!.message).toContain('95%');
    expect(guard.status().callbackFailures).toBe(1);
    rss = 10 * MIB;
    guard.sample(); // still works after the failure
    expect(guard.status().rssBytes).toBe(10 * MIB);
    await bus.close();
  });

  it('refuses marks that cannot work', () => {
    const bad = (o: Partial<MemoryGuardOptions>) => () =>
      new MemoryGuard({ clock: new VirtualClock(), logger: silentLogger(), budgetMb: 100, ...o });
    for (const o of [{ softRatio: 0.9, hardRatio: 0.8 }, { budgetMb: 0 }, { hysteresisRatio: 0.9 }]) {
      try {
        bad(o)();
        expect.unreachable();
      } catch (err) {
        expect(isEdgeloomError(err, 'E_CONFIG')).toBe(true);
      }
    }
  });
});
