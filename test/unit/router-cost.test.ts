import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CostTracker, localDay } from '../../daemon/router/cost.js';
import { openStore } from '../../daemon/storage/store.js';
import { VirtualClock } from '../../daemon/util/virtual-clock.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edgeloom-cost-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('daily cost cap', () => {
  it('survives a restart and resets at local midnight of the clock', async () => {
    // 23:00 local time on some day, whatever the TZ of the machine.
    const d = new Date(2024, 4, 10, 23, 0, 0);
    const clock = new VirtualClock(d.getTime());
    let store = await openStore(dir);
    const cost = new CostTracker(store, clock, 0.01);
    await cost.load();
    expect(cost.canSpend(0.006)).toBe(true);
    await cost.charge(0.006);
    expect(cost.canSpend(0.006)).toBe(false);
    await store.close();

    store = await openStore(dir);
    const again = new CostTracker(store, clock, 0.01);
    await again.load();
    expect(again.spentTodayUsd()).toBeCloseTo(0.006);
    expect(again.canSpend(0.006)).toBe(false);

    await clock.advanceTo(new Date(2024, 4, 10, 23, 59, 59, 999).getTime());
    expect(again.spentTodayUsd()).toBeCloseTo(0.006);
    await clock.advanceTo(new Date(2024, 4, 11, 0, 0, 0).getTime());
    expect(localDay(clock.now())).toBe('2024-05-11');
    expect(again.spentTodayUsd()).toBe(0);
    expect(again.canSpend(0.006)).toBe(true);
    await again.charge(0.001);
    await store.close();

    store = await openStore(dir);
    const third = new CostTracker(store, clock, 0.01);
    await third.load();
    expect(third.spentTodayUsd()).toBeCloseTo(0.001);
    await store.close();
  });
});
