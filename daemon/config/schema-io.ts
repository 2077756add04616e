import { arr, bool, enm, int, obj, str } from './schema-builder.js';

const port = (description: string, dflt: number) =>
  int({ description, default: dflt, minimum: 0, maximum: 65_535 });

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
  }),
  discovery: obj('Home Assistant MQTT discovery.', {
    enabled: bool({ description: 'Publish discovery config for edgeloom’s entities.', default: true }),
    prefix: str({
      description: 'Discovery prefix configured in Home Assistant.',
      default: 'homeassistant',
      minLength: 1,
    }),
  }),
  publish_allow: arr({
    description: 'Topic patterns (MQTT wildcards) the mqtt.publish tool may write to; empty = none.',
    items: str({ description: 'Topic pattern.', minLength: 1 }),
    default: [],
    maxItems: 256,
  }),
});

export const storageSchema = obj('Local state (LevelDB: agent event logs, snapshots, MQTT outbox).', {
  dir: str({
    description: 'LevelDB directory; default $STATE_DIRECTORY (systemd StateDirectory=) or ./var/edgeloom.',
    minLength: 1,
  }),
  audit_max_records: int({
    description: 'Audit records kept; past it the oldest are deleted (the hash chain continues).',
    default: 200_000,
    minimum: 100,
  }),
});

export const controlSchema = obj(
  'Who may change the device from outside: signed commands, the local control socket, pauses.',
  {
    command_key: str({
      description:
        'HMAC-SHA256 key for signed MQTT commands (at least 16 characters); empty = no command from the network may loosen privacy, forget or override a safety pause.',
      default: '',
      pattern: '^$|^.{16,}$',
      secret: true,
    }),
    max_clock_skew_s: int({
      description:
        "A signed command's `ts` may differ from the device's clock by at most this, s (replay window).",
      default: 120,
      minimum: 1,
      maximum: 3600,
    }),
    socket: bool({
      description:
        'Serve the local control socket <storage.dir>/control.sock (mode 0600) for `edgeloom privacy|forget|audit`.',
      default: true,
    }),
    pause_max_s: int({
      description: 'Longest a camera or microphone pause lasts, s; it resumes by itself after it.',
      default: 86_400,
      minimum: 1,
      maximum: 604_800,
    }),
    safety_pause_max_s: int({
      description:
        'Longest pause of a sensor that feeds fall detection (the IMU), s; such a pause also needs an authenticated command with safety_override.',
      default: 900,
      minimum: 1,
      maximum: 86_400,
    }),
  },
);

export const httpSchema = obj('HTTP endpoint: /healthz, /metrics, the dashboard.', {
  enabled: bool({ description: 'Serve HTTP.', default: true }),
  host: str({
    description: 'Listen address; a non-loopback address requires `token`.',
    default: '127.0.0.1',
    minLength: 1,
  }),
  port: port('Listen port, TCP (0 = any free port).', 8080),
  token: str({
    description: 'Bearer token required on every request except /healthz; empty = none (loopback only).',
    default: '',
    secret: true,
  }),
  allowed_hosts: arr({
    description:
      "Host names the endpoint answers to besides IP addresses, localhost and this machine's host name (and <name>.local); any other Host header gets 421 (DNS rebinding).",
    items: str({ description: 'A host name, e.g. kiosk.lan.', minLength: 1, pattern: '^[A-Za-z0-9.-]+$' }),
    default: [],
    maxItems: 32,
  }),
  max_connections_per_client: int({
    description:
      'Open connections per client address; past it a new one from that client is closed at once, so one client cannot take the slots /healthz and the kiosk need (64 in all). A browser opens up to 6 per host: 16 leaves room for the kiosk and a dashboard on the same machine.',
    default: 16,
    minimum: 1,
    maximum: 64,
  }),
});
