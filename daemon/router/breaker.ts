/**
 * Circuit breaker for the cloud: closed → open after `failureThreshold` consecutive failures →
 * half-open once `cooldownMs` of the injected clock has passed → one probe call: success closes
 * it, failure opens it for another cool-down. While open, calls are refused at once, so a dead
 * cloud costs nothing and the router falls back to local results without waiting.
 */
import type { Clock } from '../util/clock.js';
import type { BreakerState } from './policy.js';

export interface CircuitBreakerOptions {
  readonly clock: Clock;
  /** Consecutive failures that open the breaker. */
  readonly failureThreshold: number;
  /** Time open before one trial call is allowed, ms. */
  readonly cooldownMs: number;
}

export class CircuitBreaker {
  private readonly o: CircuitBreakerOptions;
  private consecutiveFailures = 0;
  private openedAtMs: number | undefined;
  private probeInFlight = false;
  /** How many times the breaker opened (telemetry). */
  opens = 0;

  constructor(options: CircuitBreakerOptions) {
    this.o = options;
  }

  state(): BreakerState {
    if (this.openedAtMs === undefined) return 'closed';
    return this.o.clock.monotonicMs() - this.openedAtMs >= this.o.cooldownMs ? 'half_open' : 'open';
  }

  /**
   * Ask to make a call. True when closed, or when half-open and no probe is running (the caller
   * then IS the probe and must report its outcome).
   */
  tryAcquire(): boolean {
    const s = this.state();
    if (s === 'closed') return true;
    if (s === 'open' || this.probeInFlight) return false;
    this.probeInFlight = true;
    return true;
  }

  onSuccess(): void {
    this.consecutiveFailures = 0;
    this.openedAtMs = undefined;
    this.probeInFlight = false;
  }

  onFailure(): void {
    this.consecutiveFailures++;
    const probeFailed = this.probeInFlight;
    this.probeInFlight = false;
    if (
      probeFailed ||
      (this.openedAtMs === undefined && this.consecutiveFailures >= this.o.failureThreshold)
    ) {
      this.openedAtMs = this.o.clock.monotonicMs();
      this.opens++;
    }
  }

  /** A call that ended without saying anything about the cloud's health (cancelled by the user). */
  onNeutral(): void {
    this.probeInFlight = false;
  }
}
