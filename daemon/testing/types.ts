/** The types a test reads (`edgeloom/testing` re-exports them). */
import type { PatternCheck, PayloadMatching } from '../bus/patterns.js';
import type { TopicMap } from '../bus/topics.js';

/** One bus event, as a test sees it. */
export interface BusEvent<P = unknown> {
  readonly topic: string;
  /** Since the fixture's start, ms (the envelope's clock time when no fixture is replayed). */
  readonly tMs: number;
  /** The envelope's clock time, ms since the epoch (fixture time in a replay). */
  readonly tsMs: number;
  /** The component that published it (`agent.motion`, `replay.imu`, `plugin.<id>`, …). */
  readonly source: string;
  readonly correlationId: string | undefined;
  readonly payload: P;
}

/** The events of a pattern, typed by the topics it reaches (`'inference/face/+'` → FaceInference). */
export type EventsOn<P extends string> = BusEvent<PayloadMatching<TopicMap, P>>[];

/** One MQTT message the daemon published (to the broker it would have had). */
export interface MqttRecord {
  /** Since the fixture's start, ms. */
  readonly tMs: number;
  /** The full topic (`edgeloom/<device id>/imu/motion`, or an absolute one like `home/kitchen/light/set`). */
  readonly topic: string;
  readonly qos: 0 | 1;
  readonly retain: boolean;
  /** The JSON payload of a contract message; undefined for a bare value (`ON`) or image bytes. */
  readonly json: Readonly<Record<string, unknown>> | undefined;
  /** What goes on the wire: the JSON text, the bare value, or `<N bytes>` for an image. */
  readonly text: string;
}

export interface Collected {
  readonly events: readonly BusEvent[];
  readonly mqtt: readonly MqttRecord[];
  /** Events past maxEvents, not kept. */
  readonly eventsDropped: number;
  /** The collected events whose topic matches `pattern`, typed by it. */
  on<P extends string>(pattern: P & PatternCheck<TopicMap, P>): EventsOn<P>;
}
