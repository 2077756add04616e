import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { Bus } from '../../daemon/bus/bus.js';
import { isEdgeloomError } from '../../daemon/errors.js';
import { silentLogger } from '../../daemon/log.js';
import { HttpServer, type HttpServerOptions } from '../../daemon/observe/http/server.js';
import { StatsCollector } from '../../daemon/observe/stats.js';
import type { StatsProviders } from '../../daemon/observe/stats-snapshot.js';
import { SystemClock } from '../../daemon/util/clock.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function serve(providers: StatsProviders = {}, options: Partial<HttpServerOptions> = {}) {
  const clock = new SystemClock();
  const logger = silentLogger();
  const bus = new Bus({ clock, logger });
  const stats = new StatsCollector({
    clock,
    logger,
    bus,
    providers: { bus: () => bus.stats(), ...providers },
  });
  const server = new HttpServer({ bus, stats, clock, logger, port: 0, ...options });
  await stats.start();
  await server.start(new AbortController().signal);
  cleanups.push(async () => {
    await server.stop();
    await stats.stop();
    await bus.close();
  });
  return { bus, server, base: server.url() };
}

async function get(url: string, headers: Record<string, string> = {}) {
  const r = await fetch(url, { headers });
  return { status: r.status, type: r.headers.get('content-type') ?? '', body: await r.text() };
}

/** Open an event stream and collect `data:` events until `count` arrived (or the timeout). */
function stream(
  url: string,
  count: number,
  onOpen?: () => void,
): Promise<{ status: number; events: unknown[] }> {
  return new Promise((resolve, reject) => {
    const events: unknown[] = [];
    const req = request(url, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        resolve({ status: res.statusCode ?? 0, events });
        return;
      }
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buf += chunk;
        if (buf.includes(': connected')) onOpen?.();
        let i = buf.indexOf('\n\n');
        while (i >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const data = block.split('\n').find((l) => l.startsWith('data: '));
          if (data !== undefined && !block.includes('event: ')) events.push(JSON.parse(data.slice(6)));
          i = buf.indexOf('\n\n');
        }
        if (events.length >= count) {
          req.destroy();
          resolve({ status: 200, events });
        }
      });
      // The server ended the stream (stop()): settle with what arrived.
      res.on('close', () => resolve({ status: 200, events }));
    });
    req.on('error', (err) => (events.length >= count ? undefined : reject(err)));
    req.setTimeout(5_000, () => req.destroy(new Error(`stream timed out with ${events.length} events`)));
    req.end();
  });
}

describe('HttpServer', () => {
  it('answers /healthz ok, then 503 with the reasons when a provider reports a problem', async () => {
    let connected = true;
    const { base } = await serve({
      broker: () => ({ connected, reason: 'ECONNREFUSED 127.0.0.1:1883' }),
      health: () => ({ 'sensor.mic.main': { status: 'ok' } }),
    });
    let r = await get(`${base}/healthz`);
    expect(r.status).toBe(200);
    expect(JSON.parse(r.body)).toEqual({ status: 'ok' });
    connected = false;
    r = await get(`${base}/healthz`);
    expect(r.status).toBe(503);
    expect(JSON.parse(r.body)).toEqual({
      status: 'degraded',
      reasons: ['mqtt broker unreachable: ECONNREFUSED 127.0.0.1:1883'],
    });
  });

  it('serves Prometheus text, the JSON snapshot, the pages and 404/405', async () => {
    const { base, bus } = await serve({ outbox: () => ({ depth: 4 }) });
    bus.publish('action/display', { emotion: 'sad', emoji: '😢', confidence: 0.7 });
    await bus.drain(10_000); // delivered, so the topic counter has moved
    const m = await get(`${base}/metrics`);
    expect(m.status).toBe(200);
    expect(m.type).toContain('text/plain');
    expect(m.body).toContain('edgeloom_bus_topic_events_total{topic="action/display"} 1');
    expect(m.body).toContain('edgeloom_mqtt_outbox_depth{outbox="mqtt"} 4');
    expect(m.body).toContain('edgeloom_sse_clients 0');
    const s = JSON.parse((await get(`${base}/api/stats`)).body);
    expect(s.health).toEqual({ status: 'ok', reasons: [] });
    expect(s.snapshot.outbox).toEqual({ depth: 4 });
    expect(s.snapshot.process.rssBytes).toBeGreaterThan(0);
    const page = await get(`${base}/display`);
    expect(page.status).toBe(200);
    expect(page.type).toContain('text/html');
    expect(page.body).toContain('aria-live');
    expect((await get(`${base}/static/display.js`)).type).toContain('javascript');
    expect((await get(`${base}/static/../package.json`)).status).toBe(404);
    expect((await get(`${base}/nope`)).status).toBe(404);
    expect((await fetch(`${base}/metrics`, { method: 'POST' })).status).toBe(405);
  });

  it('requires the token everywhere but /healthz and /static/ when one is configured', async () => {
    const { base } = await serve({}, { token: 'tok-123' });
    expect((await get(`${base}/metrics`)).status).toBe(401);
    expect((await get(`${base}/api/stats`)).status).toBe(401);
    expect((await get(`${base}/`)).status).toBe(401);
    expect((await get(`${base}/api/events`)).status).toBe(401);
    expect((await get(`${base}/metrics`, { authorization: 'Bearer wrong' })).status).toBe(401);
    expect((await get(`${base}/metrics`, { authorization: 'Bearer tok-123' })).status).toBe(200);
    expect((await get(`${base}/?token=tok-123`)).status).toBe(200);
    expect((await get(`${base}/healthz`)).status).toBe(200);
    expect((await get(`${base}/static/common.js`)).status).toBe(200);
  });

  it('refuses to listen beyond loopback without a token', () => {
    const clock = new SystemClock();
    const logger = silentLogger();
    const bus = new Bus({ clock, logger });
    const stats = new StatsCollector({ clock, logger, providers: {} });
    try {
      new HttpServer({ bus, stats, clock, logger, host: '0.0.0.0', port: 0 });
      expect.unreachable();
    } catch (err) {
      expect(isEdgeloomError(err, 'E_HTTP_TOKEN_REQUIRED')).toBe(true);
    }
    expect(
      () => new HttpServer({ bus, stats, clock, logger, host: '0.0.0.0', port: 0, token: 't' }),
    ).not.toThrow();
  });

  it('streams bus events filtered by pattern, refuses bad patterns and clients past the limit', async () => {
    const { base, bus, server } = await serve({}, { maxSseClients: 2 });
    let opened!: () => void;
    const open = new Promise<void>((r) => {
      opened = r;
    });
    const got = stream(`${base}/api/events?pattern=action/display`, 2, () => opened());
    await open;
    bus.publish('system/error', {
      severity: 'warning',
      component: 'x',
      code: 'E_MEMORY_PRESSURE',
      message: 'not for this client',
    });
    bus.publish('action/display', { emotion: 'happy', emoji: '😀', confidence: 0.9 });
    bus.publish('action/display', { emotion: 'no_face', emoji: '', confidence: 0 });
    const r = await got;
    expect(r.events.map((e) => (e as { topic: string }).topic)).toEqual(['action/display', 'action/display']);
    expect((r.events[1] as { payload: unknown }).payload).toEqual({
      emotion: 'no_face',
      emoji: '',
      confidence: 0,
    });

    const bad = await get(`${base}/api/events?pattern=a/%23/b`);
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body).error).toBe('E_BUS_INVALID_PATTERN');

    // Fill the two slots, then a third is turned away and counted.
    const held: Promise<unknown>[] = [];
    for (let i = 0; i < 2; i++) {
      let ready!: () => void;
      const p = new Promise<void>((res) => {
        ready = res;
      });
      held.push(stream(`${base}/api/events?pattern=never/seen`, 1, () => ready()).catch(() => undefined));
      await p;
    }
    expect(server.httpStats().sseClients).toBe(2);
    expect((await get(`${base}/api/events`)).status).toBe(503);
    expect(server.httpStats().sseRejected).toBe(1);
    await server.stop(); // ends the held streams
    await Promise.all(held);
  });
});
