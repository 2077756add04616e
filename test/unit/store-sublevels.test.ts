/**
 * Every owner of a sublevel of the shared LevelDB opens it once and closes it on stop. abstract-level
 * keeps each opened sublevel in its parent's resource set until it is closed, so a sublevel opened
 * per call (as AgentStore once did for every load/append/saveWorking/compact) grows the store by
 * one object per saved event for as long as the daemon runs. The count comes from
 * daemon/storage/open-resources.ts, the same one /metrics exports as edgeloom_store_open_sublevels.
 * Real LevelDB on disk; the agents are the daemon's own (emotion display, motion) fed real inputs.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Outbox } from '../../daemon/actions/outbox.js';
import type { AgentDefinition } from '../../daemon/agents/reducer.js';
import { AgentRuntime } from '../../daemon/agents/runtime.js';
import { AgentStore } from '../../daemon/agents/store.js';
import { ToolRegistry } from '../../daemon/agents/tools.js';
import { Bus } from '../../daemon/bus/bus.js';
import type { Envelope } from '../../daemon/bus/envelope.js';
import { loadConfig } from '../../daemon/config/index.js';
import { silentLogger } from '../../daemon/log.js';
import { RouterStage } from '../../daemon/router/router.js';
import { openResources, trackOpenResources } from '../../daemon/storage/open-resources.js';
import { clearSublevel, countSublevel, SUBLEVEL } from '../../daemon/storage/sublevels.js';
import { VirtualClock } from '../../daemon/util/virtual-clock.js';

type Counter = { readonly total: number };
type Added = { readonly type: 'added'; readonly n: number };

/** Every message is one event; working memory changes on every input too (saveWorking path). */
function counterAgent(id: string): AgentDefinition<Counter, Added, { last: number }> {
  return {
    id,
    capabilities: [],
    subscriptions: [{ pattern: `rpc/${id}/+`, qos: 'batched', capacity: 64 }],
    initialState: { total: 0 },
    working: { initial: { last: 0 }, snapshotIntervalMs: 0 },
    reduce: (s, e) => ({ total: s.total + e.n }),
    decide: (_s, input) => {
      if (input.kind !== 'message') return { events: [], actions: [] };
      const n = input.env.payload as number;
      // Odd inputs: an event (append, and compaction at each snapshot); even: working memory only.
      return n % 2 === 1
        ? { events: [{ type: 'added', n }], actions: [], working: { last: n } }
        : { events: [], actions: [], working: { last: n } };
    },
  };
}

const msg = (topic: string, payload: number) => ({
  kind: 'message' as const,
  env: { topic, tsMs: 0, payload } as Envelope,
});

let dir: string;
let db: Level<string, unknown>;
const open = (): number => openResources(db)!.openSublevels;
const created = (): number => openResources(db)!.createdSublevels;

beforeEach(async () => {
  dir = mkdtempSync(join(tmpdir(), 'edgeloom-sublevels-'));
  db = new Level<string, unknown>(dir, { valueEncoding: 'json' });
  trackOpenResources(db);
  await db.open();
});

afterEach(async () => {
  await db.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('sublevels of the shared store are opened once per owner', () => {
  it('the tracker sees a sublevel opened per call and closed again', async () => {
    const sub = db.sublevel('x');
    await sub.put('k', '1');
    expect(open()).toBe(1);
    await sub.sublevel('y').put('k', '2');
    expect(open()).toBe(2);
    await sub.close(); // closing a parent closes its children
    expect(open()).toBe(0);
    expect(created()).toBe(2);
  });

  it('agents: a long run of appends, snapshots, compactions and working-memory writes keeps one sublevel per agent', async () => {
    const store = new AgentStore({ db, snapshotEvery: 5, retentionEvents: 3 });
    const clock = new VirtualClock(0);
    const logger = silentLogger();
    const bus = new Bus({ clock, logger });
    const runtime = new AgentRuntime({
      bus,
      clock,
      logger,
      store,
      tools: new ToolRegistry({ bus, clock, logger, defaultTimeoutMs: 1000 }),
    });
    const agents = ['a', 'b', 'c'].map((id) => runtime.create(counterAgent(id)));
    await runtime.start(new AbortController().signal);
    const afterStart = open();
    // 'agents' plus one per agent.
    expect(afterStart).toBe(1 + agents.length);
    for (let i = 1; i <= 400; i++) {
      for (const a of agents) await a.submit(msg(`rpc/${a.id}/x`, i));
    }
    expect(agents[0]!.seq()).toBe(200);
    expect(await store.counts('a')).toMatchObject({ snapshots: 1 });
    // The old store opened a sublevel per load/append/saveWorking/compact: ~1,400 here.
    expect(open()).toBe(afterStart);
    expect(created()).toBe(afterStart);

    await runtime.delete('b');
    expect(open()).toBe(afterStart - 1);
    await runtime.stop();
    expect(open()).toBe(0);

    // Restart on the same store: reopened lazily, state intact.
    const again = new AgentRuntime({
      bus,
      clock,
      logger,
      store,
      tools: new ToolRegistry({ bus, clock, logger, defaultTimeoutMs: 1000 }),
    });
    const a2 = again.create(counterAgent('a'));
    await again.start(new AbortController().signal);
    expect(a2.state()).toEqual(agents[0]!.state());
    expect(open()).toBe(2);
    await again.stop();
    expect(open()).toBe(0);
    await bus.close();
  });

  it('router: the audit and cost sublevels are closed on stop, each start/stop cycle leaves nothing', async () => {
    const clock = new VirtualClock(0);
    const logger = silentLogger();
    const bus = new Bus({ clock, logger });
    const config = loadConfig({ env: {}, overrides: { cloud: { enabled: false } } });
    const router = new RouterStage({
      bus,
      clock,
      logger,
      config: { router: config.router, cloud: config.cloud, sensors: config.sensors },
      storage: db,
    });
    for (let cycle = 0; cycle < 3; cycle++) {
      await router.start(new AbortController().signal);
      expect(open()).toBeGreaterThan(0);
      await router.stop();
      expect(open(), `after stop ${cycle + 1}`).toBe(0);
    }
    await bus.close();
  });

  it('outbox: close() releases its sublevel', async () => {
    const outbox = new Outbox({
      store: db,
      clock: new VirtualClock(0),
      logger: silentLogger(),
      maxMessages: 10,
      policy: 'refuse',
    });
    await outbox.open();
    await outbox.add('t', '1', false).persisted;
    expect(open()).toBe(1);
    await outbox.close();
    expect(open()).toBe(0);
  });

  it('forget: counting and clearing a sublevel close it afterwards', async () => {
    const setup = db.sublevel(SUBLEVEL.agents);
    await setup.put('k', 'v');
    await setup.close();
    expect(open()).toBe(0);
    expect(await countSublevel(db, SUBLEVEL.agents)).toBe(1);
    expect(await clearSublevel(db, SUBLEVEL.agents)).toBe(1);
    expect(open()).toBe(0);
  });
});
