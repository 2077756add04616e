/** Shared pieces of the MQTT tests: a config slice, a recording subscriber, waiting helpers. */
import mqtt, { type MqttClient } from 'mqtt';
import type { HaDevice } from '../../daemon/actions/ha-entities.js';
import type { MqttConfig } from '../../daemon/config/types.js';

/** The user credential tests give the embedded broker (mqtt.embedded.username / password). */
export const EMBEDDED_LOGIN = { username: 'edgeloom', password: 'test-embedded-password' } as const;

/** An MqttConfig with the schema's defaults, pointed at `url` ('' = embedded broker on a free port). */
export function mqttTestConfig(url: string, overrides: Partial<MqttConfig> = {}): MqttConfig {
  // `satisfies`: a key added to the schema fails to compile here instead of reaching the sink undefined.
  const base = {
    url,
    destination: 'auto',
    embedded: { host: '127.0.0.1', port: 0, ...EMBEDDED_LOGIN, allow_anonymous: false },
    base_topic: 'edgeloom/test-dev',
    username: '',
    password: '',
    tls: { ca: '', cert: '', key: '', reject_unauthorized: true, allow_unverified: false },
    client_id: '',
    clean: false,
    keepalive_s: 30,
    outbox: { max_messages: 10_000, policy: 'drop-oldest', write_delay_ms: 50 },
    max_inflight: 1024,
    discovery: { enabled: true, prefix: 'homeassistant', configuration_url: '', image_interval_s: 0 },
    publish_allow: [],
    stats_interval_ms: 30_000,
  } satisfies MqttConfig;
  return { ...base, ...overrides } as MqttConfig;
}

export interface Received {
  readonly topic: string;
  readonly payload: unknown;
  readonly qos: number;
  readonly retain: boolean;
}

/** A separate mqtt.js client recording everything it receives on `patterns` (QoS 1 subscription). */
export class Subscriber {
  readonly messages: Received[] = [];
  private constructor(readonly client: MqttClient) {}

  static async connect(
    url: string,
    patterns: string[],
    reconnectPeriodMs = 50,
    login?: { readonly username: string; readonly password: string },
  ): Promise<Subscriber> {
    const client = mqtt.connect(url, {
      protocolVersion: 4,
      reconnectPeriod: reconnectPeriodMs,
      clean: true,
      ...(login === undefined ? {} : { username: login.username, password: login.password }),
    });
    const sub = new Subscriber(client);
    client.on('error', () => undefined);
    client.on('message', (topic, payload, packet) => {
      let value: unknown;
      try {
        value = JSON.parse(payload.toString());
      } catch {
        value = payload.toString();
      }
      sub.messages.push({ topic, payload: value, qos: packet.qos, retain: packet.retain });
    });
    // Resubscribe on every connect: the test brokers keep no session across a restart.
    client.on('connect', () => {
      client.subscribe(patterns, { qos: 1 });
    });
    await new Promise<void>((resolve) => client.once('connect', () => resolve()));
    await client.subscribeAsync(patterns, { qos: 1 });
    return sub;
  }

  on(topic: string): Received[] {
    return this.messages.filter((m) => m.topic === topic);
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}

/** Poll until `check` returns true, or fail after `timeoutMs` with `what`. */
export async function waitFor(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A Home Assistant device with every kind of entity, for a sink under test (`base` as its base topic). */
export function testHaDevice(base: string, deviceId: string, overrides: Partial<HaDevice> = {}): HaDevice {
  return {
    prefix: 'homeassistant',
    baseTopic: base,
    deviceId,
    deviceName: 'edgeloom test',
    swVersion: '0.1.0',
    sensors: [
      { id: 'cam0', kind: 'camera', pausable: true },
      { id: 'mic0', kind: 'mic', pausable: true },
      { id: 'imu0', kind: 'imu', pausable: false },
    ],
    display: true,
    transcript: true,
    intents: ['light_on', 'no_match'],
    motion: true,
    speak: true,
    listen: true,
    models: ['silero-vad-v5'],
    temperature: true,
    ...overrides,
  };
}
