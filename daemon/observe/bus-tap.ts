import type { Writable } from 'node:stream';
import { writeLine } from '../actions/jsonl-sink.js';
import type { Envelope } from '../bus/envelope.js';
import type { EventBus, Subscription } from '../bus/types.js';
import type { Component } from '../component.js';

export interface BusTapOptions {
  readonly bus: EventBus;
  readonly pattern: string;
  readonly out: Writable;
  /** t_ms = envelope time − origin (fixture start during replay), read per line. */
  readonly originMs: () => number;
}

/**
 * `replay --emit-bus PATTERN`: internal bus events as JSON lines. Binary payload fields (JPEG
 * buffers, audio arrays) are summarised by size so the output stays readable and deterministic.
 * Subscribes with guaranteed delivery: a tap that dropped events would make replays disagree.
 */
export class BusTap implements Component {
  readonly name = 'tap.bus';
  private sub: Subscription | undefined;

  constructor(private readonly options: BusTapOptions) {}

  async start(): Promise<void> {
    this.sub = this.options.bus.subscribe(this.options.pattern, (env) => this.write(env), {
      component: this.name,
      qos: 'batched',
      queueCapacity: 4096,
    });
  }

  async stop(): Promise<void> {
    await this.sub?.unsubscribe({ drain: true });
    this.sub = undefined;
  }

  private write(env: Envelope): Promise<void> {
    const line = JSON.stringify({
      t_ms: env.tsMs - this.options.originMs(),
      topic: env.topic,
      source: env.source,
      ...(env.correlationId === undefined ? {} : { correlation_id: env.correlationId }),
      payload: summarise(env.payload),
    });
    return writeLine(this.options.out, line);
  }
}

/** Replace binary data by `{ bytes: n }` (or `{ samples: n }` for audio), recursively. */
export function summarise(value: unknown, depth = 0): unknown {
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return { bytes: value.byteLength };
  if (value instanceof Int16Array || value instanceof Float32Array) return { samples: value.length };
  if (ArrayBuffer.isView(value)) return { bytes: value.byteLength };
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => summarise(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = summarise(v, depth + 1);
  return out;
}
