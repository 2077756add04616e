/**
 * MqttConfig → mqtt.js client options: stable client id, persistent session, last will, TLS
 * files and credentials. Reconnection is driven by the sink (with backoff on the injected clock),
 * so mqtt.js's own fixed-period reconnect is off. Also the sink's (mqtt-client.ts) options and
 * stats, and the device-state messages it sends itself: the status, the privacy settings and what
 * every (re)connect announces.
 */
import { readFileSync } from 'node:fs';
import type { IClientOptions } from 'mqtt';
import type { PrivacyTier } from '../bus/topics.js';
import type { EventBus } from '../bus/types.js';
import type { MqttConfig } from '../config/types.js';
import { EdgeloomError, ErrorCode } from '../errors.js';
import type { Logger } from '../log.js';
import type { AuditLog } from '../router/audit-log.js';
import type { PrivacySnapshot } from '../router/privacy.js';
import type { Store } from '../storage/store.js';
import type { Clock } from '../util/clock.js';
import type { BrokerCredential } from './broker-credentials.js';
import type { CommandStats } from './commands.js';
import type { EmbeddedBrokerStats } from './embedded-broker.js';
import type { HaDevice } from './ha-entities.js';
import type { HaLinkStats } from './ha-link.js';
import type { MqttMessage } from './mqtt-contract.js';
import type { MqttEgressGate, PrivacyView } from './mqtt-egress.js';
import type { OutboxStats } from './outbox.js';

export interface MqttClientSinkOptions {
  readonly config: MqttConfig;
  readonly deviceId: string;
  readonly logger: Logger;
  readonly clock: Clock;
  /** The daemon's store, open and owned by StorageComponent (the outbox uses sublevel `outbox`). */
  readonly storage: Store;
  /** Serve `<base>/cmd/#` as bus requests; absent: no commands. */
  readonly bus?: EventBus;
  /**
   * Other devices' topics to read (the voice skills' device states and weather, agents/skills/):
   * subscribed on every connect, each message handed to `deliver`. Exact topics only.
   */
  readonly watch?: {
    readonly topics: readonly string[];
    deliver(topic: string, payload: Buffer): void;
  };
  /**
   * The Home Assistant entities this configuration enables (ha-config.ts), published when
   * mqtt.discovery.enabled. Default: the device's own entities only (status, restart, diagnostics).
   */
  readonly homeAssistant?: HaDevice;
  /** First reconnect delay, ms (doubles per failure). Default 500. */
  readonly reconnectMinMs?: number;
  /** Largest reconnect delay, ms. Default 30 000. */
  readonly reconnectMaxMs?: number;
  /** Give up one connection attempt after this long, ms. Default 10 000. */
  readonly connectTimeoutMs?: number;
  /** QoS 1 messages handed to mqtt.js and not yet acknowledged, at most. Default `mqtt.max_inflight`. */
  readonly maxInflight?: number;
  /** stop() waits this long for the outbox to empty before disconnecting, ms. Default 2000. */
  readonly stopFlushMs?: number;
  /** Commands accepted per second; the excess is dropped and counted. Default 20. */
  readonly commandsPerSecond?: number;
  /** How long a command waits for its responder, ms. Default 5000. */
  readonly commandTimeoutMs?: number;
  /** fsync outbox writes (survives power loss, much slower). Default false. */
  readonly syncWrites?: boolean;
  /** The privacy gate of this broker (the bridge withholds with it; the sink purges with it). */
  readonly gate?: MqttEgressGate;
  /** The privacy settings: published on `<base>/privacy`, purges on change. */
  readonly privacy?: PrivacyView;
  /** Commands and their outcomes are audited here. */
  readonly audit?: AuditLog;
  /** Signed commands (control.command_key, max_clock_skew_s); absent: every signed command is refused. */
  readonly commandKey?: { readonly key: string; readonly maxSkewMs: number };
  /** Directory for the embedded broker's generated password file (storage.dir). */
  readonly credentialsDir?: string;
}

export interface MqttSinkStats {
  readonly connected: boolean;
  readonly connects: number;
  readonly disconnects: number;
  readonly qos0Sent: number;
  /** QoS 0 messages dropped because the broker was unreachable. */
  readonly qos0Dropped: number;
  readonly qos1Acked: number;
  readonly publishErrors: number;
  readonly outbox: OutboxStats;
  readonly commands: CommandStats | undefined;
  /** Messages the privacy gate withheld from this broker, by reason. */
  readonly withheld: Readonly<Record<string, number>>;
  readonly broker: EmbeddedBrokerStats | undefined;
  readonly homeAssistant: HaLinkStats | undefined;
}

/** Status payloads: JSON like every other message; Home Assistant reads `state` with a value_template. */
export const STATUS_ONLINE = 'online';
export const STATUS_OFFLINE = 'offline';

/** `edgeloom-<device_id>` unless configured: stable across restarts so the broker resumes the session. */
export function clientIdFor(config: Pick<MqttConfig, 'client_id'>, deviceId: string): string {
  return config.client_id !== '' ? config.client_id : `edgeloom-${deviceId}`;
}

export function statusTopic(baseTopic: string): string {
  return `${baseTopic}/status`;
}

/**
 * The retained `<base>/privacy` message: the tiers in force (by sensor id, default, topic
 * overrides) and this broker's destination, so Home Assistant can show what the device shares.
 */
export function privacyMessage(
  snapshot: PrivacySnapshot,
  destination: string | undefined,
  ts: number,
): MqttMessage {
  const payload: Record<string, unknown> = {
    ts,
    default: snapshot.defaultTier,
    sensors: snapshot.sensorIds as Record<string, PrivacyTier>,
    overrides: snapshot.overrides,
    ...(destination === undefined ? {} : { destination }),
  };
  return { topic: 'privacy', qos: 1, retain: true, payload };
}

/**
 * The retained messages every (re)connect publishes, in this order: `<base>/status` online (the
 * last will turns it offline) and the privacy settings when there are any. The Home Assistant
 * discovery configs follow (ha-link.ts): a broker restarted without persistence forgets them all.
 */
export function connectAnnouncements(o: {
  readonly baseTopic: string;
  readonly nowMs: number;
  readonly privacy: MqttMessage | undefined;
}): { readonly topic: string; readonly payload: string }[] {
  const out = [
    { topic: statusTopic(o.baseTopic), payload: JSON.stringify({ state: STATUS_ONLINE, ts: o.nowMs }) },
  ];
  if (o.privacy !== undefined) {
    out.push({ topic: `${o.baseTopic}/${o.privacy.topic}`, payload: JSON.stringify(o.privacy.payload) });
  }
  return out;
}

/** Never log credentials embedded in a URL. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//[redacted]@');
}

export interface ClientOptionsInput {
  readonly config: MqttConfig;
  readonly deviceId: string;
  /** Connect timeout, ms. */
  readonly connectTimeoutMs: number;
  /** Log in with this instead of mqtt.username/password (the embedded broker's daemon credential). */
  readonly login?: BrokerCredential;
}

export function buildClientOptions({
  config,
  deviceId,
  connectTimeoutMs,
  login,
}: ClientOptionsInput): IClientOptions {
  const options: IClientOptions = {
    clientId: clientIdFor(config, deviceId),
    // MQTT 3.1.1: spoken by Mosquitto and by the embedded aedes alike. With clean=false the broker
    // keeps the session (our cmd/# subscription and QoS 1 messages for us) across reconnects.
    protocolVersion: 4,
    clean: config.clean,
    keepalive: config.keepalive_s,
    connectTimeout: connectTimeoutMs,
    reconnectPeriod: 0,
    // The sink never hands mqtt.js a message while disconnected; QoS 0 must not pile up in its queue.
    queueQoSZero: false,
    // The broker publishes this retained `offline` status when the connection dies without a DISCONNECT.
    will: {
      topic: statusTopic(config.base_topic),
      payload: Buffer.from(JSON.stringify({ state: STATUS_OFFLINE })),
      qos: 1,
      retain: true,
    },
  };
  if (login !== undefined) {
    options.username = login.username;
    options.password = login.password;
  } else {
    if (config.username !== '') options.username = config.username;
    if (config.password !== '') options.password = config.password;
  }
  const { tls } = config;
  if (tls.ca !== '') options.ca = readPem(tls.ca, 'mqtt.tls.ca');
  if (tls.cert !== '') options.cert = readPem(tls.cert, 'mqtt.tls.cert');
  if (tls.key !== '') options.key = readPem(tls.key, 'mqtt.tls.key');
  options.rejectUnauthorized = tls.reject_unauthorized;
  return options;
}

function readPem(path: string, key: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new EdgeloomError(
      ErrorCode.E_MQTT_TLS_FILE,
      `cannot read ${key} file ${path}: ${(err as Error).message}`,
      {
        where: key,
        cause: err,
      },
    );
  }
}
