/**
 * One agent, an actor (runtime.ts is the directory of them). Each agent processes one input at a
 * time (its turn): decide → append the events to its LevelDB log in one batch → swap the state
 * pointer → start the actions. Readers of `state()` get the current immutable state object and
 * never wait for a writer.
 *
 * Mailbox: the agent's bus subscriptions are its mailbox, one bounded queue per pattern with the
 * QoS the definition names (realtime = drop-oldest for sensor streams, batched = guaranteed for
 * utterances). A handler waits for the agent's turn, so at most one input per subscription is
 * outside the bus queues. Actions run after the handler returns (agent-actions.ts), so a long
 * cloud call does not hold up the next input (a "stop" utterance or a speech start can cancel it);
 * at most `maxInFlightActions` action runs exist per agent, past it the handler waits
 * (backpressure into the bus queue, whose policy then applies).
 *
 * Working memory (reducer.ts WorkingMemorySpec, agent-working.ts): an agent may keep filter state
 * in memory, outside its log. It is written with the events of an input that has any, otherwise at
 * most every `snapshotIntervalMs`, and once on stop; at start the last written one is restored.
 *
 * Stop drains: the subscriptions are unsubscribed with `drain: true`, so inputs already queued
 * (a transcript that arrived as the daemon was asked to stop) are still decided, persisted and
 * their actions run, within `stopDrainMs`; what is left after that is dropped (counted by the bus
 * as `unsubscribed`) and running actions are aborted.
 */
import type { Envelope } from '../bus/envelope.js';
import { Priority } from '../bus/envelope.js';
import type { EventBus, Subscription } from '../bus/types.js';
import type { Component, ComponentHealth } from '../component.js';
import { EdgeloomError, ErrorCode, toError } from '../errors.js';
import type { Logger } from '../log.js';
import { BurstLog } from '../util/burst-log.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import { ActionRuns } from './agent-actions.js';
import { AgentTimers } from './agent-timers.js';
import { WorkingMemory } from './agent-working.js';
import {
  type AgentDefinition,
  type AgentInput,
  type DecideContext,
  type Decision,
  type DomainEvent,
  fold,
  freezeState,
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
  /** Timer firings not handed to decide(): the timer was set again or cancelled before their turn. */
  staleTimers: number;
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
    staleTimers: 0,
  };
  private current: S;
  /** Working memory and its writes (agent-working.ts). */
  private readonly memory: WorkingMemory<W>;
  private lastSeq = 0;
  private lastSnapshotSeq = 0;
  private status: AgentStatus = 'created';
  private subs: Subscription[] = [];
  /** Its named timers (read-only use outside: `timers.size` is how many are armed now). */
  readonly timers: AgentTimers;
  /** Serialises turns: each input chains onto the previous one. */
  private turn: Promise<void> = Promise.resolve();
  /** Turns queued or running (a turn is one input being decided and persisted). */
  private pendingTurns = 0;
  /** The decisions' actions, running outside the turns (agent-actions.ts). */
  private readonly actions: ActionRuns;
  /** A failing store (a full disk) fails every input: one line a minute, the counters count all. */
  private readonly persistLog: BurstLog;

  constructor(
    readonly definition: AgentDefinition<S, E, W>,
    private readonly deps: AgentDeps,
  ) {
    this.name = `agent.${definition.id}`;
    this.current = freezeState(definition.initialState);
    this.memory = new WorkingMemory(definition.working, {
      store: deps.store,
      clock: deps.clock,
      logger: deps.logger,
      agentId: definition.id,
      counters: this.counters,
    });
    this.timers = new AgentTimers(deps.clock, (name, dueMs, seq) => {
      if (this.status !== 'running') return;
      void this.enqueue({ kind: 'timer', name, tsMs: this.deps.clock.now(), dueMs }, seq);
    });
    this.actions = new ActionRuns({
      bus: deps.bus,
      tools: deps.tools,
      logger: deps.logger,
      source: this.name,
      agentId: definition.id,
      maxInFlight: deps.maxInFlightActions ?? 4,
      counters: this.counters,
    });
    this.persistLog = new BurstLog({ logger: deps.logger, msg: 'event append failed; input dropped' });
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
    return this.memory.current;
  }

  lifecycle(): AgentStatus {
    return this.status;
  }

  async start(signal: AbortSignal): Promise<void> {
    if (this.status === 'running') return;
    if (this.status === 'deleted')
      throw new EdgeloomError(ErrorCode.E_AGENT_DELETED, `agent ${this.id} was deleted`, {
        where: this.name,
      });
    this.status = 'starting';
    const { snapshot, events, lastSeq, working } = await this.deps.store.load<S, E, W>(this.id, signal);
    signal.throwIfAborted();
    this.current = freezeState(
      fold(this.definition.reduce, snapshot?.state ?? this.definition.initialState, events),
    );
    this.lastSeq = lastSeq;
    this.lastSnapshotSeq = snapshot?.seq ?? 0;
    this.memory.restore(working);
    this.actions.reset();
    for (const spec of this.definition.subscriptions) {
      this.subs.push(
        this.deps.bus.subscribe(spec.pattern, (env) => this.onMessage(env, spec.interruptible === true), {
          component: this.name,
          qos: spec.qos,
          queueCapacity: spec.capacity,
          ...(spec.overflow === undefined ? {} : { overflow: spec.overflow }),
          ...(spec.interruptible ? { interruptible: true } : {}),
        }),
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
    this.timers.cancelAll();
    const subs = this.subs;
    this.subs = [];
    if (wasRunning) await this.drain(subs);
    // Whatever the drain left is dropped (the bus counts it as `unsubscribed`).
    this.counters.dropsAtStop += subs.reduce((n, s) => n + s.stats().queueDepth, 0);
    await Promise.all(subs.map((s) => s.unsubscribe()));
    this.status = 'stopped';
    this.actions.abort(
      new EdgeloomError(ErrorCode.E_AGENT_STOPPED, `agent ${this.id} stopped`, { where: this.name }),
    );
    await this.turn;
    await this.actions.settled();
    const flushing = this.memory.flush(this.lastSeq);
    if (flushing !== undefined) await flushing;
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
      this.timers.cancelAll();
      this.current = freezeState(this.definition.initialState);
      this.memory.reset();
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
    while (this.actions.size > 0) await this.actions.settled();
  }

  private async onMessage(env: Envelope, interruptible: boolean): Promise<void> {
    if (interruptible && env.priority === Priority.critical) this.interrupt();
    await this.enqueue({ kind: 'message', env });
    // Backpressure: the bus queue holds further inputs while the agent is at its action bound.
    while (this.actions.full) await this.actions.anyEnded();
  }

  /** `timerSeq`: the arming a timer input came from, checked when its turn comes (agent-timers.ts). */
  private enqueue(input: AgentInput, timerSeq?: number): Promise<void> {
    this.pendingTurns++;
    const next = this.turn
      .then(() => this.process(input, timerSeq))
      .finally(() => {
        this.pendingTurns--;
      });
    this.turn = next;
    return next;
  }

  /** True while an input is being handled or an action runs (what a speed-0 replay waits for). */
  busy(): boolean {
    return this.pendingTurns > 0 || this.actions.size > 0;
  }

  private interrupt(): void {
    if (this.actions.size === 0) return;
    this.counters.interrupts++;
    this.actions.interrupt(
      new EdgeloomError(ErrorCode.E_AGENT_INTERRUPTED, `agent ${this.id}: in-flight work interrupted`, {
        where: this.name,
      }),
    );
  }

  private context(): DecideContext {
    return {
      nowMs: this.deps.clock.now(),
      inFlightActions: this.actions.size,
      setTimer: (name, atMs) => this.timers.set(name, atMs),
      cancelTimer: (name) => this.timers.cancel(name),
    };
  }

  /** One turn. Never throws: a failure is logged and counted and the agent keeps its last state. */
  private async process(input: AgentInput, timerSeq?: number): Promise<void> {
    // 'stopping': the stop drain still hands queued inputs over.
    if (this.status !== 'running' && this.status !== 'stopping') return;
    if (input.kind === 'timer' && timerSeq !== undefined && !this.timers.take(input.name, timerSeq))
      return void this.counters.staleTimers++;
    this.counters.inputs++;
    let decision: Decision<E, W>;
    let next: S;
    try {
      decision = this.definition.decide(this.current, input, this.context(), this.memory.current as W);
      next =
        decision.events.length === 0
          ? this.current
          : freezeState(fold(this.definition.reduce, this.current, decision.events));
    } catch (err) {
      this.counters.decideErrors++;
      this.deps.logger.error({ agent: this.id, err: toError(err).message }, 'decide failed; input skipped');
      return;
    }
    const nextWork = this.memory.next(decision.working);
    if (decision.events.length > 0) {
      const firstSeq = this.lastSeq + 1;
      const lastSeq = this.lastSeq + decision.events.length;
      const every = this.deps.store.snapshotEvery;
      const snapshotDue = Math.floor(lastSeq / every) > Math.floor(this.lastSnapshotSeq / every);
      const nowMs = this.deps.clock.now();
      const workRecord = this.memory.record(nextWork, lastSeq, nowMs);
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
      if (workRecord !== undefined) this.memory.written(nextWork, nowMs);
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
    } else {
      const saving = this.memory.changed(nextWork, this.lastSeq);
      if (saving !== undefined) await saving;
    }
    if (decision.interrupt) this.interrupt();
    if (decision.actions.length > 0) this.actions.launch(decision.actions);
  }
}
