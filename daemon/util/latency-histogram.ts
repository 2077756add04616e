/**
 * Latency histograms with fixed buckets, kept by the component that measures (a model session, the
 * router's cloud calls, the MQTT bridge's end-to-end stages) and read by /metrics as Prometheus
 * histograms. Unlike a percentile over a recent window, bucket counts add up across scrapes,
 * devices and restarts (`histogram_quantile(0.99, sum by (le) (rate(..._bucket[5m])))`), which is
 * what an operator's dashboard needs. Memory is fixed: one counter per bucket.
 */

/**
 * Upper bounds of the buckets, s: 1 ms (a VAD frame on a fast core) to 30 s (a fall confirmed
 * after its stillness window, a long transcription on a Zero 2 W). Past the last bound only +Inf
 * counts it.
 */
export const LATENCY_BUCKETS_S: readonly number[] = [
  0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30,
];

/** One histogram as Prometheus exposes it. */
export interface HistogramSnapshot {
  /** Upper bounds, s, ascending; +Inf is implied (its count is `count`). */
  readonly upperBoundsS: readonly number[];
  /** Observations ≤ each bound (cumulative), one per bound. */
  readonly cumulativeCounts: readonly number[];
  readonly count: number;
  /** Sum of the observations, s. */
  readonly sumS: number;
}

export class LatencyHistogram {
  private readonly bounds: readonly number[];
  /** Observations per bucket (not cumulative); the last slot is the +Inf bucket. */
  private readonly perBucket: Float64Array;
  private sum = 0;
  private n = 0;

  constructor(upperBoundsS: readonly number[] = LATENCY_BUCKETS_S) {
    this.bounds = upperBoundsS;
    this.perBucket = new Float64Array(upperBoundsS.length + 1);
  }

  /**
   * Count one latency, s. A negative value (a timestamp from a clock that stepped back) counts as
   * 0; NaN is not counted.
   */
  observe(seconds: number): void {
    if (Number.isNaN(seconds)) return;
    const s = Math.max(0, seconds);
    let i = 0;
    while (i < this.bounds.length && s > this.bounds[i]!) i++;
    this.perBucket[i]! += 1;
    this.sum += s;
    this.n++;
  }

  get count(): number {
    return this.n;
  }

  snapshot(): HistogramSnapshot {
    const cumulativeCounts: number[] = [];
    let acc = 0;
    for (let i = 0; i < this.bounds.length; i++) {
      acc += this.perBucket[i]!;
      cumulativeCounts.push(acc);
    }
    return { upperBoundsS: this.bounds, cumulativeCounts, count: this.n, sumS: this.sum };
  }
}

/** The series a keyed set folds into once it holds maxSeries. */
export const OTHER_SERIES = '(other)';

/**
 * Histograms by one label (a model id, a stage), created on first use. Bounded: past `maxSeries`
 * labels, further labels share the `(other)` histogram, so a stream of new ids cannot grow memory
 * or the /metrics page without bound.
 */
export class LatencyHistograms {
  private readonly byLabel = new Map<string, LatencyHistogram>();

  constructor(
    /** Distinct labels kept (default 32), plus `(other)`: the overflow policy is the fold into it. */
    private readonly maxSeries = 32,
    private readonly upperBoundsS: readonly number[] = LATENCY_BUCKETS_S,
  ) {}

  /** The histogram of `label` (created on first use, or `(other)` past the bound). */
  get(label: string): LatencyHistogram {
    let h = this.byLabel.get(label);
    if (h !== undefined) return h;
    const key = this.byLabel.size >= this.maxSeries ? OTHER_SERIES : label;
    h = this.byLabel.get(key);
    if (h === undefined) {
      h = new LatencyHistogram(this.upperBoundsS);
      this.byLabel.set(key, h);
    }
    return h;
  }

  observe(label: string, seconds: number): void {
    this.get(label).observe(seconds);
  }

  /** Every series asked for so far (with zeros until its first observation), by label. */
  snapshot(): readonly { readonly label: string; readonly histogram: HistogramSnapshot }[] {
    return [...this.byLabel].map(([label, histogram]) => ({ label, histogram: histogram.snapshot() }));
  }
}
