import { Counter, Gauge, Registry } from 'prom-client';
import type { StatsProviders, StatsSnapshot } from '../stats.js';
import { healthOf } from './health.js';

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

export interface MetricsOptions {
  /** A fresh snapshot; called once per scrape. */
  readonly snapshot: () => StatsSnapshot;
  /** Which providers exist: families whose section can never be present are not registered. */
  readonly provides: (section: keyof StatsProviders) => boolean;
  readonly http?: () => HttpServerStats;
}

type Labels = Record<string, string>;
type Fill = (snap: StatsSnapshot, set: (value: number, labels?: Labels) => void) => void;

const LEVEL = { ok: 0, soft: 1, hard: 2 } as const;
const STATUS = { ok: 0, degraded: 1, failed: 2 } as const;

/**
 * The Prometheus view of the stats snapshot, on its own registry (never prom-client's global
 * one, so two daemons in one test process do not collide). Every family is filled in its
 * collect() callback from the snapshot taken at the start of the scrape, so values are fresh at
 * scrape time and consistent with each other. Names carry units (`_bytes`, `_seconds`, `_total`).
 */
export class Metrics {
  readonly registry = new Registry();
  private snap: StatsSnapshot | undefined;
  private readonly options: MetricsOptions;

  constructor(options: MetricsOptions) {
    this.options = options;
    this.registerProcess();
    this.registerBus();
    const has = options.provides;
    if (has('health')) this.registerHealth();
    if (has('models')) this.registerModels();
    if (has('routing')) this.registerRouting();
    if (has('outbox') || has('broker')) this.registerMqtt();
    if (has('memory')) this.registerMemory();
    if (has('sensors')) this.registerSensors();
    if (has('storage')) this.registerStorage();
    if (has('replay')) this.registerReplay();
    if (has('agents')) this.registerAgents();
    if (options.http !== undefined) this.registerHttp(options.http);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The text exposition format for one scrape. */
  async render(): Promise<string> {
    this.snap = this.options.snapshot();
    return this.registry.metrics();
  }

  private family(
    kind: 'gauge' | 'counter',
    name: string,
    help: string,
    labelNames: string[],
    fill: Fill,
  ): void {
    const metrics = this;
    const config = {
      name,
      help,
      labelNames,
      registers: [this.registry],
      collect(this: Gauge<string> | Counter<string>) {
        this.reset();
        const snap = metrics.snap ?? metrics.options.snapshot();
        fill(snap, (value, labels = {}) => {
          if (!Number.isFinite(value)) return;
          // inc() after reset() sums rows that share labels (two subscriptions of one component
          // to one pattern), which is what a counter or a queue depth should do.
          if (this instanceof Counter) this.inc(labels, Math.max(0, value));
          else this.inc(labels, value);
        });
      },
    };
    if (kind === 'gauge') new Gauge(config);
    else new Counter(config);
  }

  private registerProcess(): void {
    const g = (name: string, help: string, pick: (s: StatsSnapshot) => number): void =>
      this.family('gauge', name, help, [], (s, set) => set(pick(s)));
    g('edgeloom_process_resident_memory_bytes', 'Resident set size, bytes.', (s) => s.process.rssBytes);
    g('edgeloom_process_heap_used_bytes', 'V8 heap in use, bytes.', (s) => s.process.heapUsedBytes);
    g('edgeloom_process_heap_total_bytes', 'V8 heap reserved, bytes.', (s) => s.process.heapTotalBytes);
    g(
      'edgeloom_process_external_memory_bytes',
      'Memory outside the V8 heap (buffers, ONNX), bytes.',
      (s) => s.process.externalBytes,
    );
    g(
      'edgeloom_process_cpu_ratio',
      'CPU used over the last period, fraction of one core.',
      (s) => s.process.cpuRatio,
    );
    g('edgeloom_uptime_seconds', 'Time since the stats collector started, s.', (s) => s.process.uptimeS);
    this.family('counter', 'edgeloom_process_cpu_seconds_total', 'User + system CPU time, s.', [], (s, set) =>
      set(s.process.cpuSecondsTotal),
    );
    this.family('gauge', 'edgeloom_system_load_average', 'OS load average.', ['window'], (s, set) => {
      const [m1, m5, m15] = s.process.loadAverage;
      set(m1, { window: '1m' });
      set(m5, { window: '5m' });
      set(m15, { window: '15m' });
    });
    this.family('gauge', 'edgeloom_process_open_fds', 'Open file descriptors.', [], (s, set) => {
      if (s.process.openFds !== undefined) set(s.process.openFds);
    });
    this.family(
      'gauge',
      'edgeloom_process_active_resources',
      'Handles and requests keeping the event loop alive, by type (Timeout, TCPSocketWrap, ...).',
      ['type'],
      (s, set) => {
        for (const [type, n] of Object.entries(s.process.activeResources)) set(n, { type });
      },
    );
    this.family(
      'gauge',
      'edgeloom_event_loop_delay_seconds',
      'Event-loop delay over the last stats period, s.',
      ['quantile'],
      (s, set) => {
        const d = s.process.eventLoopDelayMs;
        set(d.p50 / 1000, { quantile: '0.5' });
        set(d.p99 / 1000, { quantile: '0.99' });
        set(d.max / 1000, { quantile: '1' });
      },
    );
    this.family(
      'gauge',
      'edgeloom_soc_temperature_celsius',
      'SoC temperature, °C (absent without a sensor).',
      ['sensor'],
      (s, set) => {
        if (s.temperatureC !== undefined) set(s.temperatureC, { sensor: 'soc' });
      },
    );
  }

  private registerBus(): void {
    this.family(
      'counter',
      'edgeloom_bus_topic_events_total',
      'Events published per topic (past the topic cap: "(other)").',
      ['topic'],
      (s, set) => {
        for (const t of s.topics) set(t.total, { topic: t.topic });
        if (s.otherTopics.total > 0) set(s.otherTopics.total, { topic: '(other)' });
      },
    );
    this.family(
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
      this.family(kind, name, help, ['subscription'], (s, set) => {
        for (const x of s.subscriptions) set(pick(x), { subscription: subscriptionLabel(x) });
      });
    sub(
      'counter',
      'edgeloom_bus_published_total',
      'Events that matched the subscription.',
      (x) => x.published,
    );
    sub('counter', 'edgeloom_bus_delivered_total', 'Events whose handler completed.', (x) => x.delivered);
    sub('counter', 'edgeloom_bus_failed_total', 'Handler failures.', (x) => x.failed);
    sub(
      'gauge',
      'edgeloom_bus_queue_depth',
      'Events waiting in the subscription queue.',
      (x) => x.queueDepth,
    );
    sub('gauge', 'edgeloom_bus_queue_capacity', 'Subscription queue bound.', (x) => x.queueCapacity);
    sub(
      'counter',
      'edgeloom_bus_handler_seconds_total',
      'Handler wall time, s.',
      (x) => x.handlerMsTotal / 1000,
    );
    this.family(
      'counter',
      'edgeloom_bus_dropped_total',
      'Events dropped per subscription and reason.',
      ['subscription', 'reason'],
      (s, set) => {
        for (const x of s.subscriptions) {
          for (const [reason, n] of Object.entries(x.dropped))
            set(n, { subscription: subscriptionLabel(x), reason });
        }
      },
    );
  }

  private registerHealth(): void {
    this.family(
      'gauge',
      'edgeloom_component_status',
      'Component health: 0 ok, 1 degraded, 2 failed.',
      ['component'],
      (s, set) => {
        for (const [component, h] of Object.entries(s.health ?? {})) set(STATUS[h.status], { component });
      },
    );
    this.family('gauge', 'edgeloom_healthy', '1 when /healthz answers ok, else 0.', [], (s, set) =>
      set(healthOf(s).status === 'ok' ? 1 : 0),
    );
  }

  private registerModels(): void {
    this.family(
      'gauge',
      'edgeloom_model_latency_seconds',
      'Inference latency over the recent window, s.',
      ['model', 'quantile'],
      (s, set) => {
        for (const l of s.models?.latency ?? []) {
          set(l.p50Ms / 1000, { model: l.model, quantile: '0.5' });
          set(l.p99Ms / 1000, { model: l.model, quantile: '0.99' });
        }
      },
    );
    this.family('counter', 'edgeloom_model_runs_total', 'Inference runs per model.', ['model'], (s, set) => {
      for (const l of s.models?.latency ?? []) if (l.runs !== undefined) set(l.runs, { model: l.model });
    });
    this.family(
      'gauge',
      'edgeloom_model_memory_bytes',
      'Planned memory per loaded model, bytes.',
      ['model'],
      (s, set) => {
        for (const m of s.models?.models ?? [])
          if (m.memoryMb !== undefined) set(m.memoryMb * 2 ** 20, { model: m.id });
      },
    );
    this.family(
      'gauge',
      'edgeloom_models_memory_used_bytes',
      'Baseline plus loaded models, bytes.',
      ['pool'],
      (s, set) => {
        if (s.models?.usedMb !== undefined) set(s.models.usedMb * 2 ** 20, { pool: 'models' });
      },
    );
  }

  private registerRouting(): void {
    this.family(
      'counter',
      'edgeloom_router_decisions_total',
      'Routing decisions per route.',
      ['route'],
      (s, set) => {
        for (const [route, n] of Object.entries(s.routing?.decisions ?? {})) set(n, { route });
      },
    );
    this.family(
      'gauge',
      'edgeloom_router_route_ratio',
      'Share of decisions per route, 0..1.',
      ['route'],
      (s, set) => {
        for (const [route, r] of Object.entries(s.routing?.rates ?? {})) set(r, { route });
      },
    );
    this.family(
      'counter',
      'edgeloom_router_cloud_calls_total',
      'Cloud calls made.',
      ['outcome'],
      (s, set) => {
        const r = s.routing;
        if (r?.cloudCalls !== undefined) set(r.cloudCalls, { outcome: 'all' });
        if (r?.cloudFailures !== undefined) set(r.cloudFailures, { outcome: 'failed' });
      },
    );
    this.family(
      'gauge',
      'edgeloom_router_cloud_latency_seconds',
      'Cloud call latency, s.',
      ['quantile'],
      (s, set) => {
        const r = s.routing;
        if (r?.cloudLatencyP50Ms !== undefined) set(r.cloudLatencyP50Ms / 1000, { quantile: '0.5' });
        if (r?.cloudLatencyP99Ms !== undefined) set(r.cloudLatencyP99Ms / 1000, { quantile: '0.99' });
      },
    );
    this.family('gauge', 'edgeloom_router_cost_today_usd', 'Cloud spend today, USD.', ['day'], (s, set) => {
      if (s.routing?.costTodayUsd !== undefined) set(s.routing.costTodayUsd, { day: 'today' });
    });
  }

  private registerMqtt(): void {
    this.family(
      'gauge',
      'edgeloom_mqtt_outbox_depth',
      'Messages waiting for the broker.',
      ['outbox'],
      (s, set) => {
        if (s.outbox !== undefined) set(s.outbox.depth, { outbox: 'mqtt' });
      },
    );
    this.family(
      'counter',
      'edgeloom_mqtt_outbox_dropped_total',
      'Outbox messages dropped at its bound.',
      ['outbox'],
      (s, set) => {
        if (s.outbox?.dropped !== undefined) set(s.outbox.dropped, { outbox: 'mqtt' });
      },
    );
    this.family(
      'counter',
      'edgeloom_mqtt_outbox_write_errors_total',
      'Outbox batches whose write failed (a full disk).',
      ['outbox'],
      (s, set) => {
        if (s.outbox?.writeErrors !== undefined) set(s.outbox.writeErrors, { outbox: 'mqtt' });
      },
    );
    this.family(
      'counter',
      'edgeloom_mqtt_outbox_unstored_total',
      'QoS 1 messages refused because their write failed (never accepted).',
      ['outbox'],
      (s, set) => {
        if (s.outbox?.unstored !== undefined) set(s.outbox.unstored, { outbox: 'mqtt' });
      },
    );
    this.family(
      'gauge',
      'edgeloom_mqtt_connected',
      '1 when connected to the broker.',
      ['broker'],
      (s, set) => {
        if (s.broker !== undefined) set(s.broker.connected ? 1 : 0, { broker: 'mqtt' });
      },
    );
    this.family(
      'counter',
      'edgeloom_mqtt_withheld_total',
      'MQTT messages the privacy gate kept from the broker (its destination may not have their tier), by reason.',
      ['reason'],
      (s, set) => {
        for (const [reason, n] of Object.entries(s.broker?.withheld ?? {})) set(n, { reason });
      },
    );
  }

  private registerMemory(): void {
    this.family(
      'gauge',
      'edgeloom_memory_budget_bytes',
      'The configured memory budget, bytes.',
      ['guard'],
      (s, set) => {
        if (s.memory !== undefined) set(s.memory.budgetBytes, { guard: 'rss' });
      },
    );
    this.family(
      'gauge',
      'edgeloom_memory_pressure_level',
      'Memory guard level: 0 ok, 1 soft, 2 hard.',
      ['guard'],
      (s, set) => {
        if (s.memory !== undefined) set(LEVEL[s.memory.level], { guard: 'rss' });
      },
    );
  }

  private registerSensors(): void {
    this.family(
      'gauge',
      'edgeloom_sensor_up',
      '1 while the sensor is running.',
      ['sensor', 'kind'],
      (s, set) => {
        for (const x of s.sensors ?? [])
          set(x.state === 'running' ? 1 : 0, { sensor: x.sensor, kind: x.kind });
      },
    );
    this.family('counter', 'edgeloom_sensor_restarts_total', 'Sensor restarts.', ['sensor'], (s, set) => {
      for (const x of s.sensors ?? []) set(x.restarts, { sensor: x.sensor });
    });
  }

  private registerStorage(): void {
    const g = (name: string, help: string, pick: (x: NonNullable<StatsSnapshot['storage']>) => number) =>
      this.family('gauge', name, help, [], (s, set) => {
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
      this.family('counter', name, help, [], (s, set) => {
        if (s.storage !== undefined) set(pick(s.storage));
      });
    c('edgeloom_store_sublevels_created_total', 'Sublevels created since start.', (x) => x.createdSublevels);
    c(
      'edgeloom_store_quarantines_total',
      'Damaged stores moved aside at start-up and replaced by a fresh one.',
      (x) => x.quarantines,
    );
  }

  private registerReplay(): void {
    this.family(
      'counter',
      'edgeloom_replay_passes_total',
      'Passes over the fixture completed.',
      [],
      (s, set) => {
        if (s.replay !== undefined) set(s.replay.passes);
      },
    );
    this.family(
      'counter',
      'edgeloom_replay_fixture_seconds_total',
      'Fixture (sensor) time replayed since start, s.',
      [],
      (s, set) => {
        if (s.replay !== undefined) set(s.replay.playedMs / 1000);
      },
    );
  }

  private registerAgents(): void {
    const c = (
      name: string,
      help: string,
      pick: (a: NonNullable<StatsSnapshot['agents']>[number]) => number,
    ) =>
      this.family('counter', name, help, ['agent'], (s, set) => {
        for (const a of s.agents ?? []) set(pick(a), { agent: a.agent });
      });
    c('edgeloom_agent_inputs_total', 'Inputs an agent handled.', (a) => a.inputs);
    c('edgeloom_agent_events_total', 'Events an agent persisted.', (a) => a.events);
    c(
      'edgeloom_agent_persist_errors_total',
      'Inputs dropped because their events could not be written (a full disk).',
      (a) => a.persistErrors,
    );
    c(
      'edgeloom_agent_working_errors_total',
      'Working-memory writes that failed (kept in memory, retried).',
      (a) => a.workingErrors,
    );
  }

  private registerHttp(http: () => HttpServerStats): void {
    this.family(
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
    this.family('gauge', 'edgeloom_sse_clients', 'Connected event-stream clients.', [], (_s, set) =>
      set(http().sseClients),
    );
    this.family(
      'counter',
      'edgeloom_sse_dropped_total',
      'Events dropped for slow event-stream clients.',
      [],
      (_s, set) => set(http().sseDropped),
    );
    this.family(
      'counter',
      'edgeloom_sse_rejected_total',
      'Event-stream clients refused at the client limit.',
      [],
      (_s, set) => set(http().sseRejected),
    );
    this.family(
      'counter',
      'edgeloom_http_connections_refused_total',
      'Connections closed at once because their client already held http.max_connections_per_client.',
      [],
      (_s, set) => set(http().connectionsRefused),
    );
    this.family(
      'counter',
      'edgeloom_http_host_refused_total',
      'Requests refused (421) for a Host header the daemon does not answer to.',
      [],
      (_s, set) => set(http().hostRefused),
    );
  }
}

/** `component pattern`: stable across restarts (subscription ids are not). */
export function subscriptionLabel(x: { component: string; pattern: string }): string {
  return `${x.component} ${x.pattern}`;
}
