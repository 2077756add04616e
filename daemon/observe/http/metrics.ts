import { Counter, Gauge, Registry } from 'prom-client';
import type { StatsProviders, StatsSnapshot } from '../stats-snapshot.js';
import {
  busFamilies,
  type DefineFamily,
  type Fill,
  type HttpServerStats,
  healthFamilies,
  httpFamilies,
  memoryFamilies,
  processFamilies,
  storageFamilies,
} from './metrics-core.js';
import { mcpFamilies, pluginFamilies } from './metrics-plugins.js';
import {
  agentFamilies,
  modelFamilies,
  mqttFamilies,
  replayFamilies,
  routingFamilies,
  sensorFamilies,
} from './metrics-stages.js';

export type { HttpServerStats } from './metrics-core.js';

export interface MetricsOptions {
  /** A fresh snapshot; called once per scrape. */
  readonly snapshot: () => StatsSnapshot;
  /** Which providers exist: families whose section can never be present are not registered. */
  readonly provides: (section: keyof StatsProviders) => boolean;
  readonly http?: () => HttpServerStats;
}

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
    const family: DefineFamily = (kind, name, help, labelNames, fill) =>
      this.family(kind, name, help, labelNames, fill);
    processFamilies(family);
    busFamilies(family);
    const has = options.provides;
    if (has('health')) healthFamilies(family);
    if (has('models')) modelFamilies(family);
    if (has('routing')) routingFamilies(family);
    if (has('outbox') || has('broker')) mqttFamilies(family);
    if (has('memory')) memoryFamilies(family);
    if (has('sensors')) sensorFamilies(family);
    if (has('storage')) storageFamilies(family);
    if (has('replay')) replayFamilies(family);
    if (has('agents')) agentFamilies(family);
    if (has('plugins')) pluginFamilies(family);
    if (has('mcp')) mcpFamilies(family);
    if (options.http !== undefined) httpFamilies(family, options.http);
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
}
