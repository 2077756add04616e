/**
 * Priorities, lowest number first (README, "The bus"): critical user interrupts preempt system
 * events, which preempt normal traffic, which preempts background work.
 */
export const Priority = {
  critical: 0,
  high: 1,
  normal: 2,
  low: 3,
} as const;
export type Priority = (typeof Priority)[keyof typeof Priority];
export type PriorityName = keyof typeof Priority;

/**
 * What travels on the bus: the payload plus the metadata every event carries (README, "The bus").
 * Envelopes are immutable once published; handlers must not mutate them (payload buffers
 * included: several subscribers may hold the same envelope).
 */
export interface Envelope<T = unknown> {
  /**
   * Unique within a process run; monotonic so ordering is visible in logs. Events number one
   * sequence; a request's envelope carries its correlation id (`req-<n>`) instead.
   */
  readonly id: string;
  readonly topic: string;
  /** Clock time at publish (fixture time during replay), milliseconds since the epoch. */
  readonly tsMs: number;
  /** Component that published it, e.g. `sensor.camera.front`. */
  readonly source: string;
  readonly priority: Priority;
  /** 0..1 when the payload is a judgement (an inference); undefined otherwise. */
  readonly confidence: number | undefined;
  readonly tags: readonly string[];
  readonly metadata: Readonly<Record<string, string>>;
  /** Ties requests to responses and hybrid refinements to the local result they supersede. */
  readonly correlationId: string | undefined;
  readonly payload: T;
}

/** Optional envelope fields a publisher may set. */
export interface PublishOptions {
  source?: string;
  priority?: Priority;
  confidence?: number;
  tags?: readonly string[];
  metadata?: Readonly<Record<string, string>>;
  correlationId?: string;
  /** Override the timestamp (replay publishes at fixture time); defaults to clock.now(). */
  tsMs?: number;
}
