/**
 * The timers agent on a real LevelDB (issue #14): set through the timer tools, a restart of the
 * runtime over a reopened store while a timer is due, the timer fires once (and never again after
 * another restart), cancel, how long is left. Time is a VirtualClock: "five minutes" pass at once.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AgentRuntime } from '../../daemon/agents/runtime.js';
import { timerTools } from '../../daemon/agents/skills/timer-tools.js';
import { type TimersState, timersAgent } from '../../daemon/agents/skills/timers-agent.js';
import { AgentStore } from '../../daemon/agents/store.js';
import { ToolRegistry } from '../../daemon/agents/tools.js';
import { Bus } from '../../daemon/bus/bus.js';
import type { SayAction, TimerEvent, ToolResult } from '../../daemon/bus/topics.js';
import { silentLogger } from '../../daemon/log.js';
import type { Store } from '../../daemon/storage/store.js';
import { VirtualClock } from '../../daemon/util/virtual-clock.js';
import { until } from '../helpers/wait.js';

let dir: string;
let db: Store;
const START_MS = Date.UTC(2026, 11, 4, 12, 0, 0);

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edgeloom-timers-'));
  db = new Level<string, unknown>(dir, { valueEncoding: 'json' });
  await db.open();
});

afterEach(async () => {
  await db.close();
  await rm(dir, { recursive: true, force: true });
});

/** One daemon run: its bus, tools and the timers agent over the store in `db`. */
async function boot(clock: VirtualClock, o: { maxTimers?: number } = {}) {
  const logger = silentLogger();
  const bus = new Bus({ clock, logger });
  const tools = new ToolRegistry({ bus, clock, logger, defaultTimeoutMs: 2000 });
  for (const t of timerTools({ bus, maxDurationS: 86_400 })) tools.register(t);
  const store = new AgentStore({ db, snapshotEvery: 500, retentionEvents: 10_000 });
  const runtime = new AgentRuntime({ bus, clock, logger, store, tools });
  const agent = runtime.create(timersAgent({ maxTimers: o.maxTimers ?? 16, maxDurationS: 86_400 }));
  const said: SayAction[] = [];
  const events: TimerEvent[] = [];
  bus.subscribe('action/say', (e) => void said.push(e.payload), { component: 'test' });
  bus.subscribe('agent/timers/timer', (e) => void events.push(e.payload), { component: 'test' });
  await runtime.start(new AbortController().signal);
  const call = async (tool: string, args: unknown): Promise<Record<string, unknown>> => {
    const r: ToolResult = await tools.execute(tool, args);
    expect(r.ok, JSON.stringify(r.error)).toBe(true);
    return r.result as Record<string, unknown>;
  };
  return { bus, tools, runtime, agent, said, events, call, state: () => agent.state() as TimersState };
}

/** A process restart: the runtime stops (closing its store) and the LevelDB is closed and reopened. */
async function restart(run: { runtime: AgentRuntime }): Promise<void> {
  await run.runtime.stop();
  await db.close();
  db = new Level<string, unknown>(dir, { valueEncoding: 'json' });
  await db.open();
}

describe('timers agent (real LevelDB)', () => {
  it('a timer set before a restart fires once after it, announced by TTS and an event', async () => {
    const clock = new VirtualClock(START_MS);
    const first = await boot(clock);
    const set = await first.call('timer.set', { seconds: 300, label: 'pasta' });
    expect(set).toMatchObject({ ok: true, say: 'Pasta timer set for 5 minutes.' });
    expect(set.timers).toEqual([{ id: 't1', label: 'pasta', seconds: 300, remaining_s: 300 }]);
    await first.call('timer.set', { seconds: 3600 });
    await until('set events', () => first.events.length === 2);
    expect(first.events.map((e) => [e.label, e.state, e.seconds])).toEqual([
      ['pasta', 'set', 300],
      [null, 'set', 3600],
    ]);

    // Down across the pasta timer's due time: nothing fires while stopped.
    await restart(first);
    await clock.advanceTo(START_MS + 400_000);
    expect(first.said).toEqual([]);

    const second = await boot(clock);
    // Re-armed at start for a time already past: due at once (a virtual clock runs it on the next step).
    await clock.advanceTo(START_MS + 400_001);
    await until('the pasta timer fires after the restart', () => second.said.length === 1);
    await second.runtime.idle();
    expect(second.said[0]).toMatchObject({ text: 'Your pasta timer is done.', source: 'timer', final: true });
    await until('fired event', () => second.events.some((e) => e.state === 'fired'));
    expect(second.events).toEqual([
      { id: 't1', label: 'pasta', state: 'fired', seconds: 300, dueMs: START_MS + 300_000 },
    ]);
    expect(second.state().timers.map((t) => t.id)).toEqual(['t2']);

    // Another restart: the fired timer is in the log as fired, so it does not fire again.
    await restart(second);
    const third = await boot(clock);
    await clock.advanceTo(START_MS + 400_002);
    const left = await third.call('timer.remaining', {});
    expect(left.say).toBe('53 minutes and 20 seconds left on your 1 hour timer.');
    await third.runtime.idle();
    expect(third.said).toEqual([]);
    expect(third.state()).toMatchObject({ fired: 1, created: 2 });

    // The one-hour timer fires at its time, once.
    await clock.advanceTo(START_MS + 3_600_000);
    await until('the hour timer fires', () => third.said.length === 1);
    expect(third.said[0]!.text).toBe('Your 1 hour timer is done.');
    await clock.advanceTo(START_MS + 7_200_000);
    await third.runtime.idle();
    expect(third.said).toHaveLength(1);
    await third.runtime.stop();
  });

  it('cancel by name or all, how long is left, bounds and refusals', async () => {
    const clock = new VirtualClock(START_MS);
    const run = await boot(clock, { maxTimers: 3 });
    expect((await run.call('timer.cancel', {})).say).toBe('There are no timers running.');
    expect((await run.call('timer.remaining', {})).say).toBe('There are no timers running.');
    await run.call('timer.set', { seconds: 600, label: 'eggs' });
    await run.call('timer.set', { seconds: 90 });
    // The same name again replaces the running one (it is not doubled).
    await run.call('timer.set', { seconds: 900, label: 'The Eggs' });
    expect(run.state().timers.map((t) => [t.label, t.seconds])).toEqual([
      [null, 90],
      ['Eggs', 900],
    ]);
    await run.call('timer.set', { seconds: 60, label: 'tea' });
    const refused = await run.call('timer.set', { seconds: 60, label: 'rice' });
    expect(refused).toMatchObject({
      ok: false,
      refused: 'max_timers',
      say: 'I can only keep 3 timers at once.',
    });

    await clock.advanceTo(START_MS + 30_000);
    expect((await run.call('timer.remaining', { label: 'eggs' })).say).toBe(
      '14 minutes and 30 seconds left on your Eggs timer.',
    );
    expect((await run.call('timer.remaining', {})).say).toBe(
      '30 seconds left on your tea timer, 1 minute left on your 1 minute and 30 second timer and 14 minutes and 30 seconds left on your Eggs timer.',
    );
    expect((await run.call('timer.cancel', { label: 'soup' })).say).toBe('There is no soup timer.');
    expect((await run.call('timer.cancel', { label: 'tea' })).say).toBe('Cancelled your tea timer.');
    // Tea's due time passes: a cancelled timer never fires.
    await clock.advanceTo(START_MS + 61_000);
    await run.runtime.idle();
    expect(run.said).toEqual([]);
    expect((await run.call('timer.cancel', {})).say).toBe('Cancelled all 2 timers.');
    await clock.advanceTo(START_MS + 3_600_000);
    await run.runtime.idle();
    expect(run.said).toEqual([]);
    expect(run.events.filter((e) => e.state === 'cancelled').map((e) => e.label)).toEqual([
      'eggs',
      'tea',
      null,
      'Eggs',
    ]);

    // Out of range: the schema refuses it before the agent sees it, naming the argument.
    const bad = await run.tools.execute('timer.set', { seconds: 0 });
    expect(bad).toMatchObject({ ok: false, error: { code: 'E_TOOL_INVALID_ARGS' } });
    await run.runtime.stop();
  });

  it('keeps no trace of a timer once it fired: a name used once each does not pile up over months', async () => {
    const clock = new VirtualClock(START_MS);
    const run = await boot(clock, { maxTimers: 16 });
    // Rounds of timers, each with a new id (t1, t2, ...): their agent timers are named by id.
    for (let round = 0; round < 5; round++) {
      for (let i = 0; i < 10; i++) await run.call('timer.set', { seconds: 60 + i });
      expect(run.agent.timers.size).toBe(10);
      await clock.advanceTo(clock.now() + 120_000);
      await until(
        `round ${round} fired`,
        () => run.events.filter((e) => e.state === 'fired').length === (round + 1) * 10,
      );
      await run.agent.idle();
      expect(run.state().timers).toEqual([]);
      expect(run.agent.timers.size).toBe(0);
    }
    await run.runtime.stop();
  });
});
