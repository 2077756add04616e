import type { Envelope } from '../bus/envelope.js';
import type { EventBus, Subscription } from '../bus/types.js';
import type { Component } from '../component.js';
import { ErrorCode, isEdgeloomError } from '../errors.js';
import type { Logger } from '../log.js';
import { fullTopic, MQTT_SOURCE_PATTERNS, type MqttMessage, toMqttMessage } from './mqtt-contract.js';
import type { MqttEgressGate } from './mqtt-egress.js';
import type { StageLatency } from './stage-latency.js';

/** Where outgoing messages go: a real MQTT client with its outbox, or a JSONL writer for replays. */
export interface MqttSink {
  /**
   * Resolves once the message is handed over (sent, acknowledged, or persisted in the outbox). The
   * order of the calls is the order of delivery: a sink takes the message synchronously.
   */
  publish(topic: string, message: MqttMessage, sourceTsMs: number): Promise<void>;
  /**
   * Calls of `publish()` the bridge may have outstanding at once, per source pattern. Default 1 (a
   * JSONL pipe: its backpressure is one `drain` wait at a time).
   */
  readonly maxPending?: number;
}

export interface MqttBridgeOptions {
  readonly bus: EventBus;
  readonly logger: Logger;
  readonly sink: MqttSink;
  /** e.g. `edgeloom/kitchen-pi`. */
  readonly baseTopic: string;
  /** Guaranteed-delivery queue bound; when full the publishers upstream are slowed, nothing is dropped. */
  readonly queueCapacity?: number;
  /** The privacy gate: what the broker's destination may not have is withheld here, before any outbox. */
  readonly gate?: MqttEgressGate;
  /** End-to-end latency of the paths whose messages pass here (stage-latency.ts). */
  readonly stageLatency?: StageLatency;
}

/**
 * The last stage: bus events that the public contract names become MQTT messages. It subscribes
 * with `batched` QoS, so an event accepted on the bus is never dropped on the way to the sink —
 * except what the privacy gate withholds from this broker (mqtt-egress.ts), which is counted.
 */
export class MqttBridge implements Component {
  readonly name = 'actions.mqtt-bridge';
  private subs: Subscription[] = [];
  private published = 0;
  private notStored = 0;

  constructor(private readonly options: MqttBridgeOptions) {}

  async start(): Promise<void> {
    const { bus } = this.options;
    for (const pattern of MQTT_SOURCE_PATTERNS) {
      this.subs.push(
        bus.subscribe(pattern, (env) => this.forward(env), {
          component: this.name,
          qos: 'batched',
          queueCapacity: this.options.queueCapacity ?? 1024,
          // Handlers start in queue order and each hands its message to the sink before its first
          // await, so running several at once keeps the order while one message waits for the
          // broker's acknowledgement or the disk (the outbox's write-behind) and the next goes out.
          concurrency: this.options.sink.maxPending ?? 1,
        }),
      );
    }
  }

  async stop(): Promise<void> {
    const subs = this.subs;
    this.subs = [];
    await Promise.all(subs.map((s) => s.unsubscribe({ drain: true })));
  }

  /** Messages handed to the sink so far. */
  publishedCount(): number {
    return this.published;
  }

  /** Messages the sink's outbox could not store (a full disk). */
  notStoredCount(): number {
    return this.notStored;
  }

  private async forward(env: Envelope): Promise<void> {
    const msg = toMqttMessage(env);
    if (msg === undefined) return;
    const topic = fullTopic(this.options.baseTopic, msg);
    if (this.options.gate !== undefined && !this.options.gate.admit(topic, msg)) return;
    try {
      await this.options.sink.publish(topic, msg, env.tsMs);
    } catch (err) {
      // Counted and logged once per burst by the outbox; a line per message here would repeat it.
      if (!isEdgeloomError(err, ErrorCode.E_MQTT_OUTBOX_WRITE)) throw err;
      this.notStored++;
      return;
    }
    this.published++;
    this.options.stageLatency?.record(env);
  }
}
