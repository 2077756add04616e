import type { Clock, TimerHandle } from '../../util/clock.js';

/**
 * Rate cap with keep-latest sampling, for a producer that can outrun its consumers (a 30 fps
 * camera feeding a 5 fps face model). Items closer together than `minIntervalMs` are not queued:
 * only the newest one is held (bound: one item; overflow policy: the held item is replaced and
 * counted as dropped) and released when the interval has passed. So the consumer always gets the
 * freshest frame available at each slot, and latency never exceeds one interval.
 */
export interface KeepLatestSamplerOptions<T> {
  /** Smallest gap between two emitted items, ms; 0 disables the cap. */
  readonly minIntervalMs: number;
  readonly clock: Clock;
  readonly emit: (item: T) => void;
}

export class KeepLatestSampler<T> {
  private readonly o: KeepLatestSamplerOptions<T>;
  private lastEmitMs = Number.NEGATIVE_INFINITY;
  private held: T | undefined;
  private timer: TimerHandle | undefined;
  /** Items replaced while held (never emitted). */
  dropped = 0;
  emitted = 0;

  constructor(options: KeepLatestSamplerOptions<T>) {
    this.o = options;
  }

  offer(item: T): void {
    const now = this.o.clock.monotonicMs();
    const waitMs = this.lastEmitMs + this.o.minIntervalMs - now;
    if (waitMs <= 0 && this.held === undefined) {
      this.release(item, now);
      return;
    }
    if (this.held !== undefined) this.dropped++;
    this.held = item;
    this.timer ??= this.o.clock.setTimeout(() => this.flush(), Math.max(0, waitMs));
  }

  /** Drop the held item (counted) and cancel the pending release. */
  clear(): void {
    if (this.held !== undefined) this.dropped++;
    this.held = undefined;
    this.timer?.cancel();
    this.timer = undefined;
  }

  private flush(): void {
    this.timer = undefined;
    const item = this.held;
    this.held = undefined;
    if (item !== undefined) this.release(item, this.o.clock.monotonicMs());
  }

  private release(item: T, now: number): void {
    this.lastEmitMs = now;
    this.emitted++;
    this.o.emit(item);
  }
}
