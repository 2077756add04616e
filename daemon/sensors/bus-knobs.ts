/**
 * How a sensor's events reach the stage that analyses them — the face stage for the camera, the
 * VAD for the microphone, the motion agent for the IMU: that subscription's QoS class, queue bound
 * and sampling are the sensor's `sensors.<kind>.qos`, `.queue_capacity` and `.sampling` (README,
 * "Sensors"). The recorder and the MQTT bridge keep their own guaranteed delivery: they must see
 * every event, so the sensor's knobs do not apply to them.
 */
import type { OverflowPolicy, QosClass } from '../bus/types.js';

/** `sensors.<kind>` as far as the bus is concerned (the microphone has no sampling). */
export interface SensorBusKnobs {
  readonly qos: QosClass;
  readonly queue_capacity: number;
  readonly sampling?: { readonly max_per_second: number; readonly every_nth: number };
}

/** The subscription options of the analysing stage. */
export interface SensorSubscription {
  readonly qos: QosClass;
  readonly queueCapacity: number;
  /** Absent: the QoS class's own policy (realtime drop-oldest, batched block, background drop-newest). */
  readonly overflow?: OverflowPolicy;
}

/**
 * The analysing stage's subscription for a sensor. Sampling, when configured (max_per_second > 0
 * or every_nth > 1), is the bus's `sample` policy: events are thinned before they are queued, and
 * a full queue then drops its oldest. Otherwise a `realtime` class may take the stage's own
 * realtime policy (`realtimeOverflow`: the face stage keeps the latest frame of each camera).
 */
export function sensorSubscription(
  knobs: SensorBusKnobs,
  realtimeOverflow?: OverflowPolicy,
): SensorSubscription {
  const base = { qos: knobs.qos, queueCapacity: knobs.queue_capacity };
  const s = knobs.sampling;
  if (s !== undefined && (s.max_per_second > 0 || s.every_nth > 1)) {
    return {
      ...base,
      overflow: {
        kind: 'sample',
        ...(s.max_per_second > 0 ? { maxPerSecond: s.max_per_second } : {}),
        ...(s.every_nth > 1 ? { everyNth: s.every_nth } : {}),
      },
    };
  }
  if (knobs.qos === 'realtime' && realtimeOverflow !== undefined)
    return { ...base, overflow: realtimeOverflow };
  return base;
}
