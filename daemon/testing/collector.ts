/**
 * What `edgeloom/testing` keeps of a run: the bus events of the patterns asked for and the MQTT
 * messages the bridge hands its sink (in place of a broker), in the order they happened.
 * Bounded: at most `maxEvents` events (later ones counted, not kept: a test asks for a finite
 * recording); MQTT messages are few per event and kept whole.
 */
import type { MqttSink } from '../actions/mqtt-bridge.js';
import type { MqttMessage } from '../actions/mqtt-contract.js';
import type { Envelope } from '../bus/envelope.js';
import { patternMatches } from '../bus/topic-match.js';
import type { BusEvent, Collected, MqttRecord } from './types.js';

export class Collector {
  /** The fixture's start on the daemon clock (known once the replay opened it). */
  origin: () => number = () => 0;
  readonly events: BusEvent[] = [];
  readonly mqtt: MqttRecord[] = [];
  dropped = 0;
  /** Pending waitFor() checks, run after each new event (one per waiting call). */
  private readonly waiters = new Set<() => void>();

  constructor(private readonly maxEvents: number) {}

  readonly sink: MqttSink = {
    publish: async (topic: string, m: MqttMessage, sourceTsMs: number) => {
      const json = m.raw === undefined && m.binary === undefined ? m.payload : undefined;
      this.mqtt.push({
        tMs: sourceTsMs - this.origin(),
        topic,
        qos: m.qos,
        retain: m.retain,
        json,
        text: m.binary !== undefined ? `<${m.binary.length} bytes>` : (m.raw ?? JSON.stringify(m.payload)),
      });
    },
  };

  add(env: Envelope): void {
    if (this.events.length >= this.maxEvents) {
      this.dropped++;
      return;
    }
    this.events.push({
      topic: env.topic,
      tMs: env.tsMs - this.origin(),
      tsMs: env.tsMs,
      source: env.source,
      correlationId: env.correlationId,
      payload: env.payload,
    });
    for (const check of [...this.waiters]) check();
  }

  on(pattern: string): BusEvent[] {
    return this.events.filter((e) => patternMatches(pattern, e.topic));
  }

  /** The first event on `pattern` that `accept` takes, already kept or still to come. */
  waitFor(pattern: string, accept: (e: BusEvent) => boolean, timeoutMs: number): Promise<BusEvent> {
    return new Promise((resolve, reject) => {
      let from = 0;
      const check = (): void => {
        for (; from < this.events.length; from++) {
          const e = this.events[from]!;
          if (patternMatches(pattern, e.topic) && accept(e)) {
            done();
            resolve(e);
            return;
          }
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`edgeloom/testing: no event on ${pattern} within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  /** The read-only view a test gets (eventsDropped stays live). */
  view(): Collected {
    const self = this;
    return {
      events: this.events,
      mqtt: this.mqtt,
      get eventsDropped() {
        return self.dropped;
      },
      on: ((pattern: string) => this.on(pattern)) as Collected['on'],
    };
  }
}
