import { Priority } from '../bus/envelope.js';
import type { PayloadOf, SensorKind, SensorState, SensorStatus, Topic } from '../bus/topics.js';
import type { EventBus } from '../bus/types.js';
import type { Logger } from '../log.js';
import type { Clock } from '../util/clock.js';

/**
 * How a sensor source talks to the bus. Sources never wait on the bus (a camera or microphone
 * cannot be slowed down): a publish that returns a backpressure promise is not awaited, and the
 * bus's own bound refuses rather than buffers. A publish that throws or rejects (closed bus) is
 * counted and logged sparsely, never thrown into the capture path. `publishLatest` is for streams
 * whose next value replaces this one (the IMU's aggregated windows): at most one such publish
 * waits on backpressure, and values produced meanwhile are dropped (stale beats blocked).
 */
export class SourcePublisher {
  /** Publishes the bus refused. */
  errors = 0;
  private readonly statusTopic: `sensor/${string}/${string}/status`;
  /** A publishLatest is waiting on bus backpressure. */
  private waiting = false;

  constructor(
    private readonly bus: EventBus,
    private readonly clock: Clock,
    private readonly logger: Logger,
    /** Component name, the envelope `source`. */
    private readonly source: string,
    private readonly kind: SensorKind,
    private readonly id: string,
  ) {
    this.statusTopic = `sensor/${kind}/${id}/status`;
  }

  publish<T extends Topic>(topic: T, payload: PayloadOf<T>, tsMs?: number): void {
    this.guard(() =>
      this.bus.publish(
        topic,
        payload,
        tsMs === undefined ? { source: this.source } : { source: this.source, tsMs },
      ),
    );
  }

  /**
   * Publish unless an earlier publishLatest still waits on bus backpressure: then `busy`, and the
   * payload is dropped (the caller counts it). `failed`: the bus refused it (counted in `errors`).
   */
  publishLatest<T extends Topic>(
    topic: T,
    payload: PayloadOf<T>,
    tsMs?: number,
  ): 'published' | 'busy' | 'failed' {
    if (this.waiting) return 'busy';
    try {
      const wait = this.bus.publish(
        topic,
        payload,
        tsMs === undefined ? { source: this.source } : { source: this.source, tsMs },
      );
      if (wait !== undefined) {
        this.waiting = true;
        wait.then(
          () => {
            this.waiting = false;
          },
          (err: unknown) => {
            this.waiting = false;
            this.failed(err);
          },
        );
      }
      return 'published';
    } catch (err) {
      this.failed(err);
      return 'failed';
    }
  }

  /** Publish a SensorStatus (high priority: health changes should not queue behind frames). */
  status(state: SensorState, reason: string | undefined, restarts: number): void {
    const status: SensorStatus = {
      sensor: this.id,
      kind: this.kind,
      state,
      ...(reason === undefined ? {} : { reason }),
      restarts,
      tsMs: this.clock.now(),
    };
    this.logger.info({ state, reason, restarts }, `${this.kind} state`);
    this.guard(() =>
      this.bus.publish(this.statusTopic, status, { source: this.source, priority: Priority.high }),
    );
  }

  private guard(fn: () => Promise<void> | undefined): void {
    try {
      fn()?.catch((err: unknown) => this.failed(err));
    } catch (err) {
      this.failed(err);
    }
  }

  private failed(err: unknown): void {
    this.errors++;
    // Sparse: the first failure and every 100th, so a closed bus cannot flood the journal.
    if (this.errors === 1 || this.errors % 100 === 0) {
      this.logger.warn(
        { err: err instanceof Error ? err.message : String(err), count: this.errors },
        'publish failed',
      );
    }
  }
}
