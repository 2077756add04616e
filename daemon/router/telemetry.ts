/**
 * Routing counters for the stats message and /metrics: decisions per route, cloud latency
 * percentiles over a bounded window, cost today, egress volume and privacy-guard refusals.
 */
import type { Route } from '../bus/topics.js';
import { LatencyHistogram } from '../util/latency-histogram.js';

/** Cloud latencies kept for percentiles; the oldest is overwritten when full (a ring). */
export const LATENCY_WINDOW = 256;

export interface RouterTelemetrySnapshot {
  readonly decisions: Readonly<Record<Route, number>>;
  /** Share of decisions per route, 0..1 (0 when there were none). */
  readonly rates: Readonly<Record<Route, number>>;
  readonly cloudCalls: number;
  readonly cloudFailures: number;
  readonly cloudLatencyP50Ms: number | undefined;
  readonly cloudLatencyP99Ms: number | undefined;
  readonly refinementsPublished: number;
  readonly costTodayUsd: number;
  readonly egressRequests: number;
  readonly egressBytes: number;
  readonly privacyViolations: number;
  readonly badInputs: number;
}

const ROUTES: readonly Route[] = ['local', 'cloud', 'hybrid', 'local_fallback', 'drop'];

function percentile(sorted: readonly number[], q: number): number | undefined {
  if (sorted.length === 0) return undefined;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

export class RouterTelemetry {
  private readonly decisions: Record<Route, number> = {
    local: 0,
    cloud: 0,
    hybrid: 0,
    local_fallback: 0,
    drop: 0,
  };
  private readonly latencies: number[] = [];
  private latencyNext = 0;
  /** Every cloud call's latency since start, for the /metrics histogram (the window is for the policy). */
  readonly cloudLatency = new LatencyHistogram();
  cloudCalls = 0;
  cloudFailures = 0;
  refinementsPublished = 0;
  egressRequests = 0;
  egressBytes = 0;
  privacyViolations = 0;
  badInputs = 0;

  /** Reads the cost tracker lazily so the snapshot is always today's figure. */
  constructor(private readonly costTodayUsd: () => number = () => 0) {}

  countDecision(route: Route): void {
    this.decisions[route]++;
  }

  recordCloudLatency(ms: number): void {
    if (this.latencies.length < LATENCY_WINDOW) this.latencies.push(ms);
    else this.latencies[this.latencyNext] = ms;
    this.latencyNext = (this.latencyNext + 1) % LATENCY_WINDOW;
    this.cloudLatency.observe(ms / 1000);
  }

  /** Median of the window, for the policy's latency rule. */
  p50Ms(): number | undefined {
    return percentile(
      [...this.latencies].sort((a, b) => a - b),
      0.5,
    );
  }

  snapshot(): RouterTelemetrySnapshot {
    const sorted = [...this.latencies].sort((a, b) => a - b);
    const total = ROUTES.reduce((s, r) => s + this.decisions[r], 0);
    const rates = Object.fromEntries(
      ROUTES.map((r) => [r, total === 0 ? 0 : this.decisions[r] / total]),
    ) as Record<Route, number>;
    return {
      decisions: { ...this.decisions },
      rates,
      cloudCalls: this.cloudCalls,
      cloudFailures: this.cloudFailures,
      cloudLatencyP50Ms: percentile(sorted, 0.5),
      cloudLatencyP99Ms: percentile(sorted, 0.99),
      refinementsPublished: this.refinementsPublished,
      costTodayUsd: this.costTodayUsd(),
      egressRequests: this.egressRequests,
      egressBytes: this.egressBytes,
      privacyViolations: this.privacyViolations,
      badInputs: this.badInputs,
    };
  }
}
