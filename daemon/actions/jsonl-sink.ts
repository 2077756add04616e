import type { Writable } from 'node:stream';
import type { MqttSink } from './mqtt-bridge.js';
import type { MqttMessage } from './mqtt-contract.js';

/**
 * `replay --emit jsonl`: every message the daemon would publish over MQTT, one JSON object per
 * line (`t_ms` in fixture time, `topic`, `payload`, `qos`, `retain`), with no broker needed.
 * Honours the stream's backpressure so a slow pipe slows the replay instead of buffering.
 */
export class JsonlSink implements MqttSink {
  constructor(
    private readonly out: Writable,
    /** Fixture start in clock ms, read per line (known once the replay opened the fixture); t_ms = event time − origin. */
    private readonly originMs: () => number,
  ) {}

  publish(topic: string, message: MqttMessage, sourceTsMs: number): Promise<void> {
    const line = JSON.stringify({
      t_ms: sourceTsMs - this.originMs(),
      topic,
      // What goes on the wire; binary data (a camera frame) by its size, like --emit-bus does.
      payload: message.binary === undefined ? (message.raw ?? message.payload) : message.payload,
      qos: message.qos,
      retain: message.retain,
    });
    return writeLine(this.out, line);
  }
}

/** Write one line, resolving when the stream can take more. */
export function writeLine(out: Writable, line: string): Promise<void> {
  if (out.write(`${line}\n`)) return Promise.resolve();
  return new Promise((resolve) => out.once('drain', resolve));
}
