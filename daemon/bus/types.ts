import type { Envelope, PublishOptions } from './envelope.js';
import type { PatternCheck, PayloadMatching } from './patterns.js';
import type { RequestIn, RequestsOf, ResponseIn, RpcMap } from './rpc.js';
import type { TopicCountsView } from './topic-counts.js';
import type { TopicMap } from './topics.js';

/**
 * Delivery classes (README, "The bus"):
 * - `realtime`: small queue; under pressure the oldest queued event is dropped; publish never blocks.
 * - `batched`: guaranteed; when the queue is full the publisher gets a promise to await
 *   (awaitable backpressure). A publisher that ignores it is refused past a bound, never buffered.
 * - `background`: large queue for delay-tolerant work; drops the newest when full.
 */
export type QosClass = 'realtime' | 'batched' | 'background';

/** What a subscription does when its queue is full (or, for sample/aggregate, on every event). */
export type OverflowPolicy =
  | { readonly kind: 'drop-oldest' }
  | { readonly kind: 'drop-newest' }
  /** Guaranteed delivery: the publisher waits for room (batched QoS only). */
  | { readonly kind: 'block' }
  /** Admit at most `maxPerSecond` events (token bucket on the bus clock) or every `everyNth`-th event. */
  | { readonly kind: 'sample'; readonly maxPerSecond?: number; readonly everyNth?: number }
  /**
   * Keep one pending event per key (latest wins), or, with `fold`, fold the pending events of a
   * key into one. The queue then holds at most one entry per key.
   */
  | {
      readonly kind: 'aggregate';
      readonly key?: (env: Envelope) => string;
      readonly fold?: (acc: Envelope, next: Envelope) => Envelope;
    };

/**
 * Why a matching event did not reach a subscription's handler. `refused`: a blocking subscription's
 * queue and parking lot were full, so the publish was refused (`E_BUS_BACKPRESSURE`, thrown to the
 * publisher, which owns the event) and counted on the subscription that refused it.
 */
export type DropReason = 'queue_full' | 'sampled' | 'aggregated' | 'interrupted' | 'unsubscribed' | 'refused';

export type Handler<T> = (env: Envelope<T>, signal: AbortSignal) => void | Promise<void>;

export interface SubscribeOptions {
  /** Component name, for logs, error events and counters. */
  readonly component: string;
  /** Default `batched`. */
  readonly qos?: QosClass;
  /** Queue bound; defaults: realtime 16, batched 1024, background 8192. */
  readonly queueCapacity?: number;
  /** Defaults: realtime drop-oldest, batched block, background drop-newest. */
  readonly overflow?: OverflowPolicy;
  /** Handlers running at once for this subscription (default 1: in order). */
  readonly concurrency?: number;
  /**
   * When true, a `critical` event arriving for this subscription aborts the AbortSignal handed
   * to handlers still running (a new utterance cancels a pending cloud call).
   */
  readonly interruptible?: boolean;
}

export interface SubscriptionStats {
  readonly id: number;
  readonly pattern: string;
  readonly component: string;
  readonly qos: QosClass;
  /** Events that matched this subscription's pattern. */
  readonly published: number;
  /** Events whose handler completed (successfully or not). */
  readonly delivered: number;
  readonly failed: number;
  readonly dropped: Readonly<Record<DropReason, number>>;
  readonly queueDepth: number;
  readonly queueCapacity: number;
  readonly maxQueueDepth: number;
  /** Total handler wall time, ms. */
  readonly handlerMsTotal: number;
  readonly handlerMsMax: number;
  readonly interrupts: number;
}

export interface Subscription {
  readonly id: number;
  readonly pattern: string;
  stats(): SubscriptionStats;
  /** Stop receiving; queued events are dropped (counted as `unsubscribed`) unless `drain` is set. */
  unsubscribe(options?: { drain?: boolean }): Promise<void>;
}

export interface RequestOptions extends PublishOptions {
  /** Default 5000 ms. */
  readonly timeoutMs?: number;
  readonly signal?: AbortSignal;
}

/** Everything a subscription can see on a bus of event map M and RPC map R: events and requests. */
export type BusTraffic<M, R> = M & RequestsOf<R>;

/** A responder: the request's envelope in, the answer (or a thrown error) out. */
export type Responder<Req, Res> = (req: Envelope<Req>, signal: AbortSignal) => Res | Promise<Res>;

/**
 * The public face of the event bus, typed by its maps: events by TopicMap (topics.ts), requests
 * and answers by RpcMap (rpc.ts). Nobody names a payload type at a call: the topic does. A test
 * may bring its own maps (a scratch bus with `{ [topic: string]: unknown }`).
 */
export interface EventBus<M extends object = TopicMap, R extends object = RpcMap> {
  /**
   * Publish to every matching subscription. Returns undefined when every queue accepted the event
   * without waiting, or a promise when a guaranteed (batched) subscriber is full: awaiting it is
   * how a publisher is slowed down. Invalid topics throw `E_BUS_INVALID_TOPIC`.
   */
  publish<T extends keyof M & string>(
    topic: T,
    payload: PayloadMatching<M, T>,
    options?: PublishOptions,
  ): Promise<void> | undefined;

  /**
   * Subscribe with an MQTT-style pattern (`+` one level, `#` the rest). The handler receives the
   * payload of every topic the pattern can match (their union); a literal pattern that matches no
   * topic of the maps does not compile. Invalid patterns throw `E_BUS_INVALID_PATTERN`.
   */
  subscribe<P extends string>(
    pattern: P & PatternCheck<BusTraffic<M, R>, P>,
    handler: Handler<PayloadMatching<BusTraffic<M, R>, P>>,
    options: SubscribeOptions,
  ): Subscription;

  /** Request/response: publish on `topic` with a fresh correlation id and wait for `respond`'s answer. */
  request<T extends keyof R & string>(
    topic: T,
    payload: RequestIn<R, T>,
    options?: RequestOptions,
  ): Promise<ResponseIn<R, T>>;
  /** Serve requests on `topic`; the handler's return value (or thrown error) is the response. */
  respond<T extends keyof R & string>(
    topic: T,
    handler: Responder<RequestIn<R, T>, ResponseIn<R, T>>,
    options: Omit<SubscribeOptions, 'qos' | 'overflow'>,
  ): Subscription;
  /** The topics (or patterns) served by `respond` right now: what a request can reach. */
  responders(): string[];

  /** Stats of every live subscription. */
  stats(): SubscriptionStats[];
  /** Events published per topic since start (bounded: topic-counts.ts), live: read, never kept. */
  topicCounts(): TopicCountsView;
  /** Resolve once every queue is empty and no handler runs, or reject with `E_BUS_DRAIN_TIMEOUT`. */
  drain(deadlineMs: number): Promise<void>;
  /** Refuse new publishes, drain within the deadline, then drop what is left. */
  close(deadlineMs?: number): Promise<void>;
}
