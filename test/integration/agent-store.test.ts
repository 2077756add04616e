import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type MotionFilter, motionAgent } from '../../daemon/agents/motion.js';
import type { AgentDefinition, DomainEvent } from '../../daemon/agents/reducer.js';
import { AgentRuntime } from '../../daemon/agents/runtime.js';
import { AgentStore, type WorkingRecord } from '../../daemon/agents/store.js';
import { ToolRegistry } from '../../daemon/agents/tools.js';
import { Bus } from '../../daemon/bus/bus.js';
import type { Envelope } from '../../daemon/bus/envelope.js';
import type { ImuEvent, MotionEvent } from '../../daemon/bus/topics.js';
import { silentLogger } from '../../daemon/log.js';
import { openFixture } from '../../daemon/recording/reader.js';
import { ImuAggregator } from '../../daemon/sensors/imu/aggregator.js';
import type { Store } from '../../daemon/storage/store.js';
import { VirtualClock } from '../../daemon/util/virtual-clock.js';
import { asScratch } from '../helpers/scratch-bus.js';
import { REPO_ROOT } from '../helpers/tools.js';
import { until } from '../helpers/wait.js';

interface Counter {
  readonly total: number;
  readonly items: readonly string[];
}
type CounterEvent = { readonly type: 'added'; readonly n: number; readonly label: string };

/** A small agent: every message adds its number; the state keeps the last 5 labels. */
function counterAgent(id = 'counter'): AgentDefinition<Counter, CounterEvent> {
  return {
    id,
    capabilities: ['count'],
    subscriptions: [{ pattern: 'rpc/count/+', qos: 'batched', capacity: 64 }],
    initialState: { total: 0, items: [] },
    reduce: (s, e) => ({ total: s.total + e.n, items: [...s.items, e.label].slice(-5) }),
    decide: (_s, input) => {
      if (input.kind !== 'message') return { events: [], actions: [] };
      const n = input.env.payload as number;
      return { events: [{ type: 'added', n, label: `n${n}` }], actions: [] };
    },
  };
}

let dir: string;
let db: Store;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edgeloom-agents-'));
  db = new Level<string, unknown>(dir, { valueEncoding: 'json' });
  await db.open();
});

afterEach(async () => {
  await db.close();
  await rm(dir, { recursive: true, force: true });
});

function runtimeFor(store: AgentStore) {
  const clock = new VirtualClock(0);
  const logger = silentLogger();
  const bus = new Bus({ clock, logger });
  const tools = new ToolRegistry({ bus, clock, logger, defaultTimeoutMs: 1000 });
  return { bus, clock, runtime: new AgentRuntime({ bus, clock, logger, store, tools }) };
}

function msg(topic: string, payload: unknown, tsMs = 0): { kind: 'message'; env: Envelope } {
  return { kind: 'message', env: { topic, tsMs, payload } as Envelope };
}

describe('AgentStore on a real LevelDB', () => {
  it('appends in order, snapshots every N events, rebuilds from snapshot + tail, compacts', async () => {
    const store = new AgentStore({ db, snapshotEvery: 10, retentionEvents: 5 });
    const { runtime } = runtimeFor(store);
    const agent = runtime.create(counterAgent());
    await agent.start(new AbortController().signal);
    for (let i = 1; i <= 27; i++) await agent.submit(msg('rpc/count/a', i));
    expect(agent.seq()).toBe(27);
    expect(agent.state().total).toBe((27 * 28) / 2);

    const loaded = await store.load<Counter, CounterEvent>('counter');
    expect(loaded.snapshot?.seq).toBe(20);
    expect(loaded.snapshot?.state.total).toBe((20 * 21) / 2);
    expect(loaded.events.map((e) => e.n)).toEqual([21, 22, 23, 24, 25, 26, 27]);
    // Compaction at the snapshot of 20 keeps 16..20 before it and 21..27 after; one snapshot.
    expect(await store.counts('counter')).toEqual({ log: 12, snapshots: 1, firstLogSeq: 16 });
    await runtime.stop();

    // A new runtime on the same store continues from the rebuilt state.
    const again = runtimeFor(store).runtime.create(counterAgent());
    await again.start(new AbortController().signal);
    expect(again.state()).toEqual(agent.state());
    await again.submit(msg('rpc/count/a', 100));
    expect(again.seq()).toBe(28);
    await again.stop();
  });

  it('keeps agents apart and delete() removes only that agent’s log and snapshots', async () => {
    const store = new AgentStore({ db, snapshotEvery: 3, retentionEvents: 100 });
    const { runtime } = runtimeFor(store);
    const a = runtime.create(counterAgent('a'));
    const b = runtime.create(counterAgent('b'));
    await runtime.start(new AbortController().signal);
    for (let i = 1; i <= 7; i++) {
      await a.submit(msg('rpc/count/x', i));
      await b.submit(msg('rpc/count/x', 10 * i));
    }
    expect(runtime.find({ capability: 'count' }).map((x) => x.id)).toEqual(['a', 'b']);
    expect(runtime.find({ topic: 'rpc/count/zz' })).toHaveLength(2);
    expect(runtime.find({ topic: 'rpc/other' })).toHaveLength(0);
    await runtime.delete('a');
    expect(runtime.get('a')).toBeUndefined();
    expect(await store.counts('a')).toEqual({ log: 0, snapshots: 0, firstLogSeq: undefined });
    expect((await store.counts('b')).log).toBe(7);
    await runtime.stop();
  });

  it('delivers bus messages through the mailbox in order, one turn at a time', async () => {
    const store = new AgentStore({ db, snapshotEvery: 100, retentionEvents: 100 });
    const { runtime, bus } = runtimeFor(store);
    const agent = runtime.create(counterAgent());
    await runtime.start(new AbortController().signal);
    for (let i = 1; i <= 20; i++) await asScratch(bus).publish('rpc/count/a', i);
    await bus.drain(10_000);
    await agent.idle();
    expect(agent.state().items).toEqual(['n16', 'n17', 'n18', 'n19', 'n20']);
    expect(Object.isFrozen(agent.state())).toBe(true);
    await runtime.stop();
  });
});

async function imuWindows(): Promise<ImuEvent[]> {
  const fixture = await openFixture(`${REPO_ROOT}fixtures/imu`);
  const agg = new ImuAggregator({ eventRateHz: 50 });
  const out: ImuEvent[] = [];
  for await (const s of fixture.imuSamples()) {
    const w = agg.add(s);
    if (w) out.push(w);
  }
  return out;
}

describe('agent state survives a restart', () => {
  const motionOptions = {
    freeFallG: 0.3,
    impactG: 2.5,
    shakeDegS: 250,
    shakeAccelG: 1.2,
    tiltDeg: 45,
    stillMs: 2000,
    refractoryMs: 2000,
  };

  /**
   * Feed windows through a fresh runtime (the clock follows the windows' time). `stop: false`
   * leaves the agent as a crash would: no final working-memory write.
   */
  async function feed<S, E extends DomainEvent, W>(
    store: AgentStore,
    def: AgentDefinition<S, E, W>,
    windows: readonly ImuEvent[],
    { stop = true } = {},
  ) {
    const { runtime, bus, clock } = runtimeFor(store);
    const detections: MotionEvent[] = [];
    bus.subscribe('agent/+/motion', (env) => void detections.push(env.payload as MotionEvent), {
      component: 'test',
      qos: 'batched',
    });
    const agent = runtime.create(def);
    await agent.start(new AbortController().signal);
    for (const w of windows) {
      await clock.advanceTo(Math.max(clock.now(), w.tsMs));
      await agent.submit(msg('sensor/imu/main/window', w, w.tsMs));
    }
    await agent.idle();
    await bus.drain(5000);
    const out = { state: agent.state(), seq: agent.seq(), working: agent.working(), detections };
    if (stop) await runtime.stop();
    return out;
  }

  async function reopen(): Promise<AgentStore> {
    // Reopen the database itself, as a daemon restart would.
    await db.close();
    db = new Level<string, unknown>(dir, { valueEncoding: 'json' });
    await db.open();
    return new AgentStore({ db, snapshotEvery: 4, retentionEvents: 100 });
  }

  it('motion over fixtures/imu stopped halfway and resumed equals an uninterrupted run', async () => {
    const windows = await imuWindows();
    const half = Math.floor(windows.length / 2) + 7; // not on a snapshot boundary
    const first = await feed(
      new AgentStore({ db, snapshotEvery: 4, retentionEvents: 100 }),
      motionAgent({ ...motionOptions, id: 'm1' }),
      windows.slice(0, half),
    );
    const reopened = await reopen();
    const resumed = await feed(reopened, motionAgent({ ...motionOptions, id: 'm1' }), windows.slice(half));
    const straight = await feed(reopened, motionAgent({ ...motionOptions, id: 'm2' }), windows);

    // The same detections, at the same window times, with the same details.
    expect([...first.detections, ...resumed.detections]).toEqual(straight.detections);
    expect(resumed.seq).toBe(straight.seq);
    expect(resumed.state).toEqual(straight.state);
    expect(resumed.working).toEqual(straight.working);
    // The run detected things on both sides of the stop, so the comparison covers the detectors.
    expect(first.detections.map((d) => d.kind)).toEqual(expect.arrayContaining(['fall']));
    expect(resumed.detections.map((d) => d.kind)).toEqual(expect.arrayContaining(['shake', 'tilt']));
    // SD-card wear: one log entry per detection, none per window.
    expect(straight.seq).toBe(straight.detections.length);
    const counts = await reopened.counts('m2');
    expect(counts.log).toBe(straight.detections.length);
    expect(counts.log).toBeLessThan(windows.length / 50);
  });

  it('after a crash the detectors rebuild from the next windows: later detections are all found', async () => {
    const windows = await imuWindows();
    const half = Math.floor(windows.length / 2) + 7; // ~10.1 s: lying still after the fall
    const store = new AgentStore({ db, snapshotEvery: 4, retentionEvents: 100 });
    // A working snapshot only with detections (the interval is longer than the fixture).
    const def = () => motionAgent({ ...motionOptions, id: 'm1', workingSnapshotIntervalMs: 3_600_000 });
    await feed(store, def(), windows.slice(0, half), { stop: false });
    const reopened = await reopen();
    const loaded = await reopened.load<unknown, DomainEvent, MotionFilter>('m1');
    // The working memory on disk is the one written with the last detection, older than the crash.
    expect(loaded.working?.seq).toBe(loaded.lastSeq);
    expect(loaded.working!.state.lastTsMs).toBeLessThan(windows[half - 1]!.tsMs);
    const resumed = await feed(reopened, def(), windows.slice(half));
    const straight = await feed(reopened, motionAgent({ ...motionOptions, id: 'm2' }), windows);
    // Shake (13–15 s) and tilt (16–19 s) start well after the restart: found as without it.
    const later = (ds: MotionEvent[]) =>
      ds.filter((d) => d.tsMs >= 13_000 && ['fall', 'shake', 'tilt'].includes(d.kind));
    expect(later(straight.detections).length).toBeGreaterThanOrEqual(2);
    // Same kinds; times within a few windows (the rest reference's low-pass history differs).
    const got = later(resumed.detections);
    const want = later(straight.detections);
    expect(got.map((d) => d.kind)).toEqual(want.map((d) => d.kind));
    for (const [i, d] of got.entries()) expect(Math.abs(d.tsMs - want[i]!.tsMs)).toBeLessThanOrEqual(200);
  });

  it('writes the working memory at most every interval without detections, and on stop', async () => {
    const windows = await imuWindows();
    let writes = 0;
    class CountingStore extends AgentStore {
      override async saveWorking(agentId: string, working: WorkingRecord<unknown>): Promise<void> {
        writes++;
        await super.saveWorking(agentId, working);
      }
    }
    const store = new CountingStore({ db, snapshotEvery: 4, retentionEvents: 100 });
    const intervalMs = 5000;
    const r = await feed(
      store,
      motionAgent({ ...motionOptions, id: 'm1', workingSnapshotIntervalMs: intervalMs }),
      windows,
    );
    const spanMs = windows[windows.length - 1]!.tsMs - windows[0]!.tsMs;
    // At most one per interval, plus the one on stop (detections carry theirs in their batch).
    expect(writes).toBeGreaterThanOrEqual(1);
    expect(writes).toBeLessThanOrEqual(Math.ceil(spanMs / intervalMs) + 1);
    const loaded = await store.load('m1');
    expect(loaded.working?.state).toEqual(r.working);
  });
});

describe('Agent.stop drains its mailbox', () => {
  it('inputs queued when stop() is called are still handled and persisted', async () => {
    const store = new AgentStore({ db, snapshotEvery: 100, retentionEvents: 100 });
    const { runtime, bus } = runtimeFor(store);
    const agent = runtime.create(counterAgent());
    await runtime.start(new AbortController().signal);
    // Queued faster than the LevelDB appends complete: most are still in the mailbox at stop().
    for (let i = 1; i <= 30; i++) void asScratch(bus).publish('rpc/count/a', i);
    const queued = bus.stats().find((x) => x.component === 'agent.counter')!.queueDepth;
    expect(queued).toBeGreaterThan(10);
    await runtime.stop();
    expect(agent.state().total).toBe((30 * 31) / 2);
    expect(agent.counters.dropsAtStop).toBe(0);
    const loaded = await store.load<Counter, CounterEvent>('counter');
    expect(loaded.lastSeq).toBe(30);
  });

  it('gives up after stopDrainMs: the rest is dropped and running actions are aborted', async () => {
    const store = new AgentStore({ db, snapshotEvery: 100, retentionEvents: 100 });
    const clock = new VirtualClock(0);
    const logger = silentLogger();
    const bus = new Bus({ clock, logger });
    const tools = new ToolRegistry({ bus, clock, logger, defaultTimeoutMs: 60_000 });
    let aborted = 0;
    let started = 0;
    tools.register({
      name: 'wait',
      description: 'Waits until aborted.',
      parameters: { type: 'object' },
      execute: (_args, { signal }) =>
        new Promise((_, reject) => {
          started++;
          signal.addEventListener(
            'abort',
            () => {
              aborted++;
              reject(signal.reason);
            },
            { once: true },
          );
        }),
    });
    const runtime = new AgentRuntime({
      bus,
      clock,
      logger,
      store,
      tools,
      maxInFlightActions: 1,
      stopDrainMs: 200,
    });
    const base = counterAgent();
    const agent = runtime.create({
      ...base,
      decide: (s, input, ctx) => ({
        ...base.decide(s, input, ctx, undefined as never),
        actions: [{ kind: 'tool', tool: 'wait', args: {} }],
      }),
    });
    await runtime.start(new AbortController().signal);
    for (let i = 1; i <= 5; i++) void asScratch(bus).publish('rpc/count/a', i);
    await until('the first action to start', () => started === 1);
    // One input handled, its action hangs; the handler waits (action bound 1), the rest queue.
    expect(agent.state().total).toBe(1);
    const stopping = runtime.stop();
    let stopped = false;
    void stopping.then(() => {
      stopped = true;
    });
    // stop() arms its drain deadline on the virtual clock (the only timer before the tool's
    // 60 s timeout); until time reaches it, stop waits.
    const deadlineMs = await until('stop() to arm its drain deadline', () => {
      const due = clock.nextDueMs();
      return due !== undefined && due < 60_000 ? due : undefined;
    });
    expect(deadlineMs).toBe(200);
    expect(stopped).toBe(false);
    await clock.advanceTo(199);
    expect(stopped).toBe(false);
    await clock.advanceTo(200);
    await stopping;
    expect(aborted).toBeGreaterThanOrEqual(1);
    expect(agent.counters.dropsAtStop).toBeGreaterThan(0);
    expect(agent.state().total).toBeLessThan(15);
  });
});
