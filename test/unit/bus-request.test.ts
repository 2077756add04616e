import { describe, expect, it } from 'vitest';
import { Bus } from '../../daemon/bus/bus.js';
import { publishLifecycle } from '../../daemon/bus/lifecycle.js';
import type { Rpc } from '../../daemon/bus/rpc.js';
import type { LifecycleEvent } from '../../daemon/bus/topics.js';
import { EdgeloomError, isEdgeloomError } from '../../daemon/errors.js';
import { silentLogger } from '../../daemon/log.js';
import { VirtualClock } from '../../daemon/util/virtual-clock.js';
import type { ScratchTopics } from '../helpers/scratch-bus.js';

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Two typed RPCs, and scratch ones (`rpc/x`, `rpc/slow`) for the mechanics. */
interface TestRpcs {
  readonly 'rpc/double': Rpc<{ n: number }, number>;
  readonly 'rpc/echo': Rpc<string, string>;
  readonly [topic: string]: Rpc<unknown, unknown>;
}

function setup(maxPendingRequests?: number): { bus: Bus<ScratchTopics, TestRpcs>; clock: VirtualClock } {
  const clock = new VirtualClock(1_000_000);
  const bus = new Bus<ScratchTopics, TestRpcs>({
    clock,
    logger: silentLogger(),
    ...(maxPendingRequests === undefined ? {} : { maxPendingRequests }),
  });
  return { bus, clock };
}

async function codeOf(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (err) {
    return isEdgeloomError(err) ? err.code : `not-edgeloom: ${String(err)}`;
  }
  return undefined;
}

describe('request/response', () => {
  it('answers with the responder return value, sync or async, matched by correlation id', async () => {
    const { bus } = setup();
    bus.respond('rpc/double', (req) => req.payload.n * 2, { component: 'doubler' });
    bus.respond('rpc/echo', async (req) => `echo:${req.payload}`, { component: 'echo' });
    const answers = await Promise.all([
      bus.request('rpc/double', { n: 21 }),
      bus.request('rpc/double', { n: 5 }),
      bus.request('rpc/echo', 'hi'),
    ]);
    expect(answers).toEqual([42, 10, 'echo:hi']);
  });

  it('times out on the bus clock when nobody answers', async () => {
    const { bus, clock } = setup();
    const p = bus.request('rpc/nobody', 1, { timeoutMs: 250 });
    const code = codeOf(p);
    await clock.advanceTo(1_000_249);
    let settled = false;
    void code.then(() => {
      settled = true;
    });
    await flush();
    expect(settled).toBe(false);
    await clock.advanceTo(1_000_250);
    expect(await code).toBe('E_BUS_TIMEOUT');
  });

  it("propagates a responder's error as an EdgeloomError", async () => {
    const { bus } = setup();
    bus.respond(
      'rpc/coded',
      () => {
        throw new EdgeloomError('E_TOOL_REFUSED', 'not allowed');
      },
      { component: 'tools' },
    );
    bus.respond('rpc/plain', () => Promise.reject(new TypeError('bad')), { component: 'tools' });
    expect(await codeOf(bus.request('rpc/coded', 1))).toBe('E_TOOL_REFUSED');
    let err: unknown;
    try {
      await bus.request('rpc/plain', 1);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(EdgeloomError);
    expect(err).toMatchObject({ code: 'E_BUS_RESPONDER_FAILED', message: 'bad' });
  });

  it('aborts via signal, before or during the wait', async () => {
    const { bus } = setup();
    const ac = new AbortController();
    const p = bus.request('rpc/slow', 1, { signal: ac.signal });
    ac.abort();
    expect(await codeOf(p)).toBe('E_BUS_ABORTED');
    expect(() => bus.request('rpc/slow', 1, { signal: ac.signal })).toThrow(
      expect.objectContaining({ code: 'E_BUS_ABORTED' }),
    );
  });

  it("cancels the responder's signal when the requester gives up (abort or timeout)", async () => {
    const { bus, clock } = setup();
    const seen: AbortSignal[] = [];
    bus.respond(
      'rpc/slow',
      (_req, signal) => {
        seen.push(signal);
        // Answers only when cancelled, as a cloud call does.
        return new Promise((_resolve, reject) =>
          signal.addEventListener('abort', () => reject(signal.reason), { once: true }),
        );
      },
      { component: 'slow', concurrency: 2 },
    );
    const ac = new AbortController();
    const aborted = codeOf(bus.request('rpc/slow', 1, { signal: ac.signal }));
    const timedOut = codeOf(bus.request('rpc/slow', 2, { timeoutMs: 100 }));
    while (seen.length < 2) await flush();
    expect(seen.map((s) => s.aborted)).toEqual([false, false]);
    ac.abort();
    expect(await aborted).toBe('E_BUS_ABORTED');
    expect(seen.map((s) => s.aborted)).toEqual([true, false]);
    await clock.advanceTo(1_000_100);
    expect(await timedOut).toBe('E_BUS_TIMEOUT');
    expect(seen[1]!.aborted).toBe(true);
  });

  it("numbers events apart from requests: an RPC does not shift the next event's id", async () => {
    const { bus } = setup();
    const ids: string[] = [];
    bus.respond(
      'rpc/n',
      (req) => {
        ids.push(req.id);
        return req.payload;
      },
      { component: 'n' },
    );
    bus.subscribe('rpc/event/+', (env) => void ids.push(env.id), { component: 'x' });
    await bus.publish('rpc/event/a', 1);
    await bus.request('rpc/n', 1);
    await bus.publish('rpc/event/b', 2);
    await bus.drain(1000);
    expect(ids[0]).toBe('1');
    expect(ids[1]).toMatch(/^req-/);
    expect(ids[2]).toBe('2');
  });

  it('bounds pending requests', async () => {
    const { bus } = setup(2);
    const a = codeOf(bus.request('rpc/x', 1));
    const b = codeOf(bus.request('rpc/x', 2));
    expect(() => bus.request('rpc/x', 3)).toThrow(expect.objectContaining({ code: 'E_BUS_BACKPRESSURE' }));
    await bus.close(10);
    expect(await a).toBe('E_BUS_CLOSED');
    expect(await b).toBe('E_BUS_CLOSED');
  });
});

describe('drain and close', () => {
  it('drain waits for queued and running handlers, and times out on the bus clock', async () => {
    const { bus, clock } = setup();
    let release!: () => void;
    const done: number[] = [];
    bus.subscribe(
      'rpc/x',
      async (env) => {
        if (env.payload === 0) await new Promise<void>((r) => (release = r));
        done.push(env.payload as number);
      },
      { component: 't' },
    );
    bus.publish('rpc/x', 0);
    bus.publish('rpc/x', 1);
    const timedOut = codeOf(bus.drain(100));
    await clock.advanceTo(1_000_100);
    expect(await timedOut).toBe('E_BUS_DRAIN_TIMEOUT');
    const drained = bus.drain(100);
    release();
    await drained;
    expect(done).toEqual([0, 1]);
  });

  it('close refuses new publishes, drains what is queued, and drops what is left at the deadline', async () => {
    const { bus, clock } = setup();
    const seen: number[] = [];
    let signal: AbortSignal | undefined;
    const sub = bus.subscribe(
      'rpc/x',
      (env, s) => {
        seen.push(env.payload as number);
        if (env.payload === 1) {
          signal = s;
          return new Promise<void>(() => undefined); // never finishes
        }
        return undefined;
      },
      { component: 't' },
    );
    bus.publish('rpc/x', 0);
    bus.publish('rpc/x', 1);
    bus.publish('rpc/x', 2);
    const closed = bus.close(50);
    expect(() => bus.publish('rpc/x', 3)).toThrow(expect.objectContaining({ code: 'E_BUS_CLOSED' }));
    await flush();
    await clock.advanceTo(1_000_050);
    await closed;
    expect(seen).toEqual([0, 1]);
    expect(signal!.aborted).toBe(true);
    expect(sub.stats().dropped.unsubscribed).toBe(1);
    expect(bus.close()).toBe(closed);
  });

  it('unsubscribe drops queued events, or drains them when asked', async () => {
    const { bus } = setup();
    const seen: string[] = [];
    const a = bus.subscribe('rpc/x', (env) => void seen.push(`a${String(env.payload)}`), { component: 'a' });
    const b = bus.subscribe('rpc/x', (env) => void seen.push(`b${String(env.payload)}`), { component: 'b' });
    bus.publish('rpc/x', 1);
    bus.publish('rpc/x', 2);
    await a.unsubscribe();
    await b.unsubscribe({ drain: true });
    bus.publish('rpc/x', 3);
    await flush();
    expect(seen).toEqual(['b1', 'b2']);
    expect(a.stats().dropped.unsubscribed).toBe(2);
    expect(bus.stats()).toEqual([]);
  });
});

describe('publishLifecycle', () => {
  it('publishes system/lifecycle with a reduced error, and is silent after close', async () => {
    const bus = new Bus({ clock: new VirtualClock(1_000_000), logger: silentLogger() });
    const seen: LifecycleEvent[] = [];
    bus.subscribe('system/lifecycle', (env) => void seen.push(env.payload), { component: 't' });
    publishLifecycle(bus, 'system_started');
    publishLifecycle(
      bus,
      'component_failed',
      'sensor.camera',
      new EdgeloomError('E_CAMERA_CONFIG', 'no ffmpeg'),
    );
    publishLifecycle(bus, 'component_failed', 'sensor.imu', new Error('port gone'));
    await bus.close(100);
    expect(publishLifecycle(bus, 'system_stopping')).toBeUndefined();
    expect(seen).toEqual([
      { kind: 'system_started' },
      {
        kind: 'component_failed',
        component: 'sensor.camera',
        error: { code: 'E_CAMERA_CONFIG', message: 'no ffmpeg' },
      },
      {
        kind: 'component_failed',
        component: 'sensor.imu',
        error: { code: 'E_COMPONENT_FAILED', message: 'port gone' },
      },
    ]);
  });
});
