import { describe, expect, it } from 'vitest';
import { VirtualClock, WAKE_SLACK_MS } from '../../daemon/util/virtual-clock.js';

/**
 * The virtual clock following wall time (replay at speed > 0, issue #16): now() moves between
 * records, timers fire when wall time reaches them, and the clock never reads past the limit the
 * replay sets (the next record's time). The wall is a second VirtualClock the test moves, so
 * nothing here waits on real time.
 */

/** A promise and the function that resolves it. */
function signal<T = void>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

/**
 * Move the wall to the next time the paced clock asked to be woken at, once it has asked (it does
 * so after the timers it fired have settled): how a real wall reaches a timer's time.
 */
async function step(wall: VirtualClock): Promise<number> {
  while (wall.nextDueMs() === undefined) await new Promise((r) => setImmediate(r));
  const due = wall.nextDueMs()!;
  await wall.advanceTo(due);
  return due;
}

describe('VirtualClock following wall time', () => {
  it('now() moves with wall time × speed between limits, and never past the limit', async () => {
    const wall = new VirtualClock(500);
    const clock = new VirtualClock(10_000);
    clock.followWall(2, wall);
    const reached = clock.runUntil(10_200);
    await wall.advanceTo(530);
    expect(clock.now()).toBe(10_060);
    expect(clock.monotonicMs()).toBe(10_060);
    await wall.advanceTo(545);
    expect(clock.now()).toBe(10_090);
    // Wall time runs on past the limit: the clock waits there for the next runUntil.
    await wall.advanceTo(700);
    await reached;
    expect(clock.now()).toBe(10_200);
    await wall.advanceTo(800);
    expect(clock.now()).toBe(10_200);
    // A later limit: the clock catches up with the wall (fixed anchor), up to that limit.
    const next = clock.runUntil(10_250);
    expect(clock.now()).toBe(10_250);
    await next;
    const far = clock.runUntil(20_000);
    expect(clock.now()).toBe(10_600); // (800 − 500) × 2
    expect(await step(wall)).toBe(5_500);
    await far;
    expect(clock.now()).toBe(20_000);
  });

  it('a timer due between two limits fires when wall time reaches it, before runUntil resolves', async () => {
    const wall = new VirtualClock(0);
    const clock = new VirtualClock(1_000);
    clock.followWall(1, wall);
    const log: string[] = [];
    clock.setTimeout(() => log.push(`t40@${clock.now()}`), 40);
    let reached = false;
    const until = clock.runUntil(2_000).then(() => {
      reached = true;
    });
    const fired = signal();
    // Armed while runUntil waits for a later time: it must wake for this one.
    clock.setTimeout(() => {
      log.push(`t25@${clock.now()}`);
      fired.resolve();
    }, 25);
    expect(await step(wall)).toBe(25);
    await fired.promise;
    expect(log).toEqual(['t25@1025']);
    expect(reached).toBe(false);
    expect(await step(wall)).toBe(40);
    while (log.length < 2) await new Promise((r) => setImmediate(r));
    expect(log).toEqual(['t25@1025', 't40@1040']);
    await wall.advanceTo(60);
    expect(clock.now()).toBe(1_060);
    expect(reached).toBe(false);
    // A timer due after the limit waits for a runUntil past it.
    clock.setTimeout(() => log.push(`after@${clock.now()}`), 2_000);
    await wall.advanceTo(1_500);
    await until;
    expect(clock.now()).toBe(2_000);
    expect(log).toHaveLength(2);
    const later = clock.runUntil(3_500);
    await wall.advanceTo(2_500);
    await later;
    expect(log).toEqual(['t25@1025', 't40@1040', 'after@3060']);
  });

  it('timers armed from a timer are relative to the time it fired at; aborting ends the wait', async () => {
    const wall = new VirtualClock(0);
    const clock = new VirtualClock(0);
    clock.followWall(1, wall);
    const stamps: number[] = [];
    const second = signal();
    clock.setTimeout(() => {
      stamps.push(clock.now());
      clock.setTimeout(() => {
        stamps.push(clock.now());
        second.resolve();
      }, 10);
    }, 10);
    const abort = new AbortController();
    const until = clock.runUntil(1_000, abort.signal);
    expect(await step(wall)).toBe(10);
    expect(await step(wall)).toBe(20);
    await second.promise;
    expect(stamps).toEqual([10, 20]);
    abort.abort();
    await until;
    expect(clock.now()).toBe(20);
  });

  it('without followWall, runUntil is advanceTo (speed 0 is unchanged)', async () => {
    const clock = new VirtualClock(0);
    const log: number[] = [];
    clock.setTimeout(() => log.push(clock.now()), 30);
    await clock.runUntil(100);
    expect(log).toEqual([30]);
    expect(clock.now()).toBe(100);
    expect(() => clock.followWall(0)).toThrow(expect.objectContaining({ code: 'E_REPLAY_SPEED' }));
  });

  it('a wake-up less than WAKE_SLACK_MS early counts as on time: one wake-up per limit, not two', async () => {
    // Node's timers fire up to a ms early (libuv's loop time is read once per turn, in whole ms):
    // this wall fires every timer 0.6 ms before it is due.
    const wallClock = new VirtualClock(0);
    const armed: number[] = [];
    const wall = {
      monotonicMs: () => wallClock.monotonicMs(),
      setTimeout: (fn: () => void, delayMs: number) => {
        armed.push(delayMs);
        return wallClock.setTimeout(fn, Math.max(0, delayMs - 0.6));
      },
    };
    const clock = new VirtualClock(1_000);
    clock.followWall(1, wall);
    const log: number[] = [];
    clock.setTimeout(() => log.push(clock.now()), 40);
    const until = clock.runUntil(1_100);
    await step(wallClock); // 39.4: the timer due at 40 fires now, the clock at its due time
    expect(await step(wallClock)).toBeCloseTo(99.4, 6); // the limit, 0.6 ms early
    await until;
    expect(log).toEqual([1_040]);
    expect(clock.now()).toBe(1_100);
    // Each wait is measured from wall time, so the clock running 0.6 ms ahead does not carry over.
    expect(armed).toEqual([40, expect.closeTo(60.6, 6)]);
    expect(WAKE_SLACK_MS).toBeGreaterThan(0.6);
  });
});
