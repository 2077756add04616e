import type { Writable } from 'node:stream';
import type { Envelope } from '../../bus/envelope.js';
import type { EventBus, Subscription } from '../../bus/types.js';
import { toError } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { Clock, TimerHandle } from '../../util/clock.js';
import { summarise } from '../bus-tap.js';

export interface SseClientOptions {
  readonly bus: EventBus;
  /**
   * MQTT-style patterns filtering what this client receives (server side); one bus
   * subscription each, so an event matching two patterns is sent twice.
   */
  readonly patterns: readonly string[];
  /** The response body, headers already sent. */
  readonly out: Writable;
  readonly clock: Clock;
  readonly logger: Logger;
  /**
   * Events queued for this client while its socket is full. Past it the oldest is dropped
   * (counted, and announced to the client as an `event: dropped`) so a slow browser never
   * holds memory or slows publishers. Default 256.
   */
  readonly queueCapacity?: number;
  /** Comment line sent this often so proxies and the browser keep the stream open, ms. Default 15000. */
  readonly heartbeatMs?: number;
  /** A client whose socket stays full this long is disconnected, ms. Default 10000. */
  readonly drainTimeoutMs?: number;
  /** Called once when the stream ends, whoever ended it. */
  readonly onClose?: (client: SseClient) => void;
  /**
   * Events sent first, before live ones: the current state of retained-like topics (the last
   * display action), so a page opened mid-run does not show a stale state until the next change.
   */
  readonly initial?: readonly Envelope[];
}

/** What the browser receives per bus event (binary payload fields summarised by size). */
export interface SseEvent {
  readonly id: string;
  readonly topic: string;
  readonly tsMs: number;
  readonly source: string;
  readonly priority: number;
  readonly confidence?: number;
  readonly correlationId?: string;
  readonly payload: unknown;
}

/**
 * One server-sent-events stream fed from the bus. The client's bounded queue is a realtime bus
 * subscription with drop-oldest overflow: the bus already does bounded queues, counting and
 * ordering, and the client's drops then show in the bus table like any other subscriber's.
 */
export class SseClient {
  private readonly subs: Subscription[] = [];
  private readonly heartbeat: TimerHandle;
  private readonly drainTimeoutMs: number;
  private reportedDrops = 0;
  private closed = false;
  /** Events the handler could not serialise (a BigInt, a cycle): counted, skipped. */
  unserialisable = 0;

  constructor(private readonly options: SseClientOptions) {
    this.drainTimeoutMs = options.drainTimeoutMs ?? 10_000; // 10 s
    // Subscribing first validates the patterns: an invalid one throws before anything is written.
    try {
      for (const pattern of options.patterns) {
        this.subs.push(
          options.bus.subscribe(pattern, (env) => this.send(env), {
            component: 'http.sse',
            qos: 'realtime',
            queueCapacity: options.queueCapacity ?? 256,
            overflow: { kind: 'drop-oldest' },
          }),
        );
      }
    } catch (err) {
      for (const sub of this.subs) sub.unsubscribe().catch(() => undefined);
      throw err;
    }
    const out = options.out;
    out.write('retry: 2000\n: connected\n\n');
    // send() writes synchronously before its first await, so these precede every live event.
    for (const env of options.initial ?? []) void this.send(env);
    this.heartbeat = options.clock.setInterval(() => {
      if (!out.writableNeedDrain) out.write(': hb\n\n');
    }, options.heartbeatMs ?? 15_000); // 15 s
    out.once('close', () => this.close());
    out.once('error', () => this.close());
  }

  /** Events dropped for this client so far (its queue overflowed). */
  get dropped(): number {
    let n = 0;
    for (const sub of this.subs) n += sub.stats().dropped.queue_full;
    return n;
  }

  get patterns(): readonly string[] {
    return this.options.patterns;
  }

  /** End the stream and release the subscription and timer. Idempotent. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.heartbeat.cancel();
    for (const sub of this.subs) sub.unsubscribe().catch(() => undefined);
    if (!this.options.out.writableEnded) this.options.out.end();
    this.options.onClose?.(this);
  }

  private async send(env: Envelope): Promise<void> {
    if (this.closed) return;
    const out = this.options.out;
    const dropped = this.dropped;
    let text = '';
    if (dropped > this.reportedDrops) {
      this.reportedDrops = dropped;
      text += `event: dropped\ndata: {"dropped":${dropped}}\n\n`;
    }
    try {
      text += `id: ${env.id}\ndata: ${JSON.stringify(toSseEvent(env))}\n\n`;
    } catch (err) {
      this.unserialisable++;
      this.options.logger.debug({ err: toError(err), topic: env.topic }, 'event not serialisable for SSE');
      return;
    }
    if (!out.write(text)) await this.waitDrain();
  }

  /** Backpressure: the handler waits here while the bus queue absorbs (and drops) the burst. */
  private waitDrain(): Promise<void> {
    const out = this.options.out;
    return new Promise((resolve) => {
      const done = (): void => {
        timer.cancel();
        out.off('drain', done);
        out.off('close', done);
        resolve();
      };
      const timer = this.options.clock.setTimeout(() => {
        this.options.logger.info({ patterns: this.patterns }, 'SSE client stalled; disconnecting');
        done();
        this.close();
        out.destroy();
      }, this.drainTimeoutMs);
      out.once('drain', done);
      out.once('close', done);
    });
  }
}

export function toSseEvent(env: Envelope): SseEvent {
  return {
    id: env.id,
    topic: env.topic,
    tsMs: env.tsMs,
    source: env.source,
    priority: env.priority,
    ...(env.confidence === undefined ? {} : { confidence: env.confidence }),
    ...(env.correlationId === undefined ? {} : { correlationId: env.correlationId }),
    payload: summarise(env.payload),
  };
}
