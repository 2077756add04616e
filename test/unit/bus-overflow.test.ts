import { describe, expect, it } from 'vitest';
import type { Envelope } from '../../daemon/bus/envelope.js';
import { isEdgeloomError } from '../../daemon/errors.js';
import { silentLogger } from '../../daemon/log.js';
import { VirtualClock } from '../../daemon/util/virtual-clock.js';
import { type ScratchBus, scratchBus } from '../helpers/scratch-bus.js';

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

function makeBus(clock = new VirtualClock(1_000_000), maxParkedPublishes?: number): ScratchBus {
  return scratchBus({
    clock,
    logger: silentLogger(),
    ...(maxParkedPublishes === undefined ? {} : { maxParkedPublishes }),
  });
}

/** A handler that records payloads and can be held (left pending) until released. */
function gate<T>() {
  const seen: T[] = [];
  let release: (() => void) | undefined;
  let held = true;
  const handler = (env: Envelope<unknown>): Promise<void> | undefined => {
    seen.push(env.payload as T);
    if (!held) return undefined;
    return new Promise<void>((r) => {
      release = r;
    });
  };
  return {
    seen,
    handler,
    open(): void {
      held = false;
      release?.();
    },
  };
}

describe('overflow policies', () => {
  it('realtime drop-oldest keeps the newest N and never blocks', async () => {
    const bus = makeBus();
    const g = gate<number>();
    const sub = bus.subscribe('rpc/x', g.handler, { component: 't', qos: 'realtime', queueCapacity: 4 });
    bus.publish('rpc/x', 0);
    await flush(); // 0 is now running and held
    for (let i = 1; i <= 10; i++) expect(bus.publish('rpc/x', i)).toBeUndefined();
    const s = sub.stats();
    expect(s.queueDepth).toBe(4);
    expect(s.maxQueueDepth).toBe(4);
    expect(s.dropped.queue_full).toBe(6);
    g.open();
    await bus.drain(1000);
    expect(g.seen).toEqual([0, 7, 8, 9, 10]);
    expect(sub.stats()).toMatchObject({ published: 11, delivered: 5 });
  });

  it('background drop-newest keeps the first N', async () => {
    const bus = makeBus();
    const g = gate<number>();
    const sub = bus.subscribe('rpc/x', g.handler, { component: 't', qos: 'background', queueCapacity: 3 });
    bus.publish('rpc/x', 0);
    await flush();
    for (let i = 1; i <= 6; i++) expect(bus.publish('rpc/x', i)).toBeUndefined();
    expect(sub.stats().dropped.queue_full).toBe(3);
    g.open();
    await bus.drain(1000);
    expect(g.seen).toEqual([0, 1, 2, 3]);
  });

  it('batched block: publish returns an awaitable promise when full, parking is bounded', async () => {
    const bus = makeBus(undefined, 2);
    const g = gate<number>();
    const sub = bus.subscribe('rpc/x', g.handler, { component: 't', qos: 'batched', queueCapacity: 2 });
    bus.publish('rpc/x', 0);
    await flush(); // 0 running
    expect(bus.publish('rpc/x', 1)).toBeUndefined();
    expect(bus.publish('rpc/x', 2)).toBeUndefined();
    const p3 = bus.publish('rpc/x', 3);
    const p4 = bus.publish('rpc/x', 4);
    expect(p3).toBeInstanceOf(Promise);
    expect(p4).toBeInstanceOf(Promise);
    let refused: unknown;
    try {
      bus.publish('rpc/x', 5);
    } catch (err) {
      refused = err;
    }
    expect(isEdgeloomError(refused, 'E_BUS_BACKPRESSURE')).toBe(true);
    let p3Done = false;
    void p3!.then(() => {
      p3Done = true;
    });
    await flush();
    expect(p3Done).toBe(false); // still no room
    g.open();
    await Promise.all([p3, p4]);
    await bus.drain(1000);
    expect(g.seen).toEqual([0, 1, 2, 3, 4]);
    expect(sub.stats()).toMatchObject({ published: 5, delivered: 5, failed: 0 });
    // The refused publish is counted on the subscription that refused it, and nothing else dropped.
    const { refused: refusedCount, ...rest } = sub.stats().dropped;
    expect(refusedCount).toBe(1);
    expect(Object.values(rest).reduce((a, b) => a + b)).toBe(0);
  });

  it('a refused publish reaches no subscriber at all', async () => {
    const bus = makeBus(undefined, 1);
    const g = gate<number>();
    const other: number[] = [];
    const slow = bus.subscribe('rpc/x', g.handler, { component: 'slow', queueCapacity: 1 });
    const fast = bus.subscribe('rpc/x', (env) => void other.push(env.payload as number), {
      component: 'fast',
      qos: 'realtime',
    });
    bus.publish('rpc/x', 0);
    await flush();
    bus.publish('rpc/x', 1); // queued
    void bus.publish('rpc/x', 2); // parked
    expect(() => bus.publish('rpc/x', 3)).toThrow(/parked/);
    expect(() => bus.publish('rpc/x', 4)).toThrow(/parked/);
    await flush();
    expect(other).toEqual([0, 1, 2]);
    // Counted where the refusal came from: the full subscription, not the one that had room;
    // and not in the topic's published count (the event was never accepted).
    expect(slow.stats().dropped.refused).toBe(2);
    expect(fast.stats().dropped.refused).toBe(0);
    expect(fast.stats().published).toBe(3);
    expect(new Map(bus.topicCounts().entries()).get('rpc/x')).toBe(3);
    g.open();
    await bus.drain(1000);
  });

  it('sample by rate uses the bus clock (token bucket, no bursts)', async () => {
    const clock = new VirtualClock(0);
    const bus = makeBus(clock);
    const seen: number[] = [];
    const sub = bus.subscribe('rpc/imu', (env) => void seen.push(env.payload as number), {
      component: 't',
      qos: 'realtime',
      overflow: { kind: 'sample', maxPerSecond: 10 },
    });
    // 100 events/s for 2 s → 20 admitted, one every 100 ms.
    for (let i = 0; i < 200; i++) {
      await clock.advanceTo(i * 10);
      bus.publish('rpc/imu', i);
    }
    await flush();
    expect(seen).toEqual(Array.from({ length: 20 }, (_, k) => k * 10));
    expect(sub.stats().dropped.sampled).toBe(180);
  });

  it('sample everyNth admits the 1st, (n+1)th, ...', async () => {
    const bus = makeBus();
    const seen: number[] = [];
    bus.subscribe('rpc/x', (env) => void seen.push(env.payload as number), {
      component: 't',
      qos: 'background',
      overflow: { kind: 'sample', everyNth: 3 },
    });
    for (let i = 0; i < 10; i++) bus.publish('rpc/x', i);
    await flush();
    expect(seen).toEqual([0, 3, 6, 9]);
  });

  it('aggregate keeps the latest per key while the handler is busy', async () => {
    const bus = makeBus();
    const g = gate<{ k: string; v: number }>();
    const sub = bus.subscribe('rpc/agg', g.handler, {
      component: 't',
      qos: 'realtime',
      overflow: { kind: 'aggregate', key: (env) => (env.payload as { k: string }).k },
    });
    bus.publish('rpc/agg', { k: 'a', v: 0 });
    await flush();
    for (let v = 1; v <= 5; v++) {
      bus.publish('rpc/agg', { k: 'a', v });
      bus.publish('rpc/agg', { k: 'b', v });
    }
    expect(sub.stats().queueDepth).toBe(2);
    expect(sub.stats().dropped.aggregated).toBe(8);
    g.open();
    await bus.drain(1000);
    expect(g.seen).toEqual([
      { k: 'a', v: 0 },
      { k: 'a', v: 5 },
      { k: 'b', v: 5 },
    ]);
  });

  it('aggregate with fold combines pending events of a key', async () => {
    const bus = makeBus();
    const g = gate<number>();
    bus.subscribe('rpc/+', g.handler, {
      component: 't',
      qos: 'background',
      overflow: {
        kind: 'aggregate',
        fold: (acc, next) => ({ ...next, payload: (acc.payload as number) + (next.payload as number) }),
      },
    });
    bus.publish('rpc/a', 100);
    await flush();
    for (let i = 1; i <= 4; i++) {
      bus.publish('rpc/a', i);
      bus.publish('rpc/b', 10 * i);
    }
    g.open();
    await bus.drain(1000);
    expect(g.seen).toEqual([100, 10, 100]);
  });

  it('rejects inconsistent options with E_BUS_INVALID_OPTIONS', () => {
    const bus = makeBus();
    const h = (): undefined => undefined;
    const bad = [
      { component: 't', qos: 'realtime' as const, overflow: { kind: 'block' as const } },
      { component: 't', queueCapacity: 0 },
      { component: 't', concurrency: 1.5 },
      { component: 't', overflow: { kind: 'sample' as const } },
    ];
    for (const o of bad) {
      expect(() => bus.subscribe('rpc/x', h, o)).toThrow(
        expect.objectContaining({ code: 'E_BUS_INVALID_OPTIONS' }),
      );
    }
  });
});
