/**
 * The actor runtime. Each agent processes one input at a time (its turn): decide → append the
 * events to its LevelDB log in one batch → swap the state pointer → start the actions. Readers of
 * `state()` get the current immutable state object and never wait for a writer.
 *
 * Mailbox: the agent's bus subscriptions are its mailbox, one bounded queue per pattern with the
 * QoS the definition names (realtime = drop-oldest for sensor streams, batched = guaranteed for
 * utterances). A handler waits for the agent's turn, so at most one input per subscription is
 * outside the bus queues. Actions run after the handler returns, so a long cloud call does not
 * hold up the next input (a "stop" utterance or a speech start can cancel it); at most
 * `maxInFlightActions` action runs exist per agent, past it the handler waits (backpressure into
 * the bus queue, whose policy then applies).
 *
 * Working memory (reducer.ts WorkingMemorySpec): an agent may keep filter state in memory,
 * outside its log. It is written with the events of an input that has any, otherwise at most every
 * `snapshotIntervalMs`, and once on stop; at start the last written one is restored.
 *
 * Stop drains: the subscriptions are unsubscribed with `drain: true`, so inputs already queued
 * (a transcript that arrived as the daemon was asked to stop) are still decided, persisted and
 * their actions run, within `stopDrainMs`; what is left after that is dropped (counted by the bus
 * as `unsubscribed`) and running actions are aborted.
 */
import type { Envelope } from '../bus/envelope.js';
import { Priority } from '../bus/envelope.js';
import { patternMatches } from '../bus/topic-match.js';
import type { Topic } from '../bus/topics.js';
import type { EventBus, Subscription } from '../bus/types.js';
import type { Component, ComponentHealth } from '../component.js';
import { EdgeloomError, toError } from '../errors.js';
import type { Logger } from '../log.js';
import { BurstLog } from '../util/burst-log.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import {
  type AgentAction,
  type AgentDefinition,
  type AgentInput,
  type DecideContext,
  type Decision,
  type DomainEvent,
  deepFreeze,
  FREEZE_STATES,
  fold,
} from './reducer.js';
import type { AgentStore } from './store.js';
import type { ToolRegistry } from './tools.js';

export type AgentStatus = 'created' | 'starting' | 'running' | 'stopping' | 'stopped' | 'deleted';

export interface AgentDeps {
  readonly bus: EventBus;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly store: AgentStore;
  readonly tools: ToolRegistry;
  /** Concurrent action runs per agent; default 4. */
  readonly maxInFlightActions?: number;
  /**
   * How long stop() keeps handling queued inputs and running actions before it drops and aborts
   * the rest, ms; default 1000 (the controller gives the whole agents stage 5 s).
   */
  readonly stopDrainMs?: number;
}

/** Default bound of the drain in Agent.stop(), ms. */
export const STOP_DRAIN_MS = 1000;

export interface AgentCounters {
  inputs: number;
  events: number;
  decideErrors: number;
  persistErrors: number;
  actionErrors: number;
  interrupts: number;
  /** Working-memory writes that failed (the memory itself is kept; retried at the next write). */
  workingErrors: number;
  /** Inputs still queued when the stop drain ran out of time. */
  dropsAtStop: number;
}

export class Agent<S = unknown, E extends DomainEvent = DomainEvent, W = never> implements Component {
  readonly name: string;
  readonly counters: AgentCounters = {
    inputs: 0,
    events: 0,
    decideErrors: 0,
    persistErrors: 0,
    actionErrors: 0,
    interrupts: 0,
    workingErrors: 0,
    dropsAtStop: 0,
  };
  private current: S;
  /** Working memory (undefined for agents without one). */
  private work: W | undefined;
  /** The working memory changed since it was last written. */
  private workDirty = false;
  /** Clock time of the last working-memory write, ms. */
  private workSavedAtMs = 0;
  private lastSeq = 0;
  private lastSnapshotSeq = 0;
  private status: AgentStatus = 'created';
  private subs: Subscription[] = [];
  private readonly timers = new Map<string, TimerHandle>();
  /** Serialises turns: each input chains onto the previous one. */
  private turn: Promise<void> = Promise.resolve();
  private inFlight = new Set<Promise<void>>();
  /** Turns queued or running (a turn is one input being decided and persisted). */
  private pendingTurns = 0;
  private actionsController = new AbortController();
  private readonly maxInFlight: number;
  /** A failing store (a full disk) fails every input: one line a minute, the counters count all. */
  private readonly persistLog: BurstLog;
  private readonly workingLog: BurstLog;

  constructor(
    readonly definition: AgentDefinition<S, E, W>,
    private readonly deps: AgentDeps,
  ) {
    this.name = `agent.${definition.id}`;
    this.current = freeze(definition.initialState);
    this.work = definition.working === undefined ? undefined : freeze(definition.working.initial);
    this.maxInFlight = deps.maxInFlightActions ?? 4;
    this.persistLog = new BurstLog({ logger: deps.logger, msg: 'event append failed; input dropped' });
    this.workingLog = new BurstLog({
      logger: deps.logger,
      msg: 'working memory write failed; kept in memory, retried at the next interval',
    });
  }

  get id(): string {
    return this.definition.id;
  }

  /** The current state: an immutable snapshot, swapped by reference after each persisted input. */
  state(): S {
    return this.current;
  }

  /** Seq of the last event applied. */
  seq(): number {
    return this.lastSeq;
  }

  /** The current working memory (undefined for agents without one). */
  working(): W | undefined {
    return this.work;
  }

  lifecycle(): AgentStatus {
    return this.status;
  }

  async start(signal: AbortSignal): Promise<void> {
    if (this.status === 'running') return;
    if (this.status === 'deleted')
      throw new EdgeloomError('E_AGENT_DELETED', `agent ${this.id} was deleted`, { where: this.name });
    this.status = 'starting';
    const { snapshot, events, lastSeq, working } = await this.deps.store.load<S, E, W>(this.id, signal);
    signal.throwIfAborted();
    this.current = freeze(
      fold(this.definition.reduce, snapshot?.state ?? this.definition.initialState, events),
    );
    this.lastSeq = lastSeq;
    this.lastSnapshotSeq = snapshot?.seq ?? 0;
    if (this.definition.working !== undefined) {
      this.work = freeze(working?.state ?? this.definition.working.initial);
      this.workDirty = false;
      this.workSavedAtMs = this.deps.clock.now();
    }
    this.actionsController = new AbortController();
    for (const spec of this.definition.subscriptions) {
      this.subs.push(
        this.deps.bus.subscribe(
          spec.pattern as Topic,
          (env) => this.onMessage(env, spec.interruptible === true),
          {
            component: this.name,
            qos: spec.qos,
            queueCapacity: spec.capacity,
            ...(spec.interruptible ? { interruptible: true } : {}),
          },
        ),
      );
    }
    this.status = 'running';
    this.definition.onStart?.(this.current, this.context());
    this.deps.logger.info(
      { agent: this.id, seq: lastSeq, fromSnapshot: snapshot?.seq ?? 0, replayed: events.length },
      'agent started',
    );
  }

  async stop(): Promise<void> {
    if (this.status !== 'running' && this.status !== 'starting') return;
    const wasRunning = this.status === 'running';
    this.status = 'stopping';
    for (const t of this.timers.values()) t.cancel();
    this.timers.clear();
    const subs = this.subs;
    this.subs = [];
    if (wasRunning) await this.drain(subs);
    // Whatever the drain left is dropped (the bus counts it as `unsubscribed`).
    this.counters.dropsAtStop += subs.reduce((n, s) => n + s.stats().queueDepth, 0);
    await Promise.all(subs.map((s) => s.unsubscribe()));
    this.status = 'stopped';
    this.actionsController.abort(
      new EdgeloomError('E_AGENT_STOPPED', `agent ${this.id} stopped`, { where: this.name }),
    );
    await this.turn;
    await Promise.allSettled([...this.inFlight]);
    if (this.workDirty) await this.saveWorking();
    // Its sublevel is a resource of the shared store: closed with the agent, reopened on start.
    await this.deps.store.release(this.id);
  }

  /**
   * Handle what is queued and let running actions finish, within stopDrainMs. New messages are no
   * longer delivered (the subscriptions detach at once); inputs already queued still are.
   */
  private async drain(subs: readonly Subscription[]): Promise<void> {
    const boundMs = this.deps.stopDrainMs ?? STOP_DRAIN_MS;
    let timer: TimerHandle | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = this.deps.clock.setTimeout(() => resolve('timeout'), boundMs);
    });
    const drained = (async () => {
      await Promise.all(subs.map((s) => s.unsubscribe({ drain: true })));
      await this.idle();
      return 'drained' as const;
    })();
    const outcome = await Promise.race([drained, timeout]);
    timer?.cancel();
    if (outcome === 'timeout') {
      this.deps.logger.warn(
        { agent: this.id, boundMs },
        'stop: queued inputs or actions still pending after the drain bound; dropping them',
      );
    }
  }

  /**
   * Erase the agent's memory (`forget`): its stored log, snapshots and working memory, and the
   * state in memory, which returns to the initial one. It runs as one of the agent's turns, so no
   * input is half-applied around it; actions still running are aborted, so nothing derived from
   * the forgotten inputs is published after it. Returns the stored entries deleted.
   */
  forget(): Promise<number> {
    this.pendingTurns++;
    const run = this.turn.then(async () => {
      this.interrupt();
      const { log, snapshots } = await this.deps.store.counts(this.id);
      await this.deps.store.delete(this.id);
      for (const t of this.timers.values()) t.cancel();
      this.timers.clear();
      this.current = freeze(this.definition.initialState);
      if (this.definition.working !== undefined) this.work = freeze(this.definition.working.initial);
      this.workDirty = false;
      this.lastSeq = 0;
      this.lastSnapshotSeq = 0;
      if (this.status === 'running') this.definition.onStart?.(this.current, this.context());
      this.deps.logger.info({ agent: this.id, deleted: log + snapshots }, 'agent memory forgotten');
      return log + snapshots;
    });
    this.turn = run.then(
      () => undefined,
      () => undefined,
    );
    return run.finally(() => {
      this.pendingTurns--;
    });
  }

  /** Mark deleted (the runtime removes its log). */
  markDeleted(): void {
    this.status = 'deleted';
  }

  health(): ComponentHealth {
    const c = this.counters;
    const reasons: string[] = [];
    if (c.persistErrors > 0) reasons.push(`${c.persistErrors} inputs not persisted`);
    if (c.decideErrors > 0) reasons.push(`${c.decideErrors} inputs failed in decide`);
    return { status: reasons.length === 0 ? 'ok' : 'degraded', ...(reasons.length ? { reasons } : {}) };
  }

  /** Feed an input directly (tests, replays); resolves once its events are persisted. */
  submit(input: AgentInput): Promise<void> {
    return this.enqueue(input);
  }

  /** Resolves when the current turn and every running action have finished. */
  async idle(): Promise<void> {
    await this.turn;
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private async onMessage(env: Envelope, interruptible: boolean): Promise<void> {
    if (interruptible && env.priority === Priority.critical) this.interrupt();
    await this.enqueue({ kind: 'message', env });
    // Backpressure: the bus queue holds further inputs while the agent is at its action bound.
    while (this.inFlight.size >= this.maxInFlight) await Promise.race(this.inFlight);
  }

  private enqueue(input: AgentInput): Promise<void> {
    this.pendingTurns++;
    const next = this.turn
      .then(() => this.process(input))
      .finally(() => {
        this.pendingTurns--;
      });
    this.turn = next;
    return next;
  }

  /** True while an input is being handled or an action runs (what a speed-0 replay waits for). */
  busy(): boolean {
    return this.pendingTurns > 0 || this.inFlight.size > 0;
  }

  private interrupt(): void {
    if (this.inFlight.size === 0) return;
    this.counters.interrupts++;
    const c = this.actionsController;
    this.actionsController = new AbortController();
    c.abort(
      new EdgeloomError('E_AGENT_INTERRUPTED', `agent ${this.id}: in-flight work interrupted`, {
        where: this.name,
      }),
    );
  }

  private context(): DecideContext {
    return {
      nowMs: this.deps.clock.now(),
      inFlightActions: this.inFlight.size,
      setTimer: (name, atMs) => this.setTimer(name, atMs),
      cancelTimer: (name) => {
        this.timers.get(name)?.cancel();
        this.timers.delete(name);
      },
    };
  }

  private setTimer(name: string, atMs: number): void {
    this.timers.get(name)?.cancel();
    const delayMs = Math.max(0, atMs - this.deps.clock.now());
    const handle = this.deps.clock.setTimeout(() => {
      if (this.timers.get(name) === handle) this.timers.delete(name);
      if (this.status !== 'running') return;
      void this.enqueue({ kind: 'timer', name, tsMs: this.deps.clock.now(), dueMs: atMs });
    }, delayMs);
    this.timers.set(name, handle);
  }

  /** One turn. Never throws: a failure is logged and counted and the agent keeps its last state. */
  private async process(input: AgentInput): Promise<void> {
    // 'stopping': the stop drain still hands queued inputs over.
    if (this.status !== 'running' && this.status !== 'stopping') return;
    this.counters.inputs++;
    let decision: Decision<E, W>;
    let next: S;
    try {
      decision = this.definition.decide(this.current, input, this.context(), this.work as W);
      next =
        decision.events.length === 0
          ? this.current
          : freeze(fold(this.definition.reduce, this.current, decision.events));
    } catch (err) {
      this.counters.decideErrors++;
      this.deps.logger.error({ agent: this.id, err: toError(err).message }, 'decide failed; input skipped');
      return;
    }
    const nextWork =
      this.definition.working !== undefined && decision.working !== undefined
        ? freeze(decision.working)
        : this.work;
    if (decision.events.length > 0) {
      const firstSeq = this.lastSeq + 1;
      const lastSeq = this.lastSeq + decision.events.length;
      const every = this.deps.store.snapshotEvery;
      const snapshotDue = Math.floor(lastSeq / every) > Math.floor(this.lastSnapshotSeq / every);
      const nowMs = this.deps.clock.now();
      const workRecord =
        this.definition.working === undefined
          ? undefined
          : { seq: lastSeq, savedAtMs: nowMs, state: nextWork };
      try {
        await this.deps.store.append(
          this.id,
          firstSeq,
          decision.events,
          snapshotDue ? { seq: lastSeq, state: next } : undefined,
          workRecord,
        );
      } catch (err) {
        this.counters.persistErrors++;
        this.persistLog.failure(toError(err), { agent: this.id, persistErrors: this.counters.persistErrors });
        return;
      }
      this.persistLog.success();
      this.current = next;
      this.lastSeq = lastSeq;
      this.counters.events += decision.events.length;
      if (workRecord !== undefined) {
        this.work = nextWork;
        this.workDirty = false;
        this.workSavedAtMs = nowMs;
      }
      if (snapshotDue) {
        this.lastSnapshotSeq = lastSeq;
        try {
          await this.deps.store.compact(this.id, lastSeq);
        } catch (err) {
          this.deps.logger.warn(
            { agent: this.id, err: toError(err).message },
            'compaction failed; retried at the next snapshot',
          );
        }
      }
    } else if (nextWork !== this.work) {
      this.work = nextWork;
      this.workDirty = true;
      const spec = this.definition.working;
      if (spec !== undefined && this.deps.clock.now() - this.workSavedAtMs >= spec.snapshotIntervalMs)
        await this.saveWorking();
    }
    if (decision.interrupt) this.interrupt();
    if (decision.actions.length > 0) this.launch(decision.actions);
  }

  /** Write the working memory on its own (no events to carry it). Never throws. */
  private async saveWorking(): Promise<void> {
    const nowMs = this.deps.clock.now();
    try {
      await this.deps.store.saveWorking(this.id, { seq: this.lastSeq, savedAtMs: nowMs, state: this.work });
      this.workDirty = false;
      this.workingLog.success();
    } catch (err) {
      this.counters.workingErrors++;
      this.workingLog.failure(toError(err), { agent: this.id, workingErrors: this.counters.workingErrors });
    }
    // Also after a failure: the next attempt waits a full interval instead of retrying per input.
    this.workSavedAtMs = nowMs;
  }

  /** Run one input's actions in order, tracked as one in-flight run. */
  private launch(actions: readonly AgentAction[]): void {
    const signal = this.actionsController.signal;
    const run = (async () => {
      for (const action of actions) {
        if (signal.aborted) return;
        await this.runAction(action, signal);
      }
    })();
    const tracked = run.finally(() => this.inFlight.delete(tracked));
    this.inFlight.add(tracked);
  }

  private async runAction(action: AgentAction, signal: AbortSignal): Promise<void> {
    try {
      if (action.kind === 'publish') {
        await this.deps.bus.publish(action.topic as Topic, action.payload as never, { source: this.name });
      } else {
        const r = await this.deps.tools.execute(action.tool, action.args, { signal, source: this.name });
        if (!r.ok) this.counters.actionErrors++;
      }
    } catch (err) {
      this.counters.actionErrors++;
      this.deps.logger.warn({ agent: this.id, err: toError(err).message }, 'action failed');
    }
  }
}

function freeze<S>(state: S): S {
  return FREEZE_STATES ? deepFreeze(state) : state;
}

export interface FindQuery {
  readonly id?: string;
  /** Agents with a subscription matching this concrete topic. */
  readonly topic?: string;
  readonly capability?: string;
}

/**
 * The directory and lifecycle owner: create, start, stop, delete agents; find them by id, topic
 * or capability. As a Component it starts every created agent and stops them in reverse order.
 */
export class AgentRuntime implements Component {
  readonly name = 'agents.runtime';
  private readonly agents = new Map<string, Agent<unknown, DomainEvent>>();

  constructor(private readonly deps: AgentDeps) {}

  create<S, E extends DomainEvent, W = never>(definition: AgentDefinition<S, E, W>): Agent<S, E, W> {
    if (this.agents.has(definition.id)) {
      throw new EdgeloomError('E_AGENT_EXISTS', `agent '${definition.id}' already exists`, {
        where: this.name,
      });
    }
    const agent = new Agent(definition, {
      ...this.deps,
      logger: this.deps.logger.child({ agent: definition.id }),
    });
    this.agents.set(definition.id, agent as unknown as Agent<unknown, DomainEvent>);
    return agent;
  }

  get(id: string): Agent<unknown, DomainEvent> | undefined {
    return this.agents.get(id);
  }

  list(): Agent<unknown, DomainEvent>[] {
    return [...this.agents.values()];
  }

  find(q: FindQuery): Agent<unknown, DomainEvent>[] {
    return this.list().filter(
      (a) =>
        (q.id === undefined || a.id === q.id) &&
        (q.capability === undefined || a.definition.capabilities.includes(q.capability)) &&
        (q.topic === undefined ||
          a.definition.subscriptions.some((s) => patternMatches(s.pattern, q.topic!))),
    );
  }

  async startAgent(id: string, signal: AbortSignal = new AbortController().signal): Promise<void> {
    await this.require(id).start(signal);
  }

  async stopAgent(id: string): Promise<void> {
    await this.require(id).stop();
  }

  /** Stop the agent, remove it from the directory and delete its stored log and snapshots. */
  async delete(id: string): Promise<void> {
    const agent = this.require(id);
    await agent.stop();
    agent.markDeleted();
    this.agents.delete(id);
    await this.deps.store.delete(id);
  }

  /** `forget` every agent (Agent.forget); returns the stored entries deleted. */
  async forgetAll(): Promise<number> {
    let deleted = 0;
    for (const a of this.agents.values()) deleted += await a.forget();
    return deleted;
  }

  async start(signal: AbortSignal): Promise<void> {
    for (const a of this.agents.values()) await a.start(signal);
  }

  async stop(): Promise<void> {
    for (const a of [...this.agents.values()].reverse()) await a.stop();
    await this.deps.store.close();
  }

  /**
   * Component.idle(): undefined when no agent has a turn or an action in flight, else a promise
   * for the current work. Actions (tool calls) run outside the bus handlers, so without this a
   * speed-0 replay could move the clock while a tool is still publishing.
   */
  idle(): Promise<void> | undefined {
    const busy = [...this.agents.values()].filter((a) => a.busy());
    if (busy.length === 0) return undefined;
    return Promise.all(busy.map((a) => a.idle())).then(() => undefined);
  }

  health(): ComponentHealth {
    const reasons = this.list().flatMap((a) => (a.health().reasons ?? []).map((r) => `${a.id}: ${r}`));
    return { status: reasons.length === 0 ? 'ok' : 'degraded', ...(reasons.length ? { reasons } : {}) };
  }

  private require(id: string): Agent<unknown, DomainEvent> {
    const a = this.agents.get(id);
    if (a === undefined) throw new EdgeloomError('E_AGENT_UNKNOWN', `no agent '${id}'`, { where: this.name });
    return a;
  }
}
