import type { Clock } from '../util/clock.js';

/**
 * The `sample` overflow policy: keep every `everyNth`-th event (the 1st, the n+1th, ...), then at
 * most `maxPerSecond` of those. The rate is a token bucket holding one token (no bursts) refilled
 * on the bus clock, so a replay on a virtual clock samples exactly as the live run did.
 */
export class Sampler {
  private readonly minIntervalMs: number;
  private readonly everyNth: number;
  private tokens = 1;
  private lastRefillMs = Number.NaN;
  private seen = 0;

  constructor(
    private readonly clock: Clock,
    options: { readonly maxPerSecond?: number; readonly everyNth?: number },
  ) {
    this.minIntervalMs = options.maxPerSecond === undefined ? 0 : 1000 / options.maxPerSecond;
    this.everyNth = options.everyNth ?? 1;
  }

  /** Whether this event is kept; call once per event. */
  admit(): boolean {
    if (this.everyNth > 1 && this.seen++ % this.everyNth !== 0) return false;
    if (this.minIntervalMs === 0) return true;
    const now = this.clock.monotonicMs();
    if (!Number.isNaN(this.lastRefillMs)) {
      this.tokens = Math.min(1, this.tokens + (now - this.lastRefillMs) / this.minIntervalMs);
    }
    this.lastRefillMs = now;
    // 1e-9: tolerate float error so events exactly one interval apart are admitted.
    if (this.tokens < 1 - 1e-9) return false;
    this.tokens -= 1;
    return true;
  }
}
