/**
 * Latency histograms on /metrics. The components measure into their own LatencyHistogram
 * (util/latency-histogram.ts: fixed buckets, no prom-client); here each family reads those
 * snapshots at scrape time and exposes them as a Prometheus histogram (`_bucket{le}`, `_sum`,
 * `_count`), like the other families read the stats snapshot.
 */
import {
  Histogram,
  type MetricObjectWithValues,
  type MetricType,
  type MetricValueWithName,
  type Registry,
} from 'prom-client';
import { type HistogramSnapshot, LATENCY_BUCKETS_S } from '../../util/latency-histogram.js';
import type { Labels } from './metrics-core.js';

export interface HistogramSeries {
  readonly labels: Labels;
  readonly histogram: HistogramSnapshot;
}

type Values = MetricObjectWithValues<MetricValueWithName<string>>;

/**
 * A prom-client Histogram whose samples come from snapshots instead of observe(): prom-client's
 * own Histogram only counts observations made through it. Both ways the registry reads a metric
 * (get() for JSON, getForPromString() for the text format) are answered from `read()`.
 */
class SnapshotHistogram extends Histogram<string> {
  constructor(
    registry: Registry,
    private readonly family: string,
    private readonly description: string,
    labelNames: readonly string[],
    private readonly read: () => readonly HistogramSeries[],
  ) {
    super({
      name: family,
      help: description,
      labelNames: [...labelNames],
      buckets: [...LATENCY_BUCKETS_S],
      registers: [registry],
    });
  }

  override async get(): Promise<Values> {
    return this.render();
  }

  async getForPromString(): Promise<Values> {
    return this.render();
  }

  private render(): Values {
    const values: MetricValueWithName<string>[] = [];
    for (const { labels, histogram: h } of this.read()) {
      for (const [i, le] of h.upperBoundsS.entries()) {
        values.push({
          metricName: `${this.family}_bucket`,
          labels: { ...labels, le },
          value: h.cumulativeCounts[i] ?? 0,
        });
      }
      values.push({ metricName: `${this.family}_bucket`, labels: { ...labels, le: '+Inf' }, value: h.count });
      values.push({ metricName: `${this.family}_sum`, labels, value: h.sumS });
      values.push({ metricName: `${this.family}_count`, labels, value: h.count });
    }
    return {
      name: this.family,
      help: this.description,
      // prom-client's typings declare MetricType as a numeric enum that index.js does not export;
      // its registry compares and prints the string.
      type: 'histogram' as unknown as MetricType,
      values,
      aggregator: 'sum',
      collect() {},
    };
  }
}

/** Register one histogram family on `registry`, read from `read()` at every scrape. */
export function snapshotHistogram(
  registry: Registry,
  name: string,
  help: string,
  labelNames: readonly string[],
  read: () => readonly HistogramSeries[],
): void {
  new SnapshotHistogram(registry, name, help, labelNames, read);
}
