import { arch } from 'node:process';
import { Counter, Gauge, Registry } from 'prom-client';
import type { LatencyHistograms } from '../../util/latency-histogram.js';
import { type LoopDelayReader, LoopDelaySampler } from '../../util/loop-delay.js';
import { packageVersion } from '../../util/package-root.js';
import type { MetricsSources, StatsProviders, StatsSnapshot } from '../stats-snapshot.js';
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
import { type HistogramSeries, snapshotHistogram } from './metrics-histograms.js';
import { nodeFamilies } from './metrics-node.js';
import { mcpFamilies, pluginFamilies } from './metrics-plugins.js';
import {
  agentFamilies,
  modelFamilies,
  mqttFamilies,
  replayFamilies,
  routingFamilies,
  sensorCounterFamilies,
  sensorFamilies,
  ttsFamilies,
  wakeFamilies,
} from './metrics-stages.js';

export type { MetricsSources } from '../stats-snapshot.js';
export type { HttpServerStats } from './metrics-core.js';

export interface MetricsOptions {
  /** A fresh snapshot; called once per scrape. */
  readonly snapshot: () => StatsSnapshot;
  /** Which providers exist: families whose section can never be present are not registered. */
  readonly provides: (section: keyof StatsProviders) => boolean;
  readonly http?: () => HttpServerStats;
  /** What the components measure beyond the stats snapshot (kept out of the JSON of /api/stats). */
  readonly sources?: MetricsSources;
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
  private loopDelay: LoopDelayReader | undefined;
  private readonly options: MetricsOptions;

  constructor(options: MetricsOptions) {
    this.options = options;
    const family: DefineFamily = (kind, name, help, labelNames, fill) =>
      this.family(kind, name, help, labelNames, fill);
    // prom-client's process_* and nodejs_* families; the event-loop lag from the sampler the
    // stats collector reads too (metrics-node.ts). prom-client gives no way to stop its GC
    // observer: it lives as long as the process, once per Metrics (one per daemon; it does not
    // keep the loop alive).
    nodeFamilies(this.registry, () => {
      this.loopDelay ??= (options.sources?.loopDelay ?? new LoopDelaySampler()).open();
      return this.loopDelay;
    });
    processFamilies(family, { version: packageVersion(), arch });
    busFamilies(family);
    const has = options.provides;
    if (has('health')) healthFamilies(family);
    if (has('models')) modelFamilies(family);
    if (has('wake')) wakeFamilies(family);
    if (has('routing')) routingFamilies(family);
    if (has('outbox') || has('broker')) mqttFamilies(family);
    if (has('memory')) memoryFamilies(family);
    if (has('sensors')) sensorFamilies(family);
    if (has('storage')) storageFamilies(family);
    if (has('replay')) replayFamilies(family);
    if (has('agents')) agentFamilies(family);
    if (has('plugins')) pluginFamilies(family);
    if (has('mcp')) mcpFamilies(family);
    if (has('tts')) ttsFamilies(family);
    if (options.http !== undefined) httpFamilies(family, options.http);
    this.sourceFamilies(family, options.sources ?? {});
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /**
   * Stop reading the event-loop delay (the HTTP server's stop). The window opens on the first
   * scrape, so a daemon nobody scrapes samples only for its stats; the next scrape reopens it.
   */
  close(): void {
    this.loopDelay?.close();
    this.loopDelay = undefined;
  }

  /** The text exposition format for one scrape. */
  async render(): Promise<string> {
    this.snap = this.options.snapshot();
    return this.registry.metrics();
  }

  private sourceFamilies(family: DefineFamily, src: MetricsSources): void {
    if (src.sensors !== undefined) sensorCounterFamilies(family, src.sensors);
    const keyed = (h: LatencyHistograms, label: string) => (): HistogramSeries[] =>
      h.snapshot().map((x) => ({ labels: { [label]: x.label }, histogram: x.histogram }));
    const hist = (name: string, help: string, labels: string[], read: () => readonly HistogramSeries[]) =>
      snapshotHistogram(this.registry, name, help, labels, read);
    if (src.modelLatency !== undefined) {
      hist(
        'edgeloom_model_latency_seconds',
        'Inference time per session run, s.',
        ['model'],
        keyed(src.modelLatency, 'model'),
      );
    }
    const cloud = src.cloudLatency;
    if (cloud !== undefined) {
      hist('edgeloom_router_cloud_latency_seconds', 'Cloud call latency, s.', [], () => [
        { labels: {}, histogram: cloud() },
      ]);
    }
    if (src.stageLatency !== undefined) {
      hist(
        'edgeloom_stage_latency_seconds',
        'End to end, s: camera frame to face/emotion, end of speech to voice/transcript, IMU impact to an imu/motion fall.',
        ['stage'],
        keyed(src.stageLatency, 'stage'),
      );
    }
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
