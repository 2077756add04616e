import { describe, expect, it } from 'vitest';
import { type Envelope, Priority } from '../../daemon/bus/envelope.js';
import type { ErrorEvent } from '../../daemon/bus/topics.js';
import { EdgeloomError } from '../../daemon/errors.js';
import { silentLogger } from '../../daemon/log.js';
import { VirtualClock } from '../../daemon/util/virtual-clock.js';
import { type ScratchBus, scratchBus } from '../helpers/scratch-bus.js';

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));
const makeBus = (): ScratchBus => scratchBus({ clock: new VirtualClock(1_000_000), logger: silentLogger() });

describe('delivery', () => {
  it('is asynchronous, in order, with envelope metadata filled in', async () => {
    const bus = makeBus();
    const seen: Envelope[] = [];
    bus.subscribe('rpc/+', (env) => void seen.push(env), { component: 't' });
    bus.publish('rpc/a', 1, { source: 'src', tags: ['x'], confidence: 0.5 });
    bus.publish('rpc/b', 2);
    expect(seen).toHaveLength(0); // never inside publish
    await flush();
    expect(seen.map((e) => e.payload)).toEqual([1, 2]);
    expect(seen[0]).toMatchObject({
      topic: 'rpc/a',
      source: 'src',
      tags: ['x'],
      confidence: 0.5,
      tsMs: 1_000_000,
    });
    expect(Number(seen[1]!.id)).toBeGreaterThan(Number(seen[0]!.id));
  });

  it('runs up to `concurrency` async handlers at once', async () => {
    const bus = makeBus();
    let running = 0;
    let peak = 0;
    const releases: (() => void)[] = [];
    bus.subscribe(
      'rpc/x',
      async () => {
        running++;
        peak = Math.max(peak, running);
        await new Promise<void>((r) => releases.push(r));
        running--;
      },
      { component: 't', concurrency: 3 },
    );
    for (let i = 0; i < 10; i++) bus.publish('rpc/x', i);
    await flush();
    expect(running).toBe(3);
    while (releases.length > 0) {
      releases.shift()!();
      await flush();
    }
    await bus.drain(1000);
    expect(peak).toBe(3);
    expect(bus.stats()[0]!.delivered).toBe(10);
  });

  it('delivers a critical event before queued normal ones', async () => {
    const bus = makeBus();
    const seen: string[] = [];
    let release!: () => void;
    bus.subscribe(
      'rpc/x',
      (env) => {
        seen.push(env.payload as string);
        if (env.payload === 'first') return new Promise<void>((r) => (release = r));
        return undefined;
      },
      { component: 't' },
    );
    bus.publish('rpc/x', 'first');
    await flush();
    bus.publish('rpc/x', 'n1');
    bus.publish('rpc/x', 'low', { priority: Priority.low });
    bus.publish('rpc/x', 'n2');
    bus.publish('rpc/x', 'crit', { priority: Priority.critical });
    bus.publish('rpc/x', 'high', { priority: Priority.high });
    release();
    await bus.drain(1000);
    expect(seen).toEqual(['first', 'crit', 'high', 'n1', 'n2', 'low']);
  });

  it("a critical event aborts a running interruptible handler's signal", async () => {
    const bus = makeBus();
    const signals: AbortSignal[] = [];
    const outcome: string[] = [];
    const sub = bus.subscribe(
      'rpc/utterance',
      (env, signal) => {
        signals.push(signal);
        if (env.priority === Priority.critical) return undefined;
        return new Promise<void>((_resolve, reject) => {
          signal.addEventListener('abort', () => {
            outcome.push(`aborted:${String((signal.reason as EdgeloomError).code)}`);
            reject(signal.reason);
          });
        });
      },
      { component: 'agent', interruptible: true },
    );
    const errors: unknown[] = [];
    bus.subscribe('system/error', (env) => void errors.push(env.payload), { component: 'watch' });
    bus.publish('rpc/utterance', 'slow cloud call');
    await flush();
    bus.publish('rpc/utterance', 'new utterance', { priority: Priority.critical });
    await bus.drain(1000);
    expect(outcome).toEqual(['aborted:E_BUS_INTERRUPTED']);
    expect(signals).toHaveLength(2);
    expect(signals[0]!.aborted).toBe(true);
    expect(signals[1]!.aborted).toBe(false); // the next handler gets a fresh signal
    const s = sub.stats();
    expect(s.interrupts).toBe(1);
    expect(s.dropped.interrupted).toBe(1);
    expect(s.failed).toBe(0);
    expect(errors).toEqual([]);
  });

  it('does not interrupt a subscription that did not ask for it', async () => {
    const bus = makeBus();
    let signal: AbortSignal | undefined;
    let release!: () => void;
    const sub = bus.subscribe(
      'rpc/x',
      (env, s) => {
        if (env.payload === 0) {
          signal = s;
          return new Promise<void>((r) => (release = r));
        }
        return undefined;
      },
      { component: 't' },
    );
    bus.publish('rpc/x', 0);
    await flush();
    bus.publish('rpc/x', 1, { priority: Priority.critical });
    await flush();
    expect(signal!.aborted).toBe(false);
    release();
    await bus.drain(1000);
    expect(sub.stats().interrupts).toBe(0);
  });
});

describe('stats', () => {
  it('times handlers on the bus clock and refuses bad priorities without wedging the queue', async () => {
    /** A clock whose monotonic time moves 5 ms per read, so handler timing is visible and exact. */
    class SteppingClock extends VirtualClock {
      private t = 0;
      override monotonicMs(): number {
        this.t += 5;
        return this.t;
      }
    }
    const bus = scratchBus({ clock: new SteppingClock(0), logger: silentLogger() });
    const sub = bus.subscribe('rpc/x', () => undefined, { component: 't' });
    expect(() => bus.publish('rpc/x', 0, { priority: 1.5 as Priority })).toThrow(
      expect.objectContaining({ code: 'E_BUS_INVALID_PRIORITY' }),
    );
    bus.publish('rpc/x', 1);
    bus.publish('rpc/x', 2);
    await bus.drain(1000);
    const s = sub.stats();
    // One drain batch of two sync handlers: two clock reads, 5 ms apart.
    expect(s).toMatchObject({ published: 2, delivered: 2, failed: 0, queueDepth: 0, maxQueueDepth: 2 });
    expect(s.handlerMsTotal).toBe(5);
    expect(s.handlerMsMax).toBe(5);
  });
});

describe('fault isolation', () => {
  it('throwing and rejecting handlers are counted and reported; others get every event', async () => {
    const bus = makeBus();
    const good: number[] = [];
    const errors: ErrorEvent[] = [];
    const thrower = bus.subscribe(
      'rpc/+',
      () => {
        throw new EdgeloomError('E_TOOL_FAILED', 'boom');
      },
      { component: 'thrower' },
    );
    const rejecter = bus.subscribe('rpc/+', () => Promise.reject(new Error('nope')), {
      component: 'rejecter',
    });
    bus.subscribe('rpc/+', (env) => void good.push(env.payload as number), { component: 'good' });
    bus.subscribe('system/error', (env) => void errors.push(env.payload as ErrorEvent), {
      component: 'watch',
    });
    for (let i = 0; i < 5; i++) bus.publish('rpc/a', i);
    await bus.drain(1000);
    expect(good).toEqual([0, 1, 2, 3, 4]);
    expect(thrower.stats()).toMatchObject({ published: 5, delivered: 5, failed: 5 });
    expect(rejecter.stats()).toMatchObject({ published: 5, delivered: 5, failed: 5 });
    expect(errors).toHaveLength(10);
    expect(errors).toContainEqual({
      severity: 'error',
      component: 'thrower',
      code: 'E_TOOL_FAILED',
      message: 'boom',
      topic: 'rpc/a',
    });
    expect(errors).toContainEqual({
      severity: 'error',
      component: 'rejecter',
      code: 'E_BUS_HANDLER_FAILED',
      message: 'nope',
      topic: 'rpc/a',
    });
  });

  it('a failing system/error subscriber does not cause an error storm', async () => {
    const bus = makeBus();
    const errSub = bus.subscribe(
      'system/error',
      () => {
        throw new Error('cannot even handle errors');
      },
      { component: 'bad-watcher' },
    );
    const all = bus.subscribe(
      '#',
      () => {
        throw new Error('fails on everything');
      },
      { component: 'bad-wildcard' },
    );
    bus.publish('rpc/a', 1);
    await bus.drain(1000);
    await flush();
    await bus.drain(1000);
    // rpc/a fails once → one system/error, which both fail on, and those are not republished.
    expect(all.stats()).toMatchObject({ published: 2, failed: 2 });
    expect(errSub.stats()).toMatchObject({ published: 1, failed: 1 });
  });
});
