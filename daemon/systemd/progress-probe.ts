import type { EventBus } from '../bus/types.js';
import type { ProgressVerdict } from './watchdog.js';

/**
 * "Is the pipeline making progress?" for the systemd watchdog. Quiet is not stuck: a device with
 * its camera unplugged publishes nothing and is healthy. Stuck is a subscription that has work
 * queued but has delivered nothing for `stuckMs` — a handler that never returns (a hung model
 * run, a deadlocked await). Then the probe fails, the watchdog stops pinging and systemd restarts
 * the daemon. Cheap: one pass over the bus stats per ping.
 */
export function busProgressProbe(
  bus: EventBus,
  stuckMs = 60_000,
  now = () => Date.now(),
): () => ProgressVerdict {
  const last = new Map<number, { delivered: number; sinceMs: number }>();
  return () => {
    const t = now();
    const seen = new Set<number>();
    for (const s of bus.stats()) {
      seen.add(s.id);
      const prev = last.get(s.id);
      const handled = s.delivered + s.failed;
      if (prev === undefined || handled !== prev.delivered || s.queueDepth === 0) {
        last.set(s.id, { delivered: handled, sinceMs: t });
        continue;
      }
      if (t - prev.sinceMs >= stuckMs) {
        return {
          ok: false,
          reason: `${s.component} (${s.pattern}) has ${s.queueDepth} queued and delivered nothing for ${Math.round((t - prev.sinceMs) / 1000)} s`,
        };
      }
    }
    for (const id of last.keys()) if (!seen.has(id)) last.delete(id);
    return { ok: true };
  };
}
