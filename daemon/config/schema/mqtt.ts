/** `mqtt`: broker, outbox, Home Assistant discovery, the embedded broker. */
import { arr, bool, enm, int, obj, str } from './builder.js';
import { port } from './common.js';

export const mqttSchema = obj('MQTT: actions, state and Home Assistant discovery.', {
  url: str({
    description: 'Broker URL (mqtt://, mqtts://, ws://, wss://); empty starts the embedded broker.',
    default: '',
    pattern: '^$|^(mqtt|mqtts|tcp|tls|ssl|ws|wss)://.+',
  }),
  destination: enm({
    description:
      'How far the broker is from the device, which decides what may be published to it: device (on this machine) gets every tier, lan (a private network) gets private derived data, cloud gets sensitive and public only. auto: from the URL (loopback → device, a private address or a .local/.home.arpa name → lan, anything else → cloud; the embedded broker is device on loopback, lan otherwise).',
    values: ['auto', 'device', 'lan', 'cloud'],
    default: 'auto',
  }),
  embedded: obj('The embedded broker (aedes), used when url is empty.', {
    host: str({
      description: 'Listen address; a non-loopback address makes the broker a LAN destination.',
      default: '127.0.0.1',
    }),
    port: port('Listen port, TCP (0 = any free port).', 1883),
    username: str({ description: 'User name clients log in with.', default: 'edgeloom', minLength: 1 }),
    password: str({
      description:
        'Password clients log in with; empty = generated once into <storage.dir>/mqtt-embedded-password (mode 0600).',
      default: '',
      secret: true,
    }),
    allow_anonymous: bool({
      description: 'Also accept clients without credentials (loopback host only).',
      default: false,
    }),
  }),
  base_topic: str({
    description: 'Prefix of every topic edgeloom publishes; {device_id} is replaced by device.id.',
    default: 'edgeloom/{device_id}',
    pattern: '^[^#+]+$',
  }),
  stats_interval_ms: int({
    description:
      'Period of the retained `stats` message, ms (the first goes out 5 s after start, or sooner when the period is shorter).',
    default: 30_000,
    minimum: 1000,
  }),
  username: str({ description: 'Broker user name; empty = anonymous.', default: '' }),
  password: str({ description: 'Broker password.', default: '', secret: true }),
  tls: obj('TLS for mqtts:// and wss:// (file paths; empty = system defaults).', {
    ca: str({ description: 'CA certificate (PEM) path.', default: '' }),
    cert: str({ description: 'Client certificate (PEM) path.', default: '' }),
    key: str({ description: 'Client private key (PEM) path.', default: '' }),
    reject_unauthorized: bool({
      description: 'Refuse brokers whose certificate does not verify.',
      default: true,
    }),
    allow_unverified: bool({
      description:
        'Must be true for reject_unauthorized: false to be accepted: anyone on the path could then pose as the broker and read every message and credential.',
      default: false,
    }),
  }),
  client_id: str({ description: 'MQTT client id; empty = edgeloom-{device_id}.', default: '' }),
  clean: bool({
    description: 'Clean session; false keeps subscriptions and QoS 1 messages across reconnects.',
    default: false,
  }),
  keepalive_s: int({
    description: 'Keep-alive interval, seconds.',
    default: 30,
    minimum: 0,
    maximum: 65_535,
  }),
  outbox: obj('Messages held while the broker is unreachable (persisted, replayed on reconnect).', {
    max_messages: int({
      description: 'Outbox bound, messages; `policy` decides what happens when full.',
      default: 10_000,
      minimum: 1,
    }),
    policy: enm({
      description: 'When full: drop-oldest discards the oldest message; refuse rejects the new one.',
      values: ['drop-oldest', 'refuse'],
      default: 'drop-oldest',
    }),
    write_delay_ms: int({
      description:
        'While connected, a message is written to disk only if the broker has not acknowledged it within this many ms (write-behind: a healthy broker acknowledges in ~1 ms, so most messages never touch the disk). Disconnected, every message is written at once. 0 = write every message.',
      default: 50,
      minimum: 0,
      maximum: 10_000,
    }),
  }),
  max_inflight: int({
    description:
      'QoS 1 messages handed to the broker and not yet acknowledged, at most (the rest wait in the outbox, in order).',
    default: 1024,
    minimum: 1,
    maximum: 65_535,
  }),
  discovery: obj('Home Assistant MQTT discovery.', {
    enabled: bool({ description: 'Publish discovery config for edgeloom’s entities.', default: true }),
    prefix: str({
      description: 'Discovery prefix configured in Home Assistant.',
      default: 'homeassistant',
      minLength: 1,
    }),
    configuration_url: str({
      description:
        "The device's `configuration_url` in Home Assistant (its dashboard link); empty = http://<http.host>:<http.port>/ when the dashboard listens beyond loopback (<host name>.local for 0.0.0.0), else none.",
      default: '',
      pattern: '^$|^https?://.+',
    }),
    image_interval_s: int({
      description:
        'Publish the latest camera frame for a Home Assistant `image` entity at most every this many seconds (QoS 0, not retained); 0 = off. Published only while the camera tier is `public`: under any other tier the MQTT egress gate withholds it (raw images).',
      default: 0,
      minimum: 0,
      maximum: 3600,
    }),
  }),
  publish_allow: arr({
    description: 'Topic patterns (MQTT wildcards) the mqtt.publish tool may write to; empty = none.',
    items: str({ description: 'Topic pattern.', minLength: 1 }),
    default: [],
    maxItems: 256,
  }),
});
