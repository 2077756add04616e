/**
 * The event-loop delay, sampled once for every reader: the stats collector (the dashboard's loop
 * delay), /metrics (the nodejs_eventloop_lag_* families) and the systemd watchdog.
 *
 * Every sample is a timer that wakes the process. At 20 ms they woke an idle daemon 51 times a
 * second, which was most of its idle CPU (0.45 % of a core); a wake-up from an idle core costs
 * ~0.1 ms of CPU on the 2-vCPU VM the benchmarks run on (issue #16). At 100 ms a stall shorter than
 * the period can fall between two samples (one of d ms is seen with probability d/100); the stalls
 * these figures are for, an inference or a synchronous read holding the loop, still show in p99
 * and max, and the watchdog's limit is seconds.
 *
 * Why one sampler and not a perf_hooks.monitorEventLoopDelay histogram per reader: each such
 * histogram runs its own timer, and the timers drift apart. Two of them (stats and prom-client's)
 * woke the daemon 17 more times a second at real-time speed than one, ~2–4 ms of CPU a second
 * (BENCHMARKS.md, 2026-12-05 night). A monitorEventLoopDelay histogram cannot be merged into
 * another, so the sampler is a plain timer that records its own lateness into one recordable
 * histogram per reader: each reader resets its own window when it reads.
 */
import { createHistogram, type RecordableHistogram } from 'node:perf_hooks';

/** Sampling period, ms. */
export const LOOP_DELAY_RESOLUTION_MS = 100;

/** One reader's window: every delay sampled since it last called `histogram.reset()`, in ns. */
export interface LoopDelayReader {
  readonly histogram: RecordableHistogram;
  /** Stop feeding this window (the sampler's timer stops with its last reader). */
  close(): void;
}

/**
 * One timer for every reader of the event-loop delay. It runs while at least one reader is open
 * and never keeps the process alive (unref'd). Readers are bounded by their owners: one each for
 * the stats collector, /metrics and the watchdog.
 */
export class LoopDelaySampler {
  private readonly readers = new Set<RecordableHistogram>();
  private timer: NodeJS.Timeout | undefined;
  /** When the next sample is due, performance.now() ms. */
  private dueMs = 0;

  constructor(private readonly resolutionMs = LOOP_DELAY_RESOLUTION_MS) {}

  /** A new window fed by every sample from now on. */
  open(): LoopDelayReader {
    const histogram = createHistogram();
    this.readers.add(histogram);
    if (this.timer === undefined) {
      this.dueMs = performance.now() + this.resolutionMs;
      this.timer = setInterval(() => this.sample(), this.resolutionMs);
      this.timer.unref();
    }
    return {
      histogram,
      close: () => {
        if (!this.readers.delete(histogram) || this.readers.size > 0) return;
        clearInterval(this.timer);
        this.timer = undefined;
      },
    };
  }

  /** Readers open now. */
  get readerCount(): number {
    return this.readers.size;
  }

  private sample(): void {
    const nowMs = performance.now();
    // Lateness of this firing, as monitorEventLoopDelay measures it; a histogram takes values
    // ≥ 1 (a timer may fire a fraction of a ms early on libuv's whole-ms loop time).
    const delayNs = Math.max(1, Math.round((nowMs - this.dueMs) * 1e6));
    this.dueMs = nowMs + this.resolutionMs;
    for (const h of this.readers) h.record(delayNs);
  }
}
