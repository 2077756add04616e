import { EdgeloomError, ErrorCode, isEdgeloomError, toError } from '../errors.js';
import type { Clock, TimerHandle } from '../util/clock.js';

interface Pending {
  readonly topic: string;
  readonly resolve: (value: unknown) => void;
  readonly reject: (err: Error) => void;
  readonly timer: TimerHandle;
  readonly signal: AbortSignal | undefined;
  readonly onAbort: (() => void) | undefined;
  /** Aborted when the request ends without an answer, so the responder stops its work too. */
  readonly cancel: AbortController;
}

/**
 * Requests waiting for an answer, keyed by correlation id. Bounded (`maxPending`, policy: refuse
 * the new request with `E_BUS_BACKPRESSURE`); every entry leaves by answer, error, timeout, abort
 * or close, so nothing lingers. A request that ends without an answer (timeout, abort, close)
 * aborts its `cancelSignal`, which the responder's handler receives: a requester that gave up
 * does not leave a responder working (a cloud call streaming) for nobody.
 */
export class PendingRequests {
  private readonly pending = new Map<string, Pending>();
  private seq = 0;

  constructor(
    private readonly clock: Clock,
    /** Most requests awaiting an answer at once; past it, request() is refused. */
    private readonly maxPending: number,
  ) {}

  get size(): number {
    return this.pending.size;
  }

  /** Register a request; returns its correlation id and the promise of its answer. */
  open<Res>(
    topic: string,
    timeoutMs: number,
    signal: AbortSignal | undefined,
  ): { id: string; answer: Promise<Res> } {
    if (this.pending.size >= this.maxPending) {
      throw new EdgeloomError(ErrorCode.E_BUS_BACKPRESSURE, `more than ${this.maxPending} requests pending`, {
        where: `bus.request ${topic}`,
      });
    }
    if (signal?.aborted === true) {
      throw new EdgeloomError(ErrorCode.E_BUS_ABORTED, 'request aborted before it was sent', {
        where: `bus.request ${topic}`,
        cause: signal.reason,
      });
    }
    const id = `req-${++this.seq}`;
    const answer = new Promise<Res>((resolve, reject) => {
      const timer = this.clock.setTimeout(() => {
        this.fail(
          id,
          new EdgeloomError(ErrorCode.E_BUS_TIMEOUT, `no answer within ${timeoutMs} ms`, {
            where: `bus.request ${topic}`,
          }),
        );
      }, timeoutMs);
      const onAbort =
        signal === undefined
          ? undefined
          : (): void => {
              this.fail(
                id,
                new EdgeloomError(ErrorCode.E_BUS_ABORTED, 'request aborted', {
                  where: `bus.request ${topic}`,
                  cause: signal.reason,
                }),
              );
            };
      signal?.addEventListener('abort', onAbort!, { once: true });
      this.pending.set(id, {
        topic,
        resolve: resolve as (value: unknown) => void,
        reject,
        timer,
        signal,
        onAbort,
        cancel: new AbortController(),
      });
    });
    return { id, answer };
  }

  /** Aborted when request `id` ends unanswered; undefined when it is not pending (a plain publish). */
  cancelSignal(id: string | undefined): AbortSignal | undefined {
    return id === undefined ? undefined : this.pending.get(id)?.cancel.signal;
  }

  /** Deliver an answer; false when nobody waits (late, aborted, or a plain publish). */
  answer(id: string | undefined, value: unknown): boolean {
    const p = this.take(id);
    if (p === undefined) return false;
    p.resolve(value);
    return true;
  }

  /** Propagate a responder's error to the requester, as an EdgeloomError. */
  answerError(id: string | undefined, err: unknown, responder: string): boolean {
    const p = this.pending.get(id ?? '');
    if (p === undefined) return false;
    const e = isEdgeloomError(err)
      ? err
      : new EdgeloomError(ErrorCode.E_BUS_RESPONDER_FAILED, toError(err).message, {
          where: `${responder} on ${p.topic}`,
          cause: err,
        });
    return this.fail(id!, e);
  }

  /** Reject every pending request (bus closing). */
  failAll(err: Error): void {
    for (const id of [...this.pending.keys()]) this.fail(id, err);
  }

  private fail(id: string, err: Error): boolean {
    const p = this.take(id);
    if (p === undefined) return false;
    p.reject(err);
    p.cancel.abort(err);
    return true;
  }

  private take(id: string | undefined): Pending | undefined {
    if (id === undefined) return undefined;
    const p = this.pending.get(id);
    if (p === undefined) return undefined;
    this.pending.delete(id);
    p.timer.cancel();
    if (p.onAbort !== undefined) p.signal?.removeEventListener('abort', p.onAbort);
    return p;
  }
}
