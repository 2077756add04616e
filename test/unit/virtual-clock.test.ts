import { describe, expect, it } from 'vitest';
import { VirtualClock } from '../../daemon/util/virtual-clock.js';

/** The virtual clock replays run on: ordering, intervals, cancel, sleep, settling between timers. */

describe('VirtualClock', () => {
  it('only moves when told to; now() and monotonicMs() agree', async () => {
    const clock = new VirtualClock(1_000);
    expect(clock.now()).toBe(1_000);
    await new Promise((r) => setTimeout(r, 5));
    expect(clock.now()).toBe(1_000);
    await clock.advanceTo(1_250);
    expect(clock.now()).toBe(1_250);
    expect(clock.monotonicMs()).toBe(1_250);
    await clock.advanceTo(1_100); // never backwards
    expect(clock.now()).toBe(1_250);
  });

  it('fires timers in (due time, arming order) and each sees its own due time', async () => {
    const clock = new VirtualClock(0);
    const fired: string[] = [];
    const at = (label: string) => () => fired.push(`${label}@${clock.now()}`);
    clock.setTimeout(at('c30'), 30);
    clock.setTimeout(at('a10'), 10);
    clock.setTimeout(at('b10'), 10);
    clock.setTimeout(at('d20'), 20);
    clock.setTimeout(at('e10'), 10);
    clock.setTimeout(at('late'), 100);
    await clock.advanceTo(30);
    expect(fired).toEqual(['a10@10', 'b10@10', 'e10@10', 'd20@20', 'c30@30']);
    expect(clock.nextDueMs()).toBe(100);
  });

  it('a timer armed by a timer with delay 0 fires in the same advance, after those already due', async () => {
    const clock = new VirtualClock(0);
    const fired: string[] = [];
    clock.setTimeout(() => {
      fired.push('first');
      clock.setTimeout(() => fired.push('nested'), 0);
    }, 5);
    clock.setTimeout(() => fired.push('second'), 5);
    await clock.advanceTo(5);
    expect(fired).toEqual(['first', 'second', 'nested']);
  });

  it('repeats intervals at their period and interleaves them with timeouts by due time', async () => {
    const clock = new VirtualClock(0);
    const fired: string[] = [];
    const h = clock.setInterval(() => fired.push(`i@${clock.now()}`), 10);
    clock.setTimeout(() => fired.push(`t@${clock.now()}`), 25);
    // Armed at 0, before the interval re-arms itself at 20 for 30: a re-arm counts as arming
    // (as with Node's timers), so at 30 this timeout fires first.
    clock.setTimeout(() => fired.push(`t@${clock.now()}`), 30);
    await clock.advanceTo(35);
    expect(fired).toEqual(['i@10', 'i@20', 't@25', 't@30', 'i@30']);
    h.cancel();
    await clock.advanceTo(100);
    expect(fired).toHaveLength(5);
    expect(clock.nextDueMs()).toBeUndefined();
  });

  it('an interval may cancel itself from its own callback', async () => {
    const clock = new VirtualClock(0);
    let n = 0;
    const h = clock.setInterval(() => {
      if (++n === 3) h.cancel();
    }, 7);
    await clock.advanceTo(1_000);
    expect(n).toBe(3);
    expect(clock.nextDueMs()).toBeUndefined();
  });

  it('cancel is idempotent and a cancelled timer never fires', async () => {
    const clock = new VirtualClock(0);
    const fired: number[] = [];
    const a = clock.setTimeout(() => fired.push(1), 10);
    clock.setTimeout(() => fired.push(2), 20);
    a.cancel();
    a.cancel();
    expect(clock.nextDueMs()).toBe(20);
    await clock.runAll();
    expect(fired).toEqual([2]);
    expect(clock.now()).toBe(20);
  });

  it('does not keep cancelled timers: a deadline armed and cancelled per event stays bounded', async () => {
    // The bus's drain deadline at speed 0: armed 60 s ahead for every settle, cancelled at once.
    // Before, each stayed in the heap (with its closure) until its due time.
    const clock = new VirtualClock(0);
    const live: number[] = [];
    const deadline = (): void => {
      throw new Error('a cancelled deadline fired');
    };
    for (let i = 0; i < 10_000; i++) {
      clock.setTimeout(deadline, 60_000).cancel();
      if (i % 1_000 === 0) clock.setTimeout(() => live.push(i), 50_000 + i);
      await clock.advanceTo(clock.now() + 1);
      expect(clock.pendingTimers()).toBeLessThanOrEqual(2 * 10 + 64);
    }
    await clock.runAll();
    expect(live).toEqual([0, 1_000, 2_000, 3_000, 4_000, 5_000, 6_000, 7_000, 8_000, 9_000]);
  });

  it('fires the same timers in the same order whatever is cancelled around them', async () => {
    // A seeded mix of timeouts and cancels (over half of them: the heap is compacted), checked
    // against a plain list sorted by (due, arming order): compaction must not reorder anything.
    let seed = 7;
    const rand = (n: number): number => {
      seed = (seed * 48_271) % 2_147_483_647; // Park–Miller: exact in float64
      return seed % n;
    };
    const clock = new VirtualClock(0);
    const fired: string[] = [];
    const handles: { cancel(): void }[] = [];
    const expected: { due: number; seq: number; label: string }[] = [];
    for (let i = 0; i < 2_000; i++) {
      const due = rand(5_000);
      const label = `t${i}`;
      const h = clock.setTimeout(() => fired.push(`${label}@${clock.now()}`), due);
      handles.push(h);
      expected.push({ due, seq: i, label });
    }
    const cancelled = new Set<number>();
    for (let k = 0; k < 1_500; k++) {
      const i = rand(2_000);
      handles[i]!.cancel();
      cancelled.add(i);
    }
    const want = expected
      .filter((e) => !cancelled.has(e.seq))
      .sort((a, b) => a.due - b.due || a.seq - b.seq)
      .map((e) => `${e.label}@${e.due}`);
    expect(clock.pendingTimers()).toBeLessThanOrEqual(2 * want.length + 64);
    expect(clock.pendingTimers()).toBeLessThan(2_000 - 500);
    await clock.runAll();
    expect(fired).toEqual(want);
  });
  it('runAll stops at its limit (an interval would otherwise run forever)', async () => {
    const clock = new VirtualClock(0);
    let n = 0;
    clock.setInterval(() => n++, 100);
    await clock.runAll(1_000);
    expect(n).toBe(10);
    expect(clock.now()).toBe(1_000);
  });

  it('sleep resolves at its due time and rejects with the reason when aborted', async () => {
    const clock = new VirtualClock(0);
    let wokeAt: number | undefined;
    const p = clock.sleep(40).then(() => {
      wokeAt = clock.now();
    });
    await clock.advanceTo(39);
    expect(wokeAt).toBeUndefined();
    await clock.advanceTo(50);
    await p;
    expect(wokeAt).toBe(40);

    const ac = new AbortController();
    const reason = new Error('shutdown');
    const s = clock.sleep(100, ac.signal);
    ac.abort(reason);
    await expect(s).rejects.toBe(reason);
    // The aborted sleep's timer is gone: nothing is due any more.
    expect(clock.nextDueMs()).toBeUndefined();

    const already = AbortSignal.abort(new Error('before'));
    await expect(clock.sleep(1, already)).rejects.toThrow('before');
  });

  it('lets promise chains started by one timer settle before the next timer fires', async () => {
    const clock = new VirtualClock(0);
    const log: string[] = [];
    clock.setTimeout(() => {
      void (async () => {
        for (let i = 0; i < 20; i++) await Promise.resolve();
        log.push(`chain-done@${clock.now()}`);
        // A timer armed at the end of the chain is relative to the time the chain ran at.
        clock.setTimeout(() => log.push(`follow-up@${clock.now()}`), 5);
      })();
    }, 10);
    clock.setTimeout(() => log.push(`next@${clock.now()}`), 11);
    await clock.advanceTo(20);
    expect(log).toEqual(['chain-done@10', 'next@11', 'follow-up@15']);
  });

  it('a sleep loop paced by the clock runs identically twice', async () => {
    const run = async (): Promise<number[]> => {
      const clock = new VirtualClock(0);
      const ticks: number[] = [];
      void (async () => {
        for (let i = 0; i < 5; i++) {
          await clock.sleep(i * 3 + 1);
          ticks.push(clock.now());
        }
      })();
      clock.setTimeout(() => ticks.push(-clock.now()), 7);
      await clock.advanceTo(100);
      return ticks;
    };
    const a = await run();
    expect(a).toEqual([1, 5, -7, 12, 22, 35]);
    expect(await run()).toEqual(a);
  });
});
