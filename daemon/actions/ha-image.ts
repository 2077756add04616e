/**
 * The latest camera frame for Home Assistant's `image` entity (opt-in:
 * mqtt.discovery.image_interval_s > 0). At most one frame per interval is taken from the camera's
 * topic — a sampled subscription holding one frame, so the camera never waits for the broker —
 * and published as the bare JPEG on `<base>/camera/<id>/image` (QoS 0, not retained: a stale
 * frame should not outlive the device's state on the broker).
 *
 * A frame is raw image data: the MQTT egress gate lets it through only while the camera's tier is
 * `public`, wherever the broker is (mqtt-egress.ts); under any other tier it is withheld and
 * counted (`public` is never the camera's default: `local_only`).
 */
import type { Envelope } from '../bus/envelope.js';
import type { CameraFrame } from '../bus/topics.js';
import type { EventBus, Subscription } from '../bus/types.js';
import type { Component } from '../component.js';
import type { Logger } from '../log.js';
import { imageTopic } from './ha-entities.js';
import type { MqttSink } from './mqtt-bridge.js';
import { fullTopic, type MqttMessage } from './mqtt-contract.js';
import type { MqttEgressGate } from './mqtt-egress.js';

export interface HaImagePublisherOptions {
  readonly bus: EventBus;
  readonly sink: MqttSink;
  readonly baseTopic: string;
  readonly sensorId: string;
  /** mqtt.discovery.image_interval_s: one frame per this many seconds at most. */
  readonly intervalS: number;
  readonly gate?: MqttEgressGate;
  readonly logger: Logger;
}

export class HaImagePublisher implements Component {
  readonly name = 'actions.ha-image';
  private sub: Subscription | undefined;
  private sent = 0;

  constructor(private readonly o: HaImagePublisherOptions) {}

  async start(): Promise<void> {
    this.sub = this.o.bus.subscribe(`sensor/camera/${this.o.sensorId}/frame`, (env) => this.forward(env), {
      component: this.name,
      qos: 'realtime',
      // One frame waiting at most; the sampler admits one per interval (on the bus clock).
      queueCapacity: 1,
      overflow: { kind: 'sample', maxPerSecond: 1 / this.o.intervalS },
    });
  }

  async stop(): Promise<void> {
    await this.sub?.unsubscribe();
    this.sub = undefined;
  }

  /** Frames handed to the sink. */
  sentCount(): number {
    return this.sent;
  }

  private async forward(env: Envelope): Promise<void> {
    const frame = env.payload as CameraFrame;
    const message: MqttMessage = {
      topic: imageTopic(this.o.sensorId),
      payload: { ts: env.tsMs, seq: frame.seq, bytes: frame.jpeg.length },
      binary: frame.jpeg,
      qos: 0,
      retain: false,
      privacy: { data: 'raw', topic: env.topic },
    };
    const topic = fullTopic(this.o.baseTopic, message);
    if (this.o.gate !== undefined && !this.o.gate.admit(topic, message)) return;
    await this.o.sink.publish(topic, message, env.tsMs);
    this.sent++;
  }
}
