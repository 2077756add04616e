/**
 * The timers agent (issue #14): kitchen timers, event-sourced. A timer is set, cancelled or fires
 * only through a domain event in the agent's LevelDB log, so after a restart the state (the fold
 * of the log) names exactly the timers still running; `onStart` re-arms each at its due time (at
 * once when it came due while the daemon was down). Firing appends `timer_fired` first and
 * announces after (the runtime's order: persist, then act), so a timer fires once: a crash
 * between the two loses the announcement, never repeats it.
 *
 * Input: `agent/timers/command` (the timer tools, timer-tools.ts). Output: `agent/timers/reply`
 * (the answer the tool waits for, with the sentence to speak), `agent/timers/timer` (each set,
 * cancel and fire; MQTT `<base>/voice/timer`), and `action/say` when a timer is done.
 *
 * Bounds: at most `maxTimers` run at once (policy: one more is refused, and the reply says so;
 * nothing running is dropped); each at most `maxDurationS`; a label at most MAX_LABEL_CHARS.
 */
import type { TimerCommand, TimerEvent, TimerReply, TimerView } from '../../bus/topics.js';
import type { AgentAction, AgentDefinition, AgentInput, DecideContext, Decision } from '../reducer.js';
import { formatDuration } from './spoken-numbers.js';

/** Longest label kept, characters (a label is what someone said: "pasta", "the eggs"). */
export const MAX_LABEL_CHARS = 64;

export interface TimerEntry {
  readonly id: string;
  readonly label: string | null;
  readonly seconds: number;
  /** Clock time it was set and is due, ms (wall clock: a restart keeps its meaning). */
  readonly setAtMs: number;
  readonly dueMs: number;
}

export interface TimersState {
  /** Running timers, soonest first. */
  readonly timers: readonly TimerEntry[];
  /** Timers ever set (names the next id). */
  readonly created: number;
  readonly fired: number;
}

export type TimersEvent =
  | { readonly type: 'timer_set'; readonly timer: TimerEntry }
  | { readonly type: 'timer_cancelled'; readonly id: string }
  | { readonly type: 'timer_fired'; readonly id: string; readonly atMs: number };

export interface TimersAgentOptions {
  readonly maxTimers: number;
  readonly maxDurationS: number;
  /** Default `timers`: the bus topics are `agent/timers/...`. */
  readonly id?: 'timers';
}

export const initialTimersState: TimersState = { timers: [], created: 0, fired: 0 };

export function reduceTimers(s: TimersState, e: TimersEvent): TimersState {
  switch (e.type) {
    case 'timer_set':
      return {
        ...s,
        created: s.created + 1,
        timers: [...s.timers, e.timer].sort((a, b) => a.dueMs - b.dueMs),
      };
    case 'timer_cancelled':
      return { ...s, timers: s.timers.filter((t) => t.id !== e.id) };
    case 'timer_fired':
      return { ...s, fired: s.fired + 1, timers: s.timers.filter((t) => t.id !== e.id) };
  }
}

/** Labels compare as words: "The Pasta" and "pasta" are one timer. */
export function labelKey(label: string): string {
  return label
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .replace(/^(the|my|a) /, '')
    .trim();
}

/** "your 5 minute timer" / "your pasta timer". */
export function timerName(t: Pick<TimerEntry, 'label' | 'seconds'>): string {
  return t.label === null ? `your ${formatDuration(t.seconds, true)} timer` : `your ${t.label} timer`;
}

const TIMER_PREFIX = 'timer:';
const NONE: Decision<TimersEvent> = { events: [], actions: [] };

export function timersAgent(o: TimersAgentOptions): AgentDefinition<TimersState, TimersEvent> {
  const id = o.id ?? 'timers';

  const view = (t: TimerEntry, nowMs: number): TimerView => ({
    id: t.id,
    label: t.label,
    seconds: t.seconds,
    remaining_s: Math.max(0, Math.ceil((t.dueMs - nowMs) / 1000)),
  });
  const event = (t: TimerEntry, state: TimerEvent['state']): AgentAction => ({
    kind: 'publish',
    topic: 'agent/timers/timer',
    payload: { id: t.id, label: t.label, state, seconds: t.seconds, dueMs: t.dueMs },
  });
  const reply = (r: TimerReply): AgentAction => ({
    kind: 'publish',
    topic: 'agent/timers/reply',
    payload: r,
  });
  /** The timers a label names (all of them without one). */
  const named = (s: TimersState, label: string | undefined): readonly TimerEntry[] => {
    if (label === undefined || labelKey(label) === '') return s.timers;
    const key = labelKey(label);
    return s.timers.filter((t) => t.label !== null && labelKey(t.label) === key);
  };

  const set = (s: TimersState, c: TimerCommand, ctx: DecideContext): Decision<TimersEvent> => {
    const seconds = Math.round(c.seconds ?? 0);
    const refuse = (refused: NonNullable<TimerReply['refused']>, say: string): Decision<TimersEvent> => ({
      events: [],
      actions: [reply({ requestId: c.requestId, ok: false, say, timers: [], refused })],
    });
    if (seconds < 1) return refuse('too_short', 'A timer needs a length of at least one second.');
    if (seconds > o.maxDurationS)
      return refuse('too_long', `I can only set timers up to ${formatDuration(o.maxDurationS)}.`);
    const raw = (c.label ?? '').trim().slice(0, MAX_LABEL_CHARS);
    const label = labelKey(raw) === '' ? null : raw.replace(/^(the|my|a)\s+/i, '');
    // A label already running is set again (replaced), not doubled.
    const replaced = label === null ? [] : named(s, label);
    if (s.timers.length - replaced.length >= o.maxTimers)
      return refuse('max_timers', `I can only keep ${o.maxTimers} timers at once.`);
    const timer: TimerEntry = {
      id: `t${s.created + 1}`,
      label,
      seconds,
      setAtMs: ctx.nowMs,
      dueMs: ctx.nowMs + seconds * 1000,
    };
    for (const r of replaced) ctx.cancelTimer(TIMER_PREFIX + r.id);
    ctx.setTimer(TIMER_PREFIX + timer.id, timer.dueMs);
    const say =
      label === null
        ? `Timer set for ${formatDuration(seconds)}.`
        : `${capitalise(label)} timer set for ${formatDuration(seconds)}.`;
    return {
      events: [
        ...replaced.map((r): TimersEvent => ({ type: 'timer_cancelled', id: r.id })),
        { type: 'timer_set', timer },
      ],
      actions: [
        ...replaced.map((r) => event(r, 'cancelled')),
        event(timer, 'set'),
        reply({ requestId: c.requestId, ok: true, say, timers: [view(timer, ctx.nowMs)] }),
      ],
    };
  };

  const cancel = (s: TimersState, c: TimerCommand, ctx: DecideContext): Decision<TimersEvent> => {
    const hit = named(s, c.label);
    if (hit.length === 0) {
      const say = s.timers.length === 0 ? 'There are no timers running.' : `There is no ${c.label} timer.`;
      return { events: [], actions: [reply({ requestId: c.requestId, ok: false, say, timers: [] })] };
    }
    for (const t of hit) ctx.cancelTimer(TIMER_PREFIX + t.id);
    const say = hit.length === 1 ? `Cancelled ${timerName(hit[0]!)}.` : `Cancelled all ${hit.length} timers.`;
    return {
      events: hit.map((t) => ({ type: 'timer_cancelled', id: t.id })),
      actions: [
        ...hit.map((t) => event(t, 'cancelled')),
        reply({ requestId: c.requestId, ok: true, say, timers: hit.map((t) => view(t, ctx.nowMs)) }),
      ],
    };
  };

  const remaining = (s: TimersState, c: TimerCommand, ctx: DecideContext): Decision<TimersEvent> => {
    const hit = named(s, c.label);
    if (hit.length === 0) {
      const say = s.timers.length === 0 ? 'There are no timers running.' : `There is no ${c.label} timer.`;
      return { events: [], actions: [reply({ requestId: c.requestId, ok: false, say, timers: [] })] };
    }
    const views = hit.map((t) => view(t, ctx.nowMs));
    const parts = hit.map((t, i) => `${formatDuration(views[i]!.remaining_s)} left on ${timerName(t)}`);
    const say = `${capitalise(parts.length === 1 ? parts[0]! : `${parts.slice(0, -1).join(', ')} and ${parts.at(-1)}`)}.`;
    return { events: [], actions: [reply({ requestId: c.requestId, ok: true, say, timers: views })] };
  };

  const fire = (s: TimersState, name: string, ctx: DecideContext): Decision<TimersEvent> => {
    const t = s.timers.find((x) => TIMER_PREFIX + x.id === name);
    if (t === undefined) return NONE; // cancelled (or fired) already
    const text = `${capitalise(timerName(t))} is done.`;
    return {
      events: [{ type: 'timer_fired', id: t.id, atMs: ctx.nowMs }],
      actions: [
        {
          kind: 'publish',
          topic: 'action/say',
          payload: { text, utteranceId: `${id}:${t.id}`, final: true, source: 'timer' },
        },
        event(t, 'fired'),
      ],
    };
  };

  const decide = (s: TimersState, input: AgentInput, ctx: DecideContext): Decision<TimersEvent> => {
    if (input.kind === 'timer') return fire(s, input.name, ctx);
    const c = input.env.payload as TimerCommand;
    switch (c.op) {
      case 'set':
        return set(s, c, ctx);
      case 'cancel':
        return cancel(s, c, ctx);
      case 'remaining':
        return remaining(s, c, ctx);
      default:
        return NONE;
    }
  };

  return {
    id,
    capabilities: ['timers'],
    // Batched (guaranteed), 16 deep: every command is someone waiting for an answer.
    subscriptions: [{ pattern: 'agent/timers/command', qos: 'batched', capacity: 16 }],
    initialState: initialTimersState,
    reduce: reduceTimers,
    decide,
    onStart(state, ctx) {
      // The log says which timers still run: arm each at its due time (at once if it passed).
      for (const t of state.timers) ctx.setTimer(TIMER_PREFIX + t.id, t.dueMs);
    },
  };
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
