/**
 * The most recent latencies of one series, for exact percentiles (a Prometheus histogram's
 * buckets are a factor 2–2.5 apart). Fixed size: the oldest value is overwritten, so it stays
 * bounded however long the daemon runs.
 */
export interface LatencySummary {
  /** Values recorded since start (may exceed the window). */
  readonly count: number;
  /** Over the values in the window; 0 before the first one. */
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly meanMs: number;
}

export class LatencyWindow {
  private readonly ring: Float64Array;
  private count = 0;

  /** `size`: values kept (at least 1). */
  constructor(size: number) {
    this.ring = new Float64Array(Math.max(1, size));
  }

  record(ms: number): void {
    this.ring[this.count % this.ring.length] = ms;
    this.count++;
  }

  /** Sorts a copy of the window: cheap enough when asked for, not per recorded value. */
  summary(): LatencySummary {
    const n = Math.min(this.count, this.ring.length);
    const sorted = this.ring.slice(0, n).sort();
    let sum = 0;
    for (const v of sorted) sum += v;
    return {
      count: this.count,
      p50Ms: nearestRank(sorted, 0.5),
      p99Ms: nearestRank(sorted, 0.99),
      meanMs: n === 0 ? 0 : sum / n,
    };
  }
}

/** Nearest-rank percentile of an ascending array; 0 when empty. */
function nearestRank(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}
