/**
 * Attacks on the local HTTP endpoint, with real sockets:
 *
 * - slowloris: 64 requests whose headers never end, held open from one client (127.0.0.2; Linux
 *   routes all of 127/8 to the loopback interface, so each address is a distinct client as on a
 *   LAN). They used to fill every connection slot, so /healthz, the dashboard and the kiosk's
 *   event stream were unreachable until Node's 30 s timeout sweep;
 * - a half request must be closed within the request timeout, not at the next 30 s sweep;
 * - DNS rebinding: a page on evil.example whose name now resolves to 127.0.0.1 is same-origin
 *   with the daemon for the browser, which sends `Host: evil.example`; the daemon must refuse it.
 */

import { request } from 'node:http';
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { Bus } from '../../daemon/bus/bus.js';
import { silentLogger } from '../../daemon/log.js';
import { HttpServer, type HttpServerOptions } from '../../daemon/observe/http/server.js';
import { StatsCollector } from '../../daemon/observe/stats.js';
import { SystemClock } from '../../daemon/util/clock.js';
import { waitFor } from '../helpers/mqtt.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function serve(options: Partial<HttpServerOptions> = {}) {
  const clock = new SystemClock();
  const logger = silentLogger();
  const bus = new Bus({ clock, logger });
  const stats = new StatsCollector({ clock, logger, bus, providers: { bus: () => bus.stats() } });
  const server = new HttpServer({ bus, stats, clock, logger, port: 0, ...options });
  await stats.start();
  await server.start(new AbortController().signal);
  cleanups.push(async () => {
    await server.stop();
    await stats.stop();
    await bus.close();
  });
  return { server, port: server.address().port };
}

/** A connection from `localAddress` that sends the start of a request and never finishes it. */
function halfRequest(port: number, localAddress: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, localAddress });
    s.on('error', () => undefined); // a reset by the server is what some tests wait for
    s.resume(); // read (and discard) whatever the server answers, so its close is seen
    s.once('connect', () => {
      s.write(`GET /api/stats HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nX-Slow: `);
      resolve(s);
    });
    s.once('error', reject);
    cleanups.push(() => void s.destroy());
  });
}

/** One GET over a fresh connection; `host` overrides the Host header. */
function get(port: number, path: string, host?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, headers: host === undefined ? {} : { host }, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          body += c;
          // An event stream never ends: its first comment line is the answer.
          if (path.startsWith('/api/events') && body.includes(': connected')) {
            req.destroy();
            resolve({ status: res.statusCode ?? 0, body });
          }
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('HTTP under attack', () => {
  it('64 held-open half requests from one client leave /healthz, the dashboard and the stream reachable', async () => {
    // The default share: 16 of the 64 connections per client address.
    const { server, port } = await serve();
    const attack = await Promise.all(Array.from({ length: 64 }, () => halfRequest(port, '127.0.0.2')));

    expect((await get(port, '/healthz')).status).toBe(200);
    expect((await get(port, '/')).status).toBe(200);
    const kiosk = await get(port, '/api/events?pattern=action/display');
    expect(kiosk.status).toBe(200);
    expect(kiosk.body).toContain(': connected');
    // The client kept 16 connections (still held, within the request timeout); the server
    // closed the other 48 as they came.
    await waitFor(() => attack.filter((s) => s.destroyed).length === 48, 'the excess connections closed');
    expect(attack.filter((s) => !s.destroyed)).toHaveLength(16);
    expect(server.httpStats().connectionsRefused).toBe(48);
  });

  it('closes a half request within the request timeout, while an event stream lives on', async () => {
    const { port } = await serve({ requestTimeoutMs: 500, sseHeartbeatMs: 100 });
    // The stream is the clock: its heartbeats count server time without a wall-clock bound here.
    let heartbeats = 0;
    const stream = request(
      { host: '127.0.0.1', port, path: '/api/events?pattern=none', agent: false },
      (res) => {
        res.setEncoding('utf8');
        res.on('data', (c: string) => {
          heartbeats += c.split(': hb\n').length - 1;
        });
      },
    );
    stream.on('error', () => undefined);
    stream.end();
    cleanups.push(() => void stream.destroy());
    await waitFor(() => heartbeats >= 1, 'the first heartbeat');

    const slow = await halfRequest(port, '127.0.0.3');
    const closedAt = new Promise<number>((resolve) => slow.once('close', () => resolve(heartbeats)));
    // Node checks request timeouts every connectionsCheckingInterval (30 s by default): 300
    // heartbeats. Closed within the 500 ms timeout plus a prompt check, it is a handful.
    expect(await closedAt).toBeLessThan(40);
    // The stream is a request that completed: no request timeout applies to its response.
    const seen = heartbeats;
    await waitFor(() => heartbeats >= seen + 10, 'ten more heartbeats, well past the request timeout');
    expect(stream.destroyed).toBe(false);
  }, 120_000);

  it('refuses a Host it does not answer to (DNS rebinding), on every route', async () => {
    const { port } = await serve({ allowedHosts: ['kiosk.lan'] });
    for (const path of ['/api/events?pattern=%23', '/api/stats', '/', '/metrics']) {
      expect((await get(port, path, `evil.example:${port}`)).status).toBe(421);
      expect((await get(port, path, `localhost.evil.example:${port}`)).status).toBe(421);
    }
    for (const host of [
      `localhost:${port}`,
      `127.0.0.1:${port}`,
      `[::1]:${port}`,
      `kiosk.lan:${port}`,
      'KIOSK.LAN',
    ]) {
      expect((await get(port, '/api/stats', host)).status).toBe(200);
    }
    // An address literal cannot be rebound: a LAN client using the device's IP is answered.
    expect((await get(port, '/api/stats', `192.168.1.20:${port}`)).status).toBe(200);
    expect((await get(port, '/api/events?pattern=%23', `localhost:${port}`)).body).toContain(': connected');
  });
});
