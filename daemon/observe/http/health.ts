import type { StatsSnapshot } from '../stats-snapshot.js';

export interface HealthReport {
  readonly status: 'ok' | 'degraded';
  /** Why it is degraded, one line per cause; empty when ok. */
  readonly reasons: readonly string[];
}

/** Sensor states that mean the sensor is not delivering data. */
const SENSOR_DOWN = new Set(['stalled', 'restarting', 'failed']);

/**
 * /healthz: degraded when any component reports a problem (a sensor down), the MQTT broker is
 * unreachable, or memory is past the soft mark. Pure over a snapshot so it is testable and the
 * same answer feeds the dashboard.
 */
export function healthOf(
  snap: Pick<StatsSnapshot, 'health' | 'broker' | 'sensors' | 'memory'>,
): HealthReport {
  const reasons: string[] = [];
  for (const [name, h] of Object.entries(snap.health ?? {})) {
    if (h.status === 'ok') continue;
    const why = h.reasons !== undefined && h.reasons.length > 0 ? h.reasons.join('; ') : h.status;
    reasons.push(`${name} ${h.status}: ${why}`);
  }
  for (const s of snap.sensors ?? []) {
    if (SENSOR_DOWN.has(s.state))
      reasons.push(`sensor ${s.sensor} ${s.state}${s.reason ? `: ${s.reason}` : ''}`);
  }
  if (snap.broker !== undefined && !snap.broker.connected) {
    reasons.push(`mqtt broker unreachable${snap.broker.reason ? `: ${snap.broker.reason}` : ''}`);
  }
  const mem = snap.memory;
  // When the guard runs under the controller its own health line already says this.
  if (mem !== undefined && mem.level !== 'ok' && snap.health?.['system.memory'] === undefined) {
    reasons.push(`memory ${mem.level} pressure: RSS at ${Math.round(mem.ratio * 100)}% of budget`);
  }
  return reasons.length === 0 ? { status: 'ok', reasons: [] } : { status: 'degraded', reasons };
}
