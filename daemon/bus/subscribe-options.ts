import { EdgeloomError, ErrorCode } from '../errors.js';
import type { OverflowPolicy, QosClass, SubscribeOptions } from './types.js';

/** Queue bounds per QoS class when neither the subscription nor the bus names one. */
export const DEFAULT_CAPACITY: Readonly<Record<QosClass, number>> = {
  realtime: 16, // camera frames, audio: only the freshest matter
  batched: 1024, // guaranteed delivery: room for bursts before the publisher must wait
  background: 8192, // delay-tolerant work (logging, sync)
};

/** Overflow policy per QoS class, as documented on QosClass. */
export const DEFAULT_OVERFLOW: Readonly<Record<QosClass, OverflowPolicy>> = {
  realtime: { kind: 'drop-oldest' },
  batched: { kind: 'block' },
  background: { kind: 'drop-newest' },
};

/** SubscribeOptions with every default applied and every value checked. */
export interface ResolvedSubscribeOptions {
  readonly component: string;
  readonly qos: QosClass;
  readonly queueCapacity: number;
  readonly overflow: OverflowPolicy;
  readonly concurrency: number;
  readonly interruptible: boolean;
}

/**
 * Apply defaults and validate at subscribe time (never on the hot path). Throws
 * `E_BUS_INVALID_OPTIONS` naming the subscription and the option.
 */
export function resolveSubscribeOptions(
  pattern: string,
  o: SubscribeOptions,
  capacity: Readonly<Record<QosClass, number>>,
): ResolvedSubscribeOptions {
  const where = `subscribe ${pattern} (${o.component})`;
  const qos = o.qos ?? 'batched';
  if (DEFAULT_CAPACITY[qos] === undefined) throw invalidOption(where, `unknown qos ${String(qos)}`);
  const queueCapacity = o.queueCapacity ?? capacity[qos];
  checkPositiveInt(queueCapacity, `${where}: queueCapacity`);
  const concurrency = o.concurrency ?? 1;
  checkPositiveInt(concurrency, `${where}: concurrency`);
  const overflow = o.overflow ?? DEFAULT_OVERFLOW[qos];
  if (overflow.kind === 'block' && qos !== 'batched') {
    throw invalidOption(where, "overflow 'block' is only for qos 'batched'");
  }
  if (overflow.kind === 'sample') {
    const { maxPerSecond, everyNth } = overflow;
    if (maxPerSecond === undefined && everyNth === undefined) {
      throw invalidOption(where, 'sample needs maxPerSecond or everyNth');
    }
    if (maxPerSecond !== undefined && !(maxPerSecond > 0))
      throw invalidOption(where, 'maxPerSecond must be > 0');
    if (everyNth !== undefined) checkPositiveInt(everyNth, `${where}: everyNth`);
  }
  return {
    component: o.component,
    qos,
    queueCapacity,
    overflow,
    concurrency,
    interruptible: o.interruptible === true,
  };
}

/** Throw `E_BUS_INVALID_OPTIONS` unless value is an integer ≥ 1. */
export function checkPositiveInt(value: number, where: string): void {
  if (!Number.isInteger(value) || value < 1) {
    throw new EdgeloomError(
      ErrorCode.E_BUS_INVALID_OPTIONS,
      `expected a positive integer, got ${String(value)}`,
      {
        where,
      },
    );
  }
}

function invalidOption(where: string, why: string): EdgeloomError {
  return new EdgeloomError(ErrorCode.E_BUS_INVALID_OPTIONS, why, { where });
}
