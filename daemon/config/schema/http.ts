/** `http`: /healthz, /metrics and the dashboard. */
import { arr, bool, int, obj, str } from './builder.js';
import { port } from './common.js';

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
