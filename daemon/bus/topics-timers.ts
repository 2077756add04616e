/**
 * Payloads of the timers agent's topics (voice skills, issue #14): `agent/timers/command`,
 * `agent/timers/reply`, `agent/timers/timer`. Kept beside topics.ts (which maps them) so the map
 * stays one screenful per part.
 */

/** A request to the timers agent (agents/skills/timer-tools.ts → agents/skills/timers-agent.ts). */
export interface TimerCommand {
  /** Echoed in the reply: the tool call waiting for it. */
  readonly requestId: string;
  readonly op: 'set' | 'cancel' | 'remaining';
  /** `set`: how long, seconds. */
  readonly seconds?: number;
  /** The timer's name ("pasta"); absent: unnamed (set), every timer (cancel, remaining). */
  readonly label?: string;
}

/** One running timer as the agent reports it. */
export interface TimerView {
  readonly id: string;
  readonly label: string | null;
  /** Length it was set for, seconds. */
  readonly seconds: number;
  /** Left now, seconds (rounded up). */
  readonly remaining_s: number;
}

/** The timers agent's answer to a TimerCommand, after its events are persisted. */
export interface TimerReply {
  readonly requestId: string;
  readonly ok: boolean;
  /** What to speak. */
  readonly say: string;
  /** The timers the command set, cancelled or asked about. */
  readonly timers: readonly TimerView[];
  /** Why a `set` was refused. */
  readonly refused?: 'max_timers' | 'too_long' | 'too_short';
}

/** A timer's life: set, cancelled, fired (MQTT `<base>/voice/timer`). */
export interface TimerEvent {
  readonly id: string;
  readonly label: string | null;
  readonly state: 'set' | 'cancelled' | 'fired';
  /** Length it was set for, seconds. */
  readonly seconds: number;
  /** Clock time it is (or was) due, ms. */
  readonly dueMs: number;
}
