import { EdgeloomError, ErrorCode } from '../errors.js';
import type { Clock } from '../util/clock.js';
import { type EventQueue, KeyedQueue, PriorityQueue } from './bounded-queue.js';
import { type Envelope, Priority } from './envelope.js';
import { Sampler } from './sampler.js';
import type { ResolvedSubscribeOptions } from './subscribe-options.js';
import type {
  DropReason,
  Handler,
  OverflowPolicy,
  QosClass,
  Subscription,
  SubscriptionStats,
} from './types.js';

/** What a subscription needs from the bus that owns it. */
export interface SubscriptionHost {
  readonly clock: Clock;
  /** Bound of each subscription's parking lot for blocked publishes (policy: refuse, never buffer). */
  readonly maxParkedPublishes: number;
  /** A handler threw or rejected (not counting interrupted ones). */
  handlerFailed(sub: BusSubscription, env: Envelope, err: unknown): void;
  /** Detach from matching; called once by unsubscribe(). */
  detach(sub: BusSubscription): void;
  /** Called when this subscription goes idle, only while the bus watches (drain in progress). */
  becameIdle(): void;
  readonly watchingIdle: boolean;
}

/** Admission modes, resolved once from the overflow policy so offer() is a switch on a small int. */
const DROP_OLDEST = 0;
const DROP_NEWEST = 1;
const BLOCK = 2;
const SAMPLE = 3;
const AGGREGATE = 4;

/** Deliveries per drain turn before yielding to I/O (setImmediate): keeps a hot topic from starving the loop. */
const MAX_BATCH = 256;

interface Parked {
  readonly env: Envelope;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

type Dropped = Record<DropReason, number>;

/**
 * One subscription: its bounded queue, its admission policy, its drain loop and its counters.
 * Delivery is always asynchronous (a microtask after publish), and a run of sync handlers is
 * drained in one turn without allocating promises.
 */
export class BusSubscription implements Subscription {
  readonly component: string;
  readonly qos: QosClass;
  private readonly queue: EventQueue;
  private readonly keyed: KeyedQueue | undefined;
  private readonly mode: number;
  private readonly concurrency: number;
  private readonly interruptible: boolean;
  private controller = new AbortController();
  private running = 0;
  private scheduled = false;
  private detached = false;
  /** Parked publishes (block policy), FIFO with a moving head; bounded by host.maxParkedPublishes. */
  private parked: Parked[] = [];
  private parkedHead = 0;
  private idleWaiters: (() => void)[] = [];
  private readonly sampler: Sampler | undefined;
  // counters
  private published = 0;
  private delivered = 0;
  private failed = 0;
  private readonly dropped: Dropped = {
    queue_full: 0,
    sampled: 0,
    aggregated: 0,
    interrupted: 0,
    unsubscribed: 0,
    refused: 0,
  };
  private maxQueueDepth = 0;
  private handlerMsTotal = 0;
  private handlerMsMax = 0;
  private interrupts = 0;
  private readonly pumpNow = (): void => this.pump();

  constructor(
    readonly id: number,
    readonly pattern: string,
    readonly levels: readonly string[],
    private readonly handler: Handler<unknown>,
    options: ResolvedSubscribeOptions,
    private readonly host: SubscriptionHost,
  ) {
    this.component = options.component;
    this.qos = options.qos;
    this.concurrency = options.concurrency;
    this.interruptible = options.interruptible;
    const policy = options.overflow;
    this.sampler = policy.kind === 'sample' ? new Sampler(host.clock, policy) : undefined;
    if (policy.kind === 'aggregate') {
      this.keyed = new KeyedQueue(options.queueCapacity, policy.key ?? topicKey, policy.fold);
      this.queue = this.keyed;
    } else {
      this.queue = new PriorityQueue(options.queueCapacity);
    }
    this.mode = modeOf(policy);
  }

  /** Uses the block policy (publish may have to wait). */
  isBlocking(): boolean {
    return this.mode === BLOCK;
  }

  /** True when offer() would have to park and the parking lot is full: publish refuses up front. */
  wouldRefuse(): boolean {
    return (
      this.mode === BLOCK &&
      this.queue.size >= this.queue.capacity &&
      this.parked.length - this.parkedHead >= this.host.maxParkedPublishes
    );
  }

  /** The bus refused a publish because of this subscription (wouldRefuse() was true). */
  countRefused(): void {
    this.dropped.refused++;
  }

  /** Admit one matching event. Returns a promise only when the event was parked (block policy). */
  offer(env: Envelope): Promise<void> | undefined {
    // A snapshot of matches taken before an unsubscribe may still name this subscription.
    if (this.detached) return undefined;
    this.published++;
    const q = this.queue;
    switch (this.mode) {
      case DROP_NEWEST:
        if (!q.tryPush(env)) {
          this.dropped.queue_full++;
          return undefined;
        }
        break;
      case BLOCK:
        if (!q.tryPush(env)) return this.park(env);
        break;
      case AGGREGATE:
        if (this.keyed!.merge(env)) {
          this.dropped.aggregated++;
          return undefined;
        }
        this.pushDropOldest(env);
        break;
      case SAMPLE:
        if (!this.sampler!.admit()) {
          this.dropped.sampled++;
          return undefined;
        }
        this.pushDropOldest(env);
        break;
      default:
        this.pushDropOldest(env);
    }
    if (q.size > this.maxQueueDepth) this.maxQueueDepth = q.size;
    if (env.priority === Priority.critical && this.interruptible && this.running > 0) this.interrupt();
    if (!this.scheduled && this.running < this.concurrency) {
      this.scheduled = true;
      queueMicrotask(this.pumpNow);
    }
    return undefined;
  }

  stats(): SubscriptionStats {
    return {
      id: this.id,
      pattern: this.pattern,
      component: this.component,
      qos: this.qos,
      published: this.published,
      delivered: this.delivered,
      failed: this.failed,
      dropped: { ...this.dropped },
      queueDepth: this.queue.size,
      queueCapacity: this.queue.capacity,
      maxQueueDepth: this.maxQueueDepth,
      handlerMsTotal: this.handlerMsTotal,
      handlerMsMax: this.handlerMsMax,
      interrupts: this.interrupts,
    };
  }

  /** Nothing queued, parked or running. */
  isIdle(): boolean {
    return this.running === 0 && this.queue.size === 0 && this.parked.length === this.parkedHead;
  }

  unsubscribe(options: { drain?: boolean } = {}): Promise<void> {
    if (!this.detached) {
      this.detached = true;
      this.host.detach(this);
    }
    if (options.drain !== true) {
      this.discard(undefined);
      return Promise.resolve();
    }
    return this.whenIdle();
  }

  /** Resolves once idle (used by unsubscribe with drain). */
  whenIdle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Drop everything queued and parked (counted `unsubscribed`). Parked publishers are released:
   * resolved on unsubscribe, rejected with `parkedError` when the bus closes.
   */
  discard(parkedError: Error | undefined): void {
    let n = this.queue.clear();
    for (let i = this.parkedHead; i < this.parked.length; i++) {
      const p = this.parked[i]!;
      if (parkedError === undefined) p.resolve();
      else p.reject(parkedError);
      n++;
    }
    this.parked = [];
    this.parkedHead = 0;
    this.dropped.unsubscribed += n;
    this.notifyIdle();
  }

  /** Abort the signal of running handlers (close past its deadline). */
  abortRunning(reason: Error): void {
    if (this.running === 0) return;
    const c = this.controller;
    this.controller = new AbortController();
    c.abort(reason);
  }

  private pushDropOldest(env: Envelope): void {
    const q = this.queue;
    if (q.tryPush(env)) return;
    this.dropped.queue_full++;
    if (q.evictFor(env)) q.tryPush(env);
  }

  private park(env: Envelope): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.parked.push({ env, resolve, reject });
    });
  }

  private unpark(): void {
    if (this.parkedHead === this.parked.length) return;
    const p = this.parked[this.parkedHead]!;
    this.parked[this.parkedHead++] = undefined as unknown as Parked;
    if (this.parkedHead === this.parked.length) {
      this.parked = [];
      this.parkedHead = 0;
    } else if (this.parkedHead > 1024 && this.parkedHead * 2 > this.parked.length) {
      this.parked = this.parked.slice(this.parkedHead);
      this.parkedHead = 0;
    }
    this.queue.tryPush(p.env);
    if (this.queue.size > this.maxQueueDepth) this.maxQueueDepth = this.queue.size;
    p.resolve();
  }

  private interrupt(): void {
    this.interrupts++;
    this.abortRunning(
      new EdgeloomError(ErrorCode.E_BUS_INTERRUPTED, 'a critical event interrupted this handler', {
        where: this.component,
      }),
    );
  }

  /**
   * Drain up to MAX_BATCH events in this turn. Sync handlers are timed as a batch: on this
   * class of machine a clock read costs ~100 ns, more than a fast handler, so reading it twice
   * per event would double the cost of delivery. The batch time is an upper bound for each
   * handler in it, so handlerMsMax never under-reports a slow handler and handlerMsTotal stays
   * the real time spent in handlers.
   */
  private pump(): void {
    this.scheduled = false;
    if (this.running >= this.concurrency) return;
    if (this.queue.size === 0) {
      if (this.running === 0) this.notifyIdle();
      return;
    }
    const clock = this.host.clock;
    const batchStartMs = clock.monotonicMs();
    let syncRuns = 0;
    let budget = MAX_BATCH;
    while (this.running < this.concurrency) {
      const env = this.queue.shift();
      if (env === undefined) break;
      if (this.parkedHead < this.parked.length) this.unpark();
      if (this.run(env, batchStartMs)) syncRuns++;
      if (--budget === 0) break;
    }
    if (syncRuns > 0) {
      const ms = clock.monotonicMs() - batchStartMs;
      this.handlerMsTotal += ms;
      if (ms > this.handlerMsMax) this.handlerMsMax = ms;
    }
    if (this.queue.size > 0) {
      if (budget === 0 && this.running < this.concurrency) {
        // Yield to I/O before the next batch: a hot topic must not starve the event loop.
        this.scheduled = true;
        setImmediate(this.pumpNow);
      }
    } else if (this.running === 0) {
      this.notifyIdle();
    }
  }

  /** Start one handler; true when it completed synchronously (returned or threw). */
  private run(env: Envelope, batchStartMs: number): boolean {
    this.running++;
    const signal = this.controller.signal;
    let result: void | Promise<void>;
    try {
      result = this.handler(env, signal);
    } catch (err) {
      this.running--;
      this.delivered++;
      this.onFailure(env, err, signal);
      return true;
    }
    if (result === undefined || typeof (result as Promise<void>).then !== 'function') {
      // Sync fast path: no promise allocated.
      this.running--;
      this.delivered++;
      return true;
    }
    result.then(
      () => this.settleAsync(env, batchStartMs, undefined, signal),
      (err: unknown) => this.settleAsync(env, batchStartMs, err ?? new Error('handler rejected'), signal),
    );
    return false;
  }

  private settleAsync(env: Envelope, startMs: number, err: unknown, signal: AbortSignal): void {
    this.running--;
    this.delivered++;
    const ms = this.host.clock.monotonicMs() - startMs;
    this.handlerMsTotal += ms;
    if (ms > this.handlerMsMax) this.handlerMsMax = ms;
    if (err !== undefined) this.onFailure(env, err, signal);
    if (this.queue.size > 0) {
      if (!this.scheduled) {
        this.scheduled = true;
        queueMicrotask(this.pumpNow);
      }
    } else if (this.running === 0) {
      this.notifyIdle();
    }
  }

  private onFailure(env: Envelope, err: unknown, signal: AbortSignal): void {
    if (signal.aborted) {
      // Failing after being told to stop is the expected way out of an interrupted handler.
      this.dropped.interrupted++;
      return;
    }
    this.failed++;
    this.host.handlerFailed(this, env, err);
  }

  private notifyIdle(): void {
    if (!this.isIdle()) return;
    if (this.idleWaiters.length > 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
    if (this.host.watchingIdle) this.host.becameIdle();
  }
}

function topicKey(env: Envelope): string {
  return env.topic;
}

function modeOf(policy: OverflowPolicy): number {
  switch (policy.kind) {
    case 'drop-oldest':
      return DROP_OLDEST;
    case 'drop-newest':
      return DROP_NEWEST;
    case 'block':
      return BLOCK;
    case 'sample':
      return SAMPLE;
    case 'aggregate':
      return AGGREGATE;
  }
}
