/**
 * Hands the outbox's QoS 1 messages to mqtt.js in sequence order, keeping at most `maxInflight`
 * unacknowledged (the MQTT "receive maximum" idea, on our side): a PUBACK deletes the entry from
 * the outbox and lets the next one go; a failed publish leaves it in the outbox and queues every
 * unacknowledged entry again, in order. The queue of unsent sequences is compacted as it is
 * consumed, so it stays bounded by the outbox's own bound (`mqtt.outbox.max_messages`).
 */
import type { MqttClient } from 'mqtt';
import type { Logger } from '../log.js';
import type { MessagePrivacy } from './mqtt-contract.js';
import type { Outbox } from './outbox.js';

export interface OutboxSenderOptions {
  readonly outbox: Outbox;
  readonly logger: Logger;
  /** QoS 1 messages handed to mqtt.js and not yet acknowledged, at most. */
  readonly maxInflight: number;
  /** The client to publish on while connected; undefined otherwise (nothing is handed over). */
  readonly connectedClient: () => MqttClient | undefined;
  /** The sink's counters. */
  readonly counters: { publishErrors: number; qos1Acked: number };
  /** The outbox became empty (every accepted message acknowledged). */
  readonly onEmpty: () => void;
}

export class OutboxSender {
  /** Outbox sequences handed to mqtt.js and not yet acknowledged. */
  private readonly inflight = new Set<number>();
  /** Outbox sequences not yet handed to mqtt.js, oldest first (`unsentHead` is the next one). */
  private unsent: number[] = [];
  private unsentHead = 0;

  constructor(private readonly o: OutboxSenderOptions) {}

  /** Messages handed to mqtt.js and not yet acknowledged. */
  get inflightCount(): number {
    return this.inflight.size;
  }

  /**
   * Accept a QoS 1 message into the outbox and send it when the window allows; resolves when it is
   * acknowledged or written (outbox.ts), rejects with E_MQTT_OUTBOX_FULL under `refuse`.
   */
  accept(topic: string, payload: string, retain: boolean, privacy?: MessagePrivacy): Promise<void> {
    let added: ReturnType<Outbox['add']>;
    try {
      added = this.o.outbox.add(topic, payload, retain, privacy);
    } catch (err) {
      return Promise.reject(err);
    }
    this.enqueue(added.entry.seq);
    this.pump();
    return added.persisted;
  }

  /** Queue an outbox entry for sending (after the ones queued before it). */
  enqueue(seq: number): void {
    this.unsent.push(seq);
  }

  /** Hand the oldest unsent outbox entries to mqtt.js, keeping at most maxInflight unacknowledged. */
  pump(): void {
    const client = this.o.connectedClient();
    if (client === undefined) return;
    const { outbox } = this.o;
    while (this.inflight.size < this.o.maxInflight && this.unsentHead < this.unsent.length) {
      const seq = this.unsent[this.unsentHead++] as number;
      const entry = outbox.get(seq);
      if (entry === undefined || this.inflight.has(seq)) continue; // evicted (drop-oldest) meanwhile
      this.inflight.add(seq);
      client.publish(entry.topic, entry.payload, { qos: 1, retain: entry.retain }, (err) => {
        this.inflight.delete(seq);
        if (err) {
          // Still in the outbox: queue every unacknowledged entry again, in sequence order.
          this.o.counters.publishErrors++;
          this.o.logger.debug({ err: err.message, seq }, 'mqtt: publish not acknowledged');
          this.requeueUnacknowledged();
        } else {
          this.o.counters.qos1Acked++;
          outbox.acknowledge(seq);
          if (outbox.size === 0) this.o.onEmpty();
        }
        this.pump();
      });
    }
    // Compact the consumed head now and then so the array does not grow without bound.
    if (this.unsentHead > 1024 && this.unsentHead * 2 > this.unsent.length) {
      this.unsent = this.unsent.slice(this.unsentHead);
      this.unsentHead = 0;
    }
  }

  private requeueUnacknowledged(): void {
    this.unsent = [];
    this.unsentHead = 0;
    for (const entry of this.o.outbox.values())
      if (!this.inflight.has(entry.seq)) this.unsent.push(entry.seq);
  }
}
