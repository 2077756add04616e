/**
 * Per-sensor counters for /metrics: what each source published and what it could not, by reason.
 * The live sources and the replay answer the same shape, so a dashboard built on a replay works on
 * the device. Units are the source's bus events: frames for a camera and a microphone, windows for
 * an IMU. Drops after the bus accepted an event (a full subscription queue) are the bus's own
 * counters (`edgeloom_bus_dropped_total`), not these.
 */
import type { SensorKind } from '../bus/topics.js';

export interface SensorCounters {
  /** The sensor's id (`sensors.<kind>.id`). */
  readonly sensor: string;
  readonly kind: SensorKind;
  /** Events handed to the bus since start: frames (camera, mic) or windows (IMU). */
  readonly frames: number;
  /**
   * Events the source read but did not hand to the bus, by reason (each documented where it is
   * counted); never the same event as `frames`, so the two add up to what the sensor delivered.
   * A publish the bus refused is a source error (its stats), not a drop.
   */
  readonly dropped: Readonly<Record<string, number>>;
}

/** A component that reports SensorCounters (the live sources, the replay). */
export interface CountsSensorEvents {
  sensorCounters(): readonly SensorCounters[];
}

export function countsSensorEvents<T extends object>(x: T): x is T & CountsSensorEvents {
  return typeof (x as Partial<CountsSensorEvents>).sensorCounters === 'function';
}
