import type { Envelope } from './envelope.js';

/**
 * The queue a subscription drains. Bounded by `capacity`; what happens when it is full is decided
 * by the caller (the overflow policy), so the queue itself never grows past the bound.
 */
export interface EventQueue {
  readonly size: number;
  readonly capacity: number;
  /** Append unless full; false when full (the caller applies its policy). */
  tryPush(env: Envelope): boolean;
  /** Remove the least important, oldest entry to make room for `incoming`; false if `incoming` is the least important. */
  evictFor(incoming: Envelope): boolean;
  shift(): Envelope | undefined;
  /** Empty the queue, returning how many entries were discarded. */
  clear(): number;
}

/** FIFO ring buffer, power-of-two sized, growing on demand up to its bound (no Array.shift). */
class Ring {
  private buf: (Envelope | undefined)[];
  private head = 0;
  private mask: number;
  length = 0;

  constructor(private readonly maxSlots: number) {
    const initial = Math.min(16, maxSlots);
    this.buf = new Array(pow2(initial));
    this.mask = this.buf.length - 1;
  }

  push(env: Envelope): void {
    if (this.length === this.buf.length) this.grow();
    this.buf[(this.head + this.length) & this.mask] = env;
    this.length++;
  }

  shift(): Envelope | undefined {
    if (this.length === 0) return undefined;
    const env = this.buf[this.head];
    this.buf[this.head] = undefined; // let the payload be collected
    this.head = (this.head + 1) & this.mask;
    this.length--;
    return env;
  }

  clear(): void {
    this.buf.fill(undefined);
    this.head = 0;
    this.length = 0;
  }

  private grow(): void {
    const next = new Array<Envelope | undefined>(Math.min(pow2(this.maxSlots), this.buf.length * 2));
    for (let i = 0; i < this.length; i++) next[i] = this.buf[(this.head + i) & this.mask];
    this.buf = next;
    this.head = 0;
    this.mask = next.length - 1;
  }
}

function pow2(n: number): number {
  let p = 1;
  while (p < n) p <<= 1;
  return p;
}

/** Number of priority levels (Priority.critical = 0 ... Priority.low = 3). */
const LEVELS = 4;

/**
 * One ring per priority sharing one bound: shift() returns the most important event first and
 * FIFO within a priority. Rings are created on first use, so a 8192-slot background queue costs
 * nothing until traffic arrives.
 */
export class PriorityQueue implements EventQueue {
  private readonly rings: (Ring | undefined)[] = new Array(LEVELS).fill(undefined);
  size = 0;

  constructor(readonly capacity: number) {}

  tryPush(env: Envelope): boolean {
    if (this.size >= this.capacity) return false;
    const p = env.priority;
    let ring = this.rings[p];
    if (ring === undefined) ring = this.rings[p] = new Ring(this.capacity);
    ring.push(env);
    this.size++;
    return true;
  }

  evictFor(incoming: Envelope): boolean {
    for (let p = LEVELS - 1; p >= incoming.priority; p--) {
      const ring = this.rings[p];
      if (ring !== undefined && ring.length > 0) {
        ring.shift();
        this.size--;
        return true;
      }
    }
    return false;
  }

  shift(): Envelope | undefined {
    if (this.size === 0) return undefined;
    for (let p = 0; p < LEVELS; p++) {
      const ring = this.rings[p];
      if (ring !== undefined && ring.length > 0) {
        this.size--;
        return ring.shift();
      }
    }
    return undefined;
  }

  clear(): number {
    const n = this.size;
    for (const ring of this.rings) ring?.clear();
    this.size = 0;
    return n;
  }
}

/**
 * At most one pending entry per key, in order of each key's first arrival (Map keeps insertion
 * order). A new event for a pending key replaces it, or is folded into it.
 */
export class KeyedQueue implements EventQueue {
  private readonly pending = new Map<string, Envelope>();

  constructor(
    readonly capacity: number,
    private readonly keyOf: (env: Envelope) => string,
    private readonly fold: ((acc: Envelope, next: Envelope) => Envelope) | undefined,
  ) {}

  get size(): number {
    return this.pending.size;
  }

  /**
   * Merge into the entry pending for the same key. Returns true when merged (the caller counts
   * one event as `aggregated`), false when the key had nothing pending.
   */
  merge(env: Envelope): boolean {
    const key = this.keyOf(env);
    const acc = this.pending.get(key);
    if (acc === undefined) return false;
    this.pending.set(key, this.fold === undefined ? env : this.fold(acc, env));
    return true;
  }

  tryPush(env: Envelope): boolean {
    if (this.pending.size >= this.capacity) return false;
    this.pending.set(this.keyOf(env), env);
    return true;
  }

  evictFor(): boolean {
    const oldest = this.pending.keys().next();
    if (oldest.done === true) return false;
    this.pending.delete(oldest.value);
    return true;
  }

  shift(): Envelope | undefined {
    const first = this.pending.entries().next();
    if (first.done === true) return undefined;
    this.pending.delete(first.value[0]);
    return first.value[1];
  }

  clear(): number {
    const n = this.pending.size;
    this.pending.clear();
    return n;
  }
}
