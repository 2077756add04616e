/**
 * The agent model (README, "Agents and tools"): an agent is an actor whose state is a fold
 * of its own domain events. Inputs (bus messages, timers) go to `decide`, which returns the domain
 * events to append and the side effects to run; the runtime appends the events atomically, swaps
 * the state pointer to `events.reduce(reduce, state)`, and only then runs the actions. Replaying
 * the log through `reduce` therefore rebuilds exactly the state the agent had, without re-running
 * any side effect.
 */
import type { Envelope } from '../bus/envelope.js';
import type { PayloadOf, Topic } from '../bus/topics.js';
import type { OverflowPolicy, QosClass } from '../bus/types.js';

/** Every domain event is a plain JSON object with a `type` tag. */
export interface DomainEvent {
  readonly type: string;
}

/** What reaches `decide`: a bus message, or a timer the agent armed through `ctx.setTimer`. */
export type AgentInput =
  | { readonly kind: 'message'; readonly env: Envelope }
  | {
      readonly kind: 'timer';
      readonly name: string;
      /** Clock time the timer fired, ms. */
      readonly tsMs: number;
      /** The time it was armed for, ms (a re-armed timer's stale firing can be recognised). */
      readonly dueMs: number;
    };

/**
 * Publish on the bus, with the agent as source: one member per topic of the map (TopicMap), so the
 * payload must be the one its topic carries (an intent on `agent/<id>/intent`, never a motion).
 */
export type PublishAction<T extends Topic = Topic> = {
  [K in T]: { readonly kind: 'publish'; readonly topic: K; readonly payload: PayloadOf<K> };
}[T];

/** A side effect, run by the runtime after the events of the same input are persisted. */
export type AgentAction =
  /** Call a tool from the registry; its result is published as `tool/<name>/result`. */
  { readonly kind: 'tool'; readonly tool: string; readonly args: unknown } | PublishAction;

export interface Decision<E extends DomainEvent, W = never> {
  readonly events: readonly E[];
  readonly actions: readonly AgentAction[];
  /** Abort the agent's in-flight actions (cloud calls, tools) before running the new ones. */
  readonly interrupt?: boolean;
  /** The agent's new working memory (see WorkingMemorySpec); absent: unchanged. */
  readonly working?: W;
}

/**
 * Working memory: state an agent needs between inputs but that is not worth a log entry per
 * input (signal filters, running windows, learned references). It lives in memory and is written
 * only as a snapshot: in the same batch as any domain events, and otherwise at most every
 * `snapshotIntervalMs` (and once on stop). Never in the log, so it costs no write per input.
 *
 * The honest contract: the domain state is still exactly the fold of the persisted events (plus
 * the state snapshot); the working memory after a crash is the last one written, up to
 * `snapshotIntervalMs` old, so an agent must treat it as a hint and rebuild from the next inputs
 * (e.g. reset running windows across a time gap).
 */
export interface WorkingMemorySpec<W> {
  readonly initial: W;
  /** Longest time between working-memory writes while it keeps changing without events, ms. */
  readonly snapshotIntervalMs: number;
}

/** What `decide` may consult besides state and input. Its answers are recorded through events. */
export interface DecideContext {
  /** Clock time, ms. */
  readonly nowMs: number;
  /** Actions of this agent still running (started by earlier inputs). */
  readonly inFlightActions: number;
  /** Arm (or re-arm: same name replaces) a timer that comes back as a `timer` input at `atMs`. */
  setTimer(name: string, atMs: number): void;
  cancelTimer(name: string): void;
}

export interface SubscriptionSpec {
  /** MQTT-style bus pattern. */
  readonly pattern: string;
  readonly qos: QosClass;
  /** Mailbox bound for this pattern. */
  readonly capacity: number;
  /** What a full mailbox does (sample: thin before queueing); default the QoS class's policy. */
  readonly overflow?: OverflowPolicy;
  /**
   * A `critical` message on this subscription aborts the agent's in-flight actions on arrival,
   * before it waits for its turn (the bus does the same for this subscription's own handlers).
   */
  readonly interruptible?: boolean;
}

export interface AgentDefinition<S, E extends DomainEvent = DomainEvent, W = never> {
  /** Unique id: names the log in the store and the `agent/<id>/...` topics. */
  readonly id: string;
  /** What it can do, for the directory (e.g. `display`, `intent`, `motion`). */
  readonly capabilities: readonly string[];
  readonly subscriptions: readonly SubscriptionSpec[];
  readonly initialState: S;
  /** PURE: no clock, no I/O, no mutation of `state` or `event`. */
  reduce(state: S, event: E): S;
  /**
   * Turns one input into events and actions (and a new working memory, for agents that declare
   * one). May read ctx; must not mutate state or working memory.
   */
  decide(state: S, input: AgentInput, ctx: DecideContext, working: W): Decision<E, W>;
  /** Declare a working memory (filters, windows) kept out of the log; see WorkingMemorySpec. */
  readonly working?: WorkingMemorySpec<W>;
  /** Called once after the state is rebuilt at start (re-arm timers that state implies). */
  onStart?(state: S, ctx: DecideContext): void;
}

/** Fold events into a state: the definition of an event-sourced state. */
export function fold<S, E extends DomainEvent>(
  reduce: (s: S, e: E) => S,
  initial: S,
  events: Iterable<E>,
): S {
  let s = initial;
  for (const e of events) s = reduce(s, e);
  return s;
}

/**
 * Freeze an object graph, so a reducer that mutates instead of copying fails loudly in tests.
 * Already frozen sub-objects are skipped: with structural sharing only the new path is walked.
 */
export function deepFreeze<T>(value: T): T {
  if (value === null || typeof value !== 'object' || Object.isFrozen(value)) return value;
  Object.freeze(value);
  for (const v of Object.values(value as Record<string, unknown>)) deepFreeze(v);
  return value;
}

/** True unless NODE_ENV is `production`: freezing costs a walk per state swap. */
export const FREEZE_STATES = process.env.NODE_ENV !== 'production';

/** Freeze a state or working memory before it is shared (a no-op in production, see above). */
export function freezeState<S>(state: S): S {
  return FREEZE_STATES ? deepFreeze(state) : state;
}
