/**
 * MqttConfig → mqtt.js client options: stable client id, persistent session, last will, TLS
 * files and credentials. Reconnection is driven by the sink (with backoff on the injected clock),
 * so mqtt.js's own fixed-period reconnect is off.
 */
import { readFileSync } from 'node:fs';
import type { IClientOptions } from 'mqtt';
import type { PrivacyTier } from '../bus/topics.js';
import type { MqttConfig } from '../config/types.js';
import { EdgeloomError } from '../errors.js';
import type { PrivacySnapshot } from '../router/privacy.js';
import type { BrokerCredential } from './broker-credentials.js';
import type { MqttMessage } from './mqtt-contract.js';

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
    throw new EdgeloomError('E_MQTT_TLS_FILE', `cannot read ${key} file ${path}: ${(err as Error).message}`, {
      where: key,
      cause: err,
    });
  }
}
