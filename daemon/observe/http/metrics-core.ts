/**
 * The metric families of /metrics, by section of the stats snapshot (observe/stats.ts): here the
 * daemon as a whole (host, bus, health, memory guard, store, HTTP server) and the types every
 * family is written with; metrics-stages.ts has the pipeline's stages, metrics-histograms.ts the
 * latency histograms. metrics.ts registers the families whose section can be present and fills
 * each from the scrape's snapshot. Names carry units (`_bytes`, `_seconds`, `_total`).
 */
import type { StatsSnapshot } from '../stats-snapshot.js';
import { healthOf } from './health.js';

export type Labels = Record<string, string>;
/** Sets the family's samples from the snapshot; called once per scrape. */
export type Fill = (snap: StatsSnapshot, set: (value: number, labels?: Labels) => void) => void;
/** Registers one family (Metrics.family). */
export type DefineFamily = (
  kind: 'gauge' | 'counter',
  name: string,
  help: string,
  labelNames: string[],
  fill: Fill,
) => void;

/** Counters the HTTP server keeps about itself. */
export interface HttpServerStats {
  /** Requests answered, by route and status code. */
  readonly requests: ReadonlyMap<string, number>;
  readonly sseClients: number;
  /** SSE events dropped for slow clients since start (drop-oldest per client). */
  readonly sseDropped: number;
  /** SSE clients turned away at the client limit. */
  readonly sseRejected: number;
  /** Connections closed at once because their client already held its share. */
  readonly connectionsRefused: number;
  /** Requests refused for a Host the daemon does not answer to (DNS rebinding). */
  readonly hostRefused: number;
}

const LEVEL = { ok: 0, soft: 1, hard: 2 } as const;
const STATUS = { ok: 0, degraded: 1, failed: 2 } as const;

/**
 * The host beside the process figures collectDefaultMetrics gives (metrics.ts): load average and
 * SoC temperature, and what was built. The process itself (CPU, RSS, heap, external memory, fds,
 * active resources, event-loop lag, GC) is prom-client's `process_*` and `nodejs_*` families.
 */
export function processFamilies(family: DefineFamily, build: { version: string; arch: string }): void {
  family(
    'gauge',
    'edgeloom_build_info',
    'Always 1; the labels say which edgeloom runs (version) on which architecture.',
    ['version', 'arch'],
    (_s, set) => set(1, build),
  );
  family('gauge', 'edgeloom_system_load_average', 'OS load average.', ['window'], (s, set) => {
    const [m1, m5, m15] = s.process.loadAverage;
    set(m1, { window: '1m' });
    set(m5, { window: '5m' });
    set(m15, { window: '15m' });
  });
  family(
    'gauge',
    'edgeloom_soc_temperature_celsius',
    'SoC temperature, °C (absent without a sensor).',
    ['sensor'],
    (s, set) => {
      if (s.temperatureC !== undefined) set(s.temperatureC, { sensor: 'soc' });
    },
  );
}

export function busFamilies(family: DefineFamily): void {
  family(
    'counter',
    'edgeloom_bus_topic_events_total',
    'Events published per topic (past the topic cap: "(other)").',
    ['topic'],
    (s, set) => {
      for (const t of s.topics) set(t.total, { topic: t.topic });
      if (s.otherTopics.total > 0) set(s.otherTopics.total, { topic: '(other)' });
    },
  );
  family(
    'gauge',
    'edgeloom_bus_topic_events_per_second',
    'Events per second per topic over the last period.',
    ['topic'],
    (s, set) => {
      for (const t of s.topics) set(t.perSecond, { topic: t.topic });
      if (s.otherTopics.total > 0) set(s.otherTopics.perSecond, { topic: '(other)' });
    },
  );
  const sub = (
    kind: 'gauge' | 'counter',
    name: string,
    help: string,
    pick: (x: StatsSnapshot['subscriptions'][number]) => number,
  ) =>
    family(kind, name, help, ['subscription'], (s, set) => {
      for (const x of s.subscriptions) set(pick(x), { subscription: subscriptionLabel(x) });
    });
  sub('counter', 'edgeloom_bus_published_total', 'Events that matched the subscription.', (x) => x.published);
  sub('counter', 'edgeloom_bus_delivered_total', 'Events whose handler completed.', (x) => x.delivered);
  sub('counter', 'edgeloom_bus_failed_total', 'Handler failures.', (x) => x.failed);
  sub('gauge', 'edgeloom_bus_queue_depth', 'Events waiting in the subscription queue.', (x) => x.queueDepth);
  sub('gauge', 'edgeloom_bus_queue_capacity', 'Subscription queue bound.', (x) => x.queueCapacity);
  sub(
    'counter',
    'edgeloom_bus_handler_seconds_total',
    'Handler wall time, s.',
    (x) => x.handlerMsTotal / 1000,
  );
  family(
    'counter',
    'edgeloom_bus_dropped_total',
    'Events dropped per subscription and reason (queue_full, sampled, aggregated, interrupted, unsubscribed; refused: a publish refused with E_BUS_BACKPRESSURE because this subscription was full).',
    ['subscription', 'reason'],
    (s, set) => {
      for (const x of s.subscriptions) {
        for (const [reason, n] of Object.entries(x.dropped))
          set(n, { subscription: subscriptionLabel(x), reason });
      }
    },
  );
}

export function healthFamilies(family: DefineFamily): void {
  family(
    'gauge',
    'edgeloom_component_status',
    'Component health: 0 ok, 1 degraded, 2 failed.',
    ['component'],
    (s, set) => {
      for (const [component, h] of Object.entries(s.health ?? {})) set(STATUS[h.status], { component });
    },
  );
  family('gauge', 'edgeloom_healthy', '1 when /healthz answers ok, else 0.', [], (s, set) =>
    set(healthOf(s).status === 'ok' ? 1 : 0),
  );
}

export function memoryFamilies(family: DefineFamily): void {
  family(
    'gauge',
    'edgeloom_memory_budget_bytes',
    'The configured memory budget, bytes.',
    ['guard'],
    (s, set) => {
      if (s.memory !== undefined) set(s.memory.budgetBytes, { guard: 'rss' });
    },
  );
  family(
    'gauge',
    'edgeloom_memory_pressure_level',
    'Memory guard level: 0 ok, 1 soft, 2 hard.',
    ['guard'],
    (s, set) => {
      if (s.memory !== undefined) set(LEVEL[s.memory.level], { guard: 'rss' });
    },
  );
}

export function storageFamilies(family: DefineFamily): void {
  const g = (name: string, help: string, pick: (x: NonNullable<StatsSnapshot['storage']>) => number) =>
    family('gauge', name, help, [], (s, set) => {
      if (s.storage !== undefined) set(pick(s.storage));
    });
  g('edgeloom_store_size_bytes', 'LevelDB files in storage.dir, bytes.', (x) => x.sizeBytes);
  g(
    'edgeloom_store_open_sublevels',
    'Sublevels open on the store: one per owner, constant while the daemon runs.',
    (x) => x.openSublevels,
  );
  g(
    'edgeloom_store_quarantined_stores',
    'Damaged stores kept on disk beside storage.dir (edgeloom doctor lists them).',
    (x) => x.quarantinedStores,
  );
  const c = (name: string, help: string, pick: (x: NonNullable<StatsSnapshot['storage']>) => number) =>
    family('counter', name, help, [], (s, set) => {
      if (s.storage !== undefined) set(pick(s.storage));
    });
  c('edgeloom_store_sublevels_created_total', 'Sublevels created since start.', (x) => x.createdSublevels);
  c(
    'edgeloom_store_quarantines_total',
    'Damaged stores moved aside at start-up and replaced by a fresh one.',
    (x) => x.quarantines,
  );
}

export function httpFamilies(family: DefineFamily, http: () => HttpServerStats): void {
  family(
    'counter',
    'edgeloom_http_requests_total',
    'HTTP requests answered.',
    ['route', 'code'],
    (_s, set) => {
      for (const [key, n] of http().requests) {
        const [route = '', code = ''] = key.split(' ');
        set(n, { route, code });
      }
    },
  );
  family('gauge', 'edgeloom_sse_clients', 'Connected event-stream clients.', [], (_s, set) =>
    set(http().sseClients),
  );
  family(
    'counter',
    'edgeloom_sse_dropped_total',
    'Events dropped for slow event-stream clients.',
    [],
    (_s, set) => set(http().sseDropped),
  );
  family(
    'counter',
    'edgeloom_sse_rejected_total',
    'Event-stream clients refused at the client limit.',
    [],
    (_s, set) => set(http().sseRejected),
  );
  family(
    'counter',
    'edgeloom_http_connections_refused_total',
    'Connections closed at once because their client already held http.max_connections_per_client.',
    [],
    (_s, set) => set(http().connectionsRefused),
  );
  family(
    'counter',
    'edgeloom_http_host_refused_total',
    'Requests refused (421) for a Host header the daemon does not answer to.',
    [],
    (_s, set) => set(http().hostRefused),
  );
}

/** `component pattern`: stable across restarts (subscription ids are not). */
export function subscriptionLabel(x: { component: string; pattern: string }): string {
  return `${x.component} ${x.pattern}`;
}
