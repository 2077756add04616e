import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { motionAgent } from '../../daemon/agents/motion.js';
import type { AgentDefinition, DomainEvent } from '../../daemon/agents/reducer.js';
import { AgentRuntime } from '../../daemon/agents/runtime.js';
import { AgentStore, type SharedStore } from '../../daemon/agents/store.js';
import { ToolRegistry } from '../../daemon/agents/tools.js';
import { Bus } from '../../daemon/bus/bus.js';
import type { Envelope } from '../../daemon/bus/envelope.js';
import type { ImuEvent } from '../../daemon/bus/topics.js';
import { openFixture } from '../../daemon/fixtures/reader.js';
import { silentLogger } from '../../daemon/log.js';
import { ImuAggregator } from '../../daemon/sensors/imu-aggregator.js';
import { VirtualClock } from '../../daemon/util/virtual-clock.js';
import { REPO_ROOT } from '../helpers/tools.js';

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
let db: SharedStore;

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
    for (let i = 1; i <= 20; i++) await bus.publish('rpc/count/a', i);
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

  async function feed<S, E extends DomainEvent>(
    store: AgentStore,
    def: AgentDefinition<S, E>,
    windows: readonly ImuEvent[],
  ): Promise<{ state: S; seq: number }> {
    const { runtime } = runtimeFor(store);
    const agent = runtime.create(def);
    await agent.start(new AbortController().signal);
    for (const w of windows) await agent.submit(msg('sensor/imu/main/sample', w, w.tsMs));
    const out = { state: agent.state(), seq: agent.seq() };
    await runtime.stop();
    return out;
  }

  it('motion over fixtures/imu: half, stop, reopen, rest == one uninterrupted run', async () => {
    const windows = await imuWindows();
    const half = Math.floor(windows.length / 2) + 7; // not on a snapshot boundary
    const interrupted = new AgentStore({ db, snapshotEvery: 64, retentionEvents: 100 });
    await feed(interrupted, motionAgent({ ...motionOptions, id: 'm1' }), windows.slice(0, half));

    // Reopen the database itself, as a daemon restart would.
    await db.close();
    db = new Level<string, unknown>(dir, { valueEncoding: 'json' });
    await db.open();
    const reopened = new AgentStore({ db, snapshotEvery: 64, retentionEvents: 100 });
    const resumed = await feed(reopened, motionAgent({ ...motionOptions, id: 'm1' }), windows.slice(half));

    const straight = await feed(reopened, motionAgent({ ...motionOptions, id: 'm2' }), windows);
    expect(resumed.seq).toBe(straight.seq);
    expect(resumed.state).toEqual(straight.state);
    // The run detected things, so the comparison covers more than the filters.
    expect(Object.keys((straight.state as { counts: object }).counts)).toEqual(
      expect.arrayContaining(['fall', 'shake', 'tilt']),
    );
  });
});
