/**
 * Finding 5 through the real parts: the compiled daemon with its embedded broker bound to every
 * interface (`mqtt.embedded.host: 0.0.0.0`), attacked with `mosquitto_sub` and mqtt.js.
 *
 * - An anonymous client, or one with a wrong password, is refused; the generated password file is
 *   mode 0600 and lets the owner's client in. Bound beyond loopback, the broker is a LAN
 *   destination (published on `<base>/privacy`).
 * - A client asking for the daemon's client id is refused (CONNACK 2) however often it tries, and
 *   the daemon stays connected: one `online`, never `offline`.
 * - No client but the daemon may publish the daemon's topics (a forged retained `offline`),
 *   while commands still work.
 * - `allow_anonymous` with a non-loopback host is a config error naming the key.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliChild } from '../helpers/cli-process.js';
import { runCli } from '../helpers/cli-process.js';
import { BASE, DEMO, DEVICE_ID, startDaemon, writeDaemonConfig } from '../helpers/daemon-mqtt.js';
import { freePort } from '../helpers/mosquitto.js';
import { Subscriber, waitFor } from '../helpers/mqtt.js';
import { roundTrip } from '../helpers/privacy-daemon.js';
import { toolsAvailable } from '../helpers/tools.js';

/** Run `mosquitto_sub` for one message at most 3 s; resolves with its exit code and stderr. */
function mosquittoSub(
  port: number,
  args: readonly string[],
): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(
      'mosquitto_sub',
      ['-h', '127.0.0.1', '-p', String(port), '-C', '1', '-W', '3', ...args],
      {
        stdio: ['ignore', 'ignore', 'pipe'],
      },
    );
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      stderr += s;
    });
    child.once('close', (code) => resolve({ code, stderr }));
  });
}

/** One mqtt.js connection attempt; resolves with the CONNACK refusal code, or 0 when accepted. */
function tryConnect(url: string, options: mqtt.IClientOptions): Promise<number> {
  return new Promise((resolve) => {
    const c = mqtt.connect(url, { protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000, ...options });
    c.once('connect', () => {
      c.end(true);
      resolve(0);
    });
    c.once('error', (err: Error & { code?: number }) => {
      c.end(true);
      resolve(typeof err.code === 'number' ? err.code : -1);
    });
  });
}

describe.runIf(toolsAvailable('mosquitto_sub'))('the embedded broker requires authentication', () => {
  let dir: string;
  let port: number;
  let url: string;
  let daemon: CliChild;
  let password: string;
  let sub: Subscriber;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'edgeloom-attack-broker-'));
    port = await freePort();
    url = `mqtt://127.0.0.1:${port}`;
    const config = writeDaemonConfig({
      dir,
      brokerUrl: '',
      fixture: DEMO,
      speed: 0,
      extra: { mqtt: { url: '', embedded: { host: '0.0.0.0', port }, publish_allow: ['home/#'] } },
    });
    daemon = startDaemon(config);
    await daemon.waitForLog('edgeloom running', 'stdout', 60_000);
  });

  afterAll(async () => {
    daemon?.kill();
    await sub?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses anonymous clients and wrong passwords; the generated password (0600) lets the owner in', async () => {
    const anonymous = await mosquittoSub(port, ['-t', '#']);
    expect(anonymous.code).not.toBe(0);
    expect(anonymous.stderr).toContain('not authori');
    const wrong = await mosquittoSub(port, ['-u', 'edgeloom', '-P', 'guess', '-t', '#']);
    expect(wrong.code).not.toBe(0);
    const file = join(dir, 'state', 'mqtt-embedded-password');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    password = readFileSync(file, 'utf8').trim();
    sub = await Subscriber.connect(url, [`${BASE}/#`], 50, { username: 'edgeloom', password });
    await waitFor(() => sub.on(`${BASE}/privacy`).length > 0, 'retained privacy state');
    expect(sub.on(`${BASE}/privacy`)[0]).toMatchObject({ retain: true, payload: { destination: 'lan' } });
    expect(sub.on(`${BASE}/status`)[0]).toMatchObject({ payload: { state: 'online' } });
  });

  it("refuses clients asking for the daemon's client id; the daemon is never knocked off", async () => {
    const clientId = `edgeloom-${DEVICE_ID}`;
    const codes: number[] = [];
    for (let i = 0; i < 6; i++)
      codes.push(await tryConnect(url, { clientId, username: 'edgeloom', password }));
    codes.push(await tryConnect(url, { clientId }));
    expect(codes).toEqual([2, 2, 2, 2, 2, 2, 2]);
    // A round trip through the daemon after the attempts: it is still connected and serving.
    const r = await roundTrip(sub, BASE, 'still-here', () =>
      sub.client
        .publishAsync(`${BASE}/cmd/privacy`, '{"tier":"local_only","scope":"cam0","id":"still-here"}')
        .then(() => undefined),
    );
    expect(r).toMatchObject({ ok: true });
    const states = sub.on(`${BASE}/status`).map((m) => (m.payload as { state: string }).state);
    expect(states).toEqual(['online']);
    expect(daemon.stdout).not.toContain('"msg":"mqtt: disconnected"');
  });

  it("no client but the daemon publishes the daemon's topics", async () => {
    const forged = await tryConnect(url, { username: 'edgeloom', password, clientId: 'intruder' });
    expect(forged).toBe(0);
    const intruder = mqtt.connect(url, {
      protocolVersion: 4,
      username: 'edgeloom',
      password,
      clientId: 'intruder',
      reconnectPeriod: 0,
    });
    intruder.on('error', () => undefined);
    await new Promise<void>((resolve) => intruder.once('connect', () => resolve()));
    const closed = new Promise<void>((resolve) => intruder.once('close', () => resolve()));
    intruder.publish(`${BASE}/status`, '{"state":"offline"}', { qos: 1, retain: true });
    await closed; // the broker drops a client whose publish it refuses
    intruder.end(true);
    const late = await Subscriber.connect(url, [`${BASE}/status`], 50, { username: 'edgeloom', password });
    await waitFor(() => late.messages.length > 0, 'retained status');
    expect(late.messages[0]).toMatchObject({ retain: true, payload: { state: 'online' } });
    await late.close();
    expect(sub.on(`${BASE}/status`).map((m) => (m.payload as { state: string }).state)).toEqual(['online']);
  });

  it('allow_anonymous with a non-loopback host is refused at start, naming the key', async () => {
    const path = join(dir, 'open.yaml');
    writeFileSync(
      path,
      `mqtt:\n  embedded:\n    host: 0.0.0.0\n    port: ${port}\n    allow_anonymous: true\nhttp:\n  enabled: false\n`,
    );
    const r = await runCli(['run', '--config', path], { timeoutMs: 30_000 });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('mqtt.embedded.allow_anonymous');
    expect(r.stderr).toContain('not loopback');
  });
});
