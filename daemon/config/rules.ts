import type { EdgeloomConfig } from './types.js';
import type { Violation } from './validate.js';

function parseUrl(text: string): URL | undefined {
  try {
    return new URL(text);
  } catch {
    return undefined;
  }
}

/** True for addresses only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/**
 * Topic privacy overrides (config and run time together) kept at most: a bound on the set, so
 * routing cost and memory do not grow with the changes a broker client sends.
 */
export const MAX_PRIVACY_OVERRIDES = 64;

/**
 * Rules one key's schema cannot express: relations between keys. Each names the key to fix;
 * they run only on a configuration that already passed the schema.
 */
export function crossFieldViolations(c: EdgeloomConfig): Violation[] {
  const out: Violation[] = [];
  const fail = (path: (string | number)[], message: string, at?: (string | number)[]): void => {
    out.push({ path, message, atKey: false, ...(at === undefined ? {} : { at }) });
  };

  // An HTTP endpoint reachable from the LAN serves metrics and the dashboard: never without a token.
  if (c.http.enabled && !isLoopbackHost(c.http.host) && c.http.token === '') {
    const why = `is required when http.host is not loopback (host is ${JSON.stringify(c.http.host)})`;
    fail(['http', 'token'], why, ['http', 'host']);
  }
  const overrides = Object.keys(c.router.privacy.overrides).length;
  if (overrides > MAX_PRIVACY_OVERRIDES) {
    fail(
      ['router', 'privacy', 'overrides'],
      `may hold at most ${MAX_PRIVACY_OVERRIDES} patterns (got ${overrides})`,
    );
  }
  // The embedded broker reachable from the LAN must authenticate its clients (as HTTP needs a token).
  if (c.mqtt.url === '' && !isLoopbackHost(c.mqtt.embedded.host) && c.mqtt.embedded.allow_anonymous) {
    const why = `must be false when mqtt.embedded.host is not loopback (host is ${JSON.stringify(c.mqtt.embedded.host)}): anyone on the network could read and command the device`;
    fail(['mqtt', 'embedded', 'allow_anonymous'], why, ['mqtt', 'embedded', 'host']);
  }
  // Hysteresis only works when the "speech ends" threshold is not above the "speech starts" one.
  if (c.pipeline.vad.negative_threshold > c.pipeline.vad.positive_threshold) {
    fail(
      ['pipeline', 'vad', 'negative_threshold'],
      `must be <= positive_threshold (${c.pipeline.vad.positive_threshold}) (got ${c.pipeline.vad.negative_threshold})`,
    );
  }
  const backoffs: [(string | number)[], { initial_ms: number; max_ms: number }][] = [
    [['sensors', 'camera', 'restart'], c.sensors.camera.restart],
    [['sensors', 'mic', 'restart'], c.sensors.mic.restart],
    [['sensors', 'imu', 'reconnect'], c.sensors.imu.reconnect],
  ];
  for (const [path, b] of backoffs) {
    if (b.max_ms < b.initial_ms)
      fail([...path, 'max_ms'], `must be >= initial_ms (${b.initial_ms}) (got ${b.max_ms})`);
  }
  if (c.sensors.camera.preset === 'custom' && c.sensors.camera.command.length === 0) {
    fail(['sensors', 'camera', 'command'], 'must name the capture command when preset is custom');
  }
  if (c.sensors.mic.recorder === 'custom' && c.sensors.mic.command.length === 0) {
    fail(['sensors', 'mic', 'command'], 'must name the recorder command when recorder is custom');
  }
  // A credential over plain http to another machine is readable by anyone on the path.
  if (c.cloud.enabled && !c.cloud.allow_insecure_http) {
    const u = parseUrl(c.cloud.base_url);
    const credentials =
      c.cloud.api_key !== '' || (u !== undefined && (u.username !== '' || u.password !== ''));
    if (u?.protocol === 'http:' && credentials && !isLoopbackHost(u.hostname)) {
      fail(
        ['cloud', 'base_url'],
        `sends cloud.api_key (or the URL's credentials) in clear text to ${u.host}: use https://, or set cloud.allow_insecure_http: true to accept that`,
      );
    }
  }
  // Not verifying the broker's certificate lets anyone on the path pose as the broker.
  if (!c.mqtt.tls.reject_unauthorized && !c.mqtt.tls.allow_unverified) {
    fail(
      ['mqtt', 'tls', 'reject_unauthorized'],
      "false accepts any broker certificate (anyone on the path can pose as the broker): set mqtt.tls.ca to the broker's CA, or mqtt.tls.allow_unverified: true to accept that",
    );
  }
  // A client certificate without its key (or the reverse) fails only at connect time, much later.
  if ((c.mqtt.tls.cert === '') !== (c.mqtt.tls.key === '')) {
    fail(
      ['mqtt', 'tls', c.mqtt.tls.cert === '' ? 'cert' : 'key'],
      'tls.cert and tls.key must be set together',
    );
  }
  // A plugin that sees frames or audio and may use the network could send them off the device,
  // which private and local_only forbid (README, "Privacy"): only an isolated one may see them.
  const seen = new Set<string>();
  // A plugin's sensor ids share the device's sensor id space (privacy scopes, MQTT topics).
  const sensorIds = new Set([c.sensors.camera.id, c.sensors.mic.id, c.sensors.imu.id]);
  c.plugins.forEach((p, i) => {
    p.sensors.forEach((s, j) => {
      if (sensorIds.has(s))
        fail(['plugins', i, 'sensors', j], `is already a sensor id (${JSON.stringify(s)})`);
      sensorIds.add(s);
    });
    if (seen.has(p.id)) fail(['plugins', i, 'id'], `is used by another plugin (${JSON.stringify(p.id)})`);
    seen.add(p.id);
    if (p.command.length === 0) fail(['plugins', i, 'command'], 'must name the program to run');
    if (p.restart.max_ms < p.restart.initial_ms)
      fail(['plugins', i, 'restart', 'max_ms'], `must be >= initial_ms (${p.restart.initial_ms})`);
    const mediaTiers = [c.sensors.camera.privacy, c.sensors.mic.privacy];
    if (p.raw_media && p.sandbox.network && mediaTiers.some((t) => t !== 'public')) {
      fail(
        ['plugins', i, 'sandbox', 'network'],
        `must be false when raw_media is true and the camera or mic tier is not public (tiers: ${mediaTiers.join(', ')})`,
        ['plugins', i, 'raw_media'],
      );
    }
  });
  // An MCP server's tools are `<id>.<tool>`, as a plugin's are: one id space for both.
  c.mcp.servers.forEach((m, i) => {
    if (seen.has(m.id))
      fail(['mcp', 'servers', i, 'id'], `is used by a plugin or another server (${JSON.stringify(m.id)})`);
    seen.add(m.id);
    if (m.command.length === 0) fail(['mcp', 'servers', i, 'command'], 'must name the program to run');
    if (m.restart.max_ms < m.restart.initial_ms)
      fail(['mcp', 'servers', i, 'restart', 'max_ms'], `must be >= initial_ms (${m.restart.initial_ms})`);
  });
  return out;
}
