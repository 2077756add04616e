import { EdgeloomError, ErrorCode, isEdgeloomError, toError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Clock } from '../util/clock.js';
import { buildEnvelope } from './bus-envelope.js';
import { type Envelope, Priority, type PublishOptions } from './envelope.js';
import { MatchCache } from './match-cache.js';
import type { PatternCheck, PayloadMatching } from './patterns.js';
import { PendingRequests } from './requests.js';
import type { RequestIn, ResponseIn, RpcMap } from './rpc.js';
import { checkPositiveInt, DEFAULT_CAPACITY, resolveSubscribeOptions } from './subscribe-options.js';
import { BusSubscription, type SubscriptionHost } from './subscription.js';
import { TopicCounts, type TopicCountsView } from './topic-counts.js';
import { parsePattern, validateTopic } from './topic-match.js';
import { TopicTrie } from './topic-trie.js';
import type { ErrorEvent, TopicMap } from './topics.js';
import type {
  BusTraffic,
  EventBus,
  Handler,
  QosClass,
  RequestOptions,
  Responder,
  SubscribeOptions,
  Subscription,
  SubscriptionStats,
} from './types.js';

export interface BusOptions {
  /** All time (timestamps, sampling, timeouts, deadlines, handler timing) comes from here. */
  readonly clock: Clock;
  readonly logger: Logger;
  /** Queue bound per QoS class when a subscription names none (defaults: realtime 16, batched 1024, background 8192). */
  readonly defaults?: Partial<Record<QosClass, number>>;
  /**
   * Publishes parked per blocked (batched, full) subscription. Past it publish throws
   * `E_BUS_BACKPRESSURE` instead of buffering: a publisher ignoring backpressure is refused. Default 1024.
   */
  readonly maxParkedPublishes?: number;
  /** Requests awaiting an answer at once; past it request() throws `E_BUS_BACKPRESSURE`. Default 1024. */
  readonly maxPendingRequests?: number;
  /**
   * Distinct topics whose matching subscriptions are cached (match-cache.ts: past it, a miss
   * rarely replaces a random entry, so a scan over more topics does not thrash). Default 32768:
   * an entry is ~100 bytes plus its topic string (~3 MB full with 40-char topics), and a publish
   * that misses costs a trie walk (still 1.8× mqemitter with every publish missing: BENCHMARKS.md).
   */
  readonly matchCacheSize?: number;
  /** Topics counted by name for the stats (topic-counts.ts; past it they fold into `other`). Default 256. */
  readonly countedTopics?: number;
}

/** Default request timeout, ms (the contract's documented default). */
const DEFAULT_REQUEST_TIMEOUT_MS = 5000;
/** Default close() deadline, ms. */
const DEFAULT_CLOSE_DEADLINE_MS = 5000;

/**
 * Publishes stamped with one clock read. A clock read costs ~100 ns on small boards, as much as
 * the rest of a publish; the cached value also expires at the end of the current microtask, so
 * the stamp is never older than TS_REUSE publishes of one synchronous burst (microseconds, below
 * the stamp's 1 ms resolution). Replays pass tsMs explicitly and are unaffected.
 */
const TS_REUSE = 64;

interface DrainWaiter {
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
  timer: { cancel(): void } | undefined;
}

/**
 * The in-process event bus: MQTT-style topics matched through a trie plus a per-topic cache, one
 * bounded queue per subscription with its QoS and overflow policy, asynchronous delivery,
 * priorities with interrupts, fault isolation (a failing handler becomes a `system/error` event),
 * and request/response with correlation ids.
 */
export class Bus<M extends object = TopicMap, R extends object = RpcMap> implements EventBus<M, R> {
  private readonly clock: Clock;
  private readonly logger: Logger;
  private readonly capacity: Readonly<Record<QosClass, number>>;
  private readonly trie = new TopicTrie<BusSubscription>();
  private readonly subs = new Set<BusSubscription>();
  /** The subscriptions respond() made (a `#` tap matches every request topic but answers none). */
  private readonly responding = new WeakSet<Subscription>();
  /** topic → matching subscriptions; cleared on every (un)subscribe, arrays never mutated. */
  private readonly cache: MatchCache<BusSubscription>;
  /** Where a cache miss collects its matches (most misses are not kept: no array per publish). */
  private readonly scratch: BusSubscription[] = [];
  /** Inside publishAny's offer loop: the scratch array is in use. */
  private offering = false;
  private readonly requests: PendingRequests;
  private readonly host: SubscriptionHost;
  private readonly drainWaiters = new Set<DrainWaiter>();
  private readonly counts: TopicCounts;
  private blockingSubs = 0;
  private envelopeSeq = 0;
  private subSeq = 0;
  private closed = false;
  /** Coarse publish time: one clock read serves up to TS_REUSE publishes within one synchronous run. */
  private cachedNowMs = 0;
  private cachedNowUses = 0;
  private readonly expireNow = (): void => {
    this.cachedNowUses = 0;
  };
  private closing: Promise<void> | undefined;

  constructor(options: BusOptions) {
    this.clock = options.clock;
    this.logger = options.logger;
    this.capacity = { ...DEFAULT_CAPACITY, ...options.defaults };
    for (const [qos, cap] of Object.entries(this.capacity)) checkPositiveInt(cap, `bus.defaults.${qos}`);
    const maxParked = options.maxParkedPublishes ?? 1024;
    checkPositiveInt(maxParked, 'bus.maxParkedPublishes');
    const cacheSize = options.matchCacheSize ?? 32_768;
    checkPositiveInt(cacheSize, 'bus.matchCacheSize');
    this.cache = new MatchCache(cacheSize);
    const counted = options.countedTopics ?? 256;
    checkPositiveInt(counted, 'bus.countedTopics');
    this.counts = new TopicCounts(counted);
    this.requests = new PendingRequests(this.clock, options.maxPendingRequests ?? 1024);
    const bus = this;
    this.host = {
      clock: this.clock,
      maxParkedPublishes: maxParked,
      handlerFailed: (sub, env, err) => this.onHandlerFailed(sub, env, err),
      detach: (sub) => this.detach(sub),
      becameIdle: () => this.checkDrained(),
      get watchingIdle() {
        return bus.drainWaiters.size > 0;
      },
    };
  }

  publish<T extends keyof M & string>(
    topic: T,
    payload: PayloadMatching<M, T>,
    options?: PublishOptions,
  ): Promise<void> | undefined {
    return this.publishAny(topic, payload, options);
  }

  subscribe<P extends string>(
    pattern: P & PatternCheck<BusTraffic<M, R>, P>,
    handler: Handler<PayloadMatching<BusTraffic<M, R>, P>>,
    options: SubscribeOptions,
  ): Subscription {
    if (this.closed)
      throw new EdgeloomError(ErrorCode.E_BUS_CLOSED, 'bus is closed', { where: `subscribe ${pattern}` });
    const levels = parsePattern(pattern);
    const resolved = resolveSubscribeOptions(pattern, options, this.capacity);
    const sub = new BusSubscription(
      ++this.subSeq,
      pattern,
      levels,
      handler as Handler<unknown>,
      resolved,
      this.host,
    );
    this.trie.add(levels, sub);
    this.subs.add(sub);
    if (resolved.overflow.kind === 'block') this.blockingSubs++;
    this.cache.clear();
    return sub;
  }

  request<T extends keyof R & string>(
    topic: T,
    payload: RequestIn<R, T>,
    options: RequestOptions = {},
  ): Promise<ResponseIn<R, T>> {
    if (this.closed)
      throw new EdgeloomError(ErrorCode.E_BUS_CLOSED, 'bus is closed', { where: `request ${topic}` });
    validateTopic(topic);
    const timeoutMs = options.timeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    const { id, answer } = this.requests.open<ResponseIn<R, T>>(topic, timeoutMs, options.signal);
    try {
      // A parked publish only means the responder is busy; the answer (or timeout) settles the request.
      // The request's envelope takes its correlation id as id, not a number of the event sequence:
      // the ids data-flow events carry (the MQTT contract's `id`) do not move with how many RPCs ran.
      this.publishAny(topic, payload, { ...options, correlationId: id }, id)?.catch(() => undefined);
    } catch (err) {
      this.requests.answerError(id, err, 'bus');
    }
    return answer;
  }

  respond<T extends keyof R & string>(
    topic: T,
    handler: Responder<RequestIn<R, T>, ResponseIn<R, T>>,
    options: Omit<SubscribeOptions, 'qos' | 'overflow'>,
  ): Subscription {
    type Req = RequestIn<R, T>;
    type Res = ResponseIn<R, T>;
    const requests = this.requests;
    const component = options.component;
    const serve = (env: Envelope<Req>, signal: AbortSignal): void | Promise<void> => {
      let result: Res | Promise<Res>;
      // The requester giving up (timeout, abort, close) cancels the handler as an interrupt does.
      const cancel = requests.cancelSignal(env.correlationId);
      try {
        result = handler(env, cancel === undefined ? signal : AbortSignal.any([signal, cancel]));
      } catch (err) {
        requests.answerError(env.correlationId, err, component);
        throw err; // also counted and reported as this subscription's failure
      }
      if (isThenable(result)) {
        return result.then(
          (value) => {
            requests.answer(env.correlationId, value);
          },
          (err: unknown) => {
            requests.answerError(env.correlationId, err, component);
            throw err;
          },
        );
      }
      requests.answer(env.correlationId, result);
      return undefined;
    };
    // A request topic is always a topic of BusTraffic<M, R>: respond's own signature is the typed check.
    const sub = this.subscribe(topic as never, serve as never, {
      ...options,
      qos: 'batched',
      overflow: { kind: 'block' },
    });
    this.responding.add(sub);
    return sub;
  }

  stats(): SubscriptionStats[] {
    return [...this.subs].map((s) => s.stats());
  }

  topicCounts(): TopicCountsView {
    return this.counts;
  }

  responders(): string[] {
    return [...this.subs].filter((s) => this.responding.has(s)).map((s) => s.pattern);
  }

  /** Resolve once every live subscription is idle; `deadlineMs` is a duration from now on the bus clock. */
  drain(deadlineMs: number): Promise<void> {
    if (this.allIdle()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter: DrainWaiter = { resolve, reject, timer: undefined };
      waiter.timer = this.clock.setTimeout(() => {
        this.drainWaiters.delete(waiter);
        reject(
          new EdgeloomError(ErrorCode.E_BUS_DRAIN_TIMEOUT, `bus not drained within ${deadlineMs} ms`, {
            where: 'bus.drain',
          }),
        );
      }, deadlineMs);
      this.drainWaiters.add(waiter);
    });
  }

  close(deadlineMs = DEFAULT_CLOSE_DEADLINE_MS): Promise<void> {
    if (this.closing !== undefined) return this.closing;
    this.closed = true;
    this.closing = this.drain(deadlineMs)
      .catch((err: unknown) => {
        this.logger.warn({ err, deadlineMs }, 'bus close: deadline passed, dropping what is left');
      })
      .then(() => {
        const err = new EdgeloomError(ErrorCode.E_BUS_CLOSED, 'bus is closed', { where: 'bus.close' });
        for (const sub of this.subs) {
          sub.discard(err);
          sub.abortRunning(err);
        }
        this.requests.failAll(err);
      });
    return this.closing;
  }

  /** The untyped publish behind publish() and request(). */
  private publishAny(
    topic: string,
    payload: unknown,
    options: PublishOptions | undefined,
    envelopeId?: string,
  ): Promise<void> | undefined {
    if (this.closed)
      throw new EdgeloomError(ErrorCode.E_BUS_CLOSED, 'bus is closed', { where: `publish ${topic}` });
    let matches = this.cache.get(topic);
    if (matches === undefined) {
      // A miss matches into the scratch array, unless a publish from inside this one's offers
      // (an abort listener run by an interrupt) is using it: then into a fresh one.
      matches = this.matchUncached(topic, this.offering ? [] : this.scratch);
    }
    // Counted once the topic is known valid (a cache hit, or the miss's trie walk) and the event
    // accepted, whether or not anyone listens: the stats' per-topic rates are of what was published.
    if (matches.length === 0) {
      this.counts.count(topic);
      return undefined;
    }
    const env = this.envelope(topic, payload, options, envelopeId);
    if (this.blockingSubs > 0) {
      // Refuse before enqueueing anywhere, so an event is never delivered to only some subscribers.
      for (let i = 0; i < matches.length; i++) {
        if (matches[i]!.wouldRefuse()) {
          matches[i]!.countRefused();
          throw new EdgeloomError(
            ErrorCode.E_BUS_BACKPRESSURE,
            'subscriber full and too many publishes parked',
            {
              where: `publish ${topic} → ${matches[i]!.component}`,
            },
          );
        }
      }
    }
    this.counts.count(topic);
    let wait: Promise<void> | undefined;
    const outer = this.offering;
    this.offering = true;
    try {
      for (let i = 0; i < matches.length; i++) {
        const w = matches[i]!.offer(env);
        if (w !== undefined) wait = wait === undefined ? w : Promise.all([wait, w]).then(noop);
      }
    } finally {
      this.offering = outer;
    }
    return wait;
  }

  private envelope(topic: string, payload: unknown, o: PublishOptions | undefined, id?: string): Envelope {
    // A request's envelope carries its correlation id, not a sequence number: RPCs shift no event ids.
    const seq = id === undefined ? ++this.envelopeSeq : this.envelopeSeq;
    const tsMs = o?.tsMs ?? this.nowMs();
    return buildEnvelope(seq, topic, tsMs, payload, o, id);
  }

  private nowMs(): number {
    if (this.cachedNowUses > 0) {
      this.cachedNowUses--;
      return this.cachedNowMs;
    }
    this.cachedNowMs = this.clock.now();
    this.cachedNowUses = TS_REUSE - 1;
    queueMicrotask(this.expireNow);
    return this.cachedNowMs;
  }

  /**
   * Cache miss: the trie validates the topic while matching it into `out`; the cache decides
   * whether to keep a copy. `out` is valid until the next miss.
   */
  private matchUncached(topic: string, out: BusSubscription[]): readonly BusSubscription[] {
    if (!this.trie.matchInto(topic, out)) {
      validateTopic(topic); // throws the coded error with its message
      throw new Error(`unreachable: topic ${topic} failed the scan but passed validation`);
    }
    this.cache.remember(topic, out);
    return out;
  }

  private detach(sub: BusSubscription): void {
    if (!this.subs.delete(sub)) return;
    this.trie.remove(sub.levels, sub);
    if (sub.isBlocking()) this.blockingSubs--;
    this.cache.clear();
    this.checkDrained();
  }

  private onHandlerFailed(sub: BusSubscription, env: Envelope, err: unknown): void {
    const e = toError(err);
    const code = isEdgeloomError(e) ? e.code : ErrorCode.E_BUS_HANDLER_FAILED;
    this.logger.error({ component: sub.component, topic: env.topic, code, err: e }, 'bus handler failed');
    // Loop guard: a failure while handling an error event is logged only, never republished.
    if (env.topic === 'system/error' || this.closed) return;
    const event: ErrorEvent = {
      severity: 'error',
      component: sub.component,
      code,
      message: e.message,
      topic: env.topic,
    };
    try {
      this.publishAny('system/error', event, { source: 'bus', priority: Priority.high })?.catch(noop);
    } catch (publishErr) {
      this.logger.warn({ err: publishErr }, 'bus: could not publish system/error');
    }
  }

  private allIdle(): boolean {
    for (const s of this.subs) if (!s.isIdle()) return false;
    return true;
  }

  private checkDrained(): void {
    if (this.drainWaiters.size === 0 || !this.allIdle()) return;
    const waiters = [...this.drainWaiters];
    this.drainWaiters.clear();
    for (const w of waiters) {
      w.timer?.cancel();
      w.resolve();
    }
  }
}

function noop(): void {}

function isThenable<T>(v: T | Promise<T>): v is Promise<T> {
  return typeof v === 'object' && v !== null && typeof (v as Promise<T>).then === 'function';
}
