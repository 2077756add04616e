import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Envelope } from '../../bus/envelope.js';
import { patternMatches } from '../../bus/topic-match.js';
import type { EventBus, Subscription } from '../../bus/types.js';
import type { Component, ComponentHealth } from '../../component.js';
import { isLoopbackHost } from '../../config/rules.js';
import { EdgeloomError, ErrorCode, isEdgeloomError, toError } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { Clock } from '../../util/clock.js';
import type { StatsCollector } from '../stats.js';
import { isAuthorised } from './auth.js';
import type { CameraView } from './camera-view.js';
import { defaultStaticDir, loadStaticAssets, PAGES, type StaticAsset } from './dashboard.js';
import { healthOf } from './health.js';
import { hostAllowed, servedHostNames } from './host-check.js';
import { type HttpServerStats, Metrics } from './metrics.js';
import type { MicLevels } from './mic-levels.js';
import { CAMERA_STREAM_ROUTE, cameraReply, jsonReply, micReply, type Route, routeOf } from './routes.js';
import { SseClient } from './sse.js';

export interface HttpServerOptions {
  readonly bus: EventBus;
  readonly stats: StatsCollector;
  /** Timers of the event streams (heartbeats, stalled-client timeouts): wall time. */
  readonly clock: Clock;
  readonly logger: Logger;
  /** Listen address. Default 127.0.0.1; a non-loopback address requires `token`. */
  readonly host?: string;
  /** TCP port; 0 picks a free one (see address()). Default 8080. */
  readonly port?: number;
  /** Bearer token for everything but /healthz and /static/; empty = none. */
  readonly token?: string;
  /** Where the pages and assets are. Default `<package root>/daemon/observe/http/static`. */
  readonly staticDir?: string;
  /** Event-stream clients at once; past it /api/events answers 503 (counted). Default 16. */
  readonly maxSseClients?: number;
  /** Events queued per event-stream client; drop-oldest past it. Default 256. */
  readonly sseQueueCapacity?: number;
  /** Heartbeat comment period on event streams, ms. Default 15000. */
  readonly sseHeartbeatMs?: number;
  /** Time to receive a whole request, ms (slowloris bound). Default 10000. */
  readonly requestTimeoutMs?: number;
  /** Idle keep-alive sockets are closed after this, ms. Default 5000. */
  readonly keepAliveTimeoutMs?: number;
  /** Requests served per keep-alive socket before it is closed. Default 100. */
  readonly maxRequestsPerSocket?: number;
  /** Open sockets at once; past it Node closes new ones on accept. Default 64. */
  readonly maxConnections?: number;
  /**
   * Open sockets per client address. Past it a new connection from that client is closed at
   * once (counted): one client holding half-finished requests cannot take the slots that
   * /healthz, the dashboard and the kiosk stream need. Default 16 (a browser opens up to 6 per
   * host; the kiosk and a dashboard on the same machine share one address).
   */
  readonly maxConnectionsPerClient?: number;
  /** Host names served besides IP literals, localhost and this machine's names (host-check.ts). */
  readonly allowedHosts?: readonly string[];
  /** The camera view's frames, served at /api/camera/<id>/frame.jpg; absent = 404 there. */
  readonly cameras?: CameraView;
  /** The microphones' levels, served at /api/mic/levels; absent = no microphones there. */
  readonly micLevels?: MicLevels;
  /** The effective configuration (secrets masked) and its sources, at /api/config. */
  readonly configView?: () => unknown;
  /** MCP clients at /mcp (streamable HTTP; mcp/mcp-service.ts), behind the token; absent = 404. */
  readonly mcp?: (req: IncomingMessage, res: ServerResponse) => void;
}

/** Patterns per event stream (one bus subscription each). */
const MAX_PATTERNS = 8;
/**
 * Topics whose last event a new event stream receives first, like a retained MQTT message: the
 * kiosk display must show the current emotion when it (re)loads, not "no face" until the next one.
 */
const CURRENT_STATE_TOPICS = ['action/display'] as const;

/**
 * The local HTTP endpoint (node:http, no framework): /healthz, /metrics, /api/stats,
 * /api/events (server-sent events from the bus), the dashboard at / and the kiosk display page
 * at /display. Binds loopback by default; anything else needs a token.
 */
export class HttpServer implements Component {
  readonly name = 'http';
  readonly metrics: Metrics;
  private server: Server | undefined;
  private assets = new Map<string, StaticAsset>();
  private readonly clients = new Set<SseClient>();
  private readonly requests = new Map<string, number>();
  private sseDroppedClosed = 0;
  private sseRejected = 0;
  private readonly host: string;
  private readonly token: string;
  /** The last event per CURRENT_STATE_TOPICS topic (one each: bounded by the list). */
  private readonly current = new Map<string, Envelope>();
  private currentSubs: Subscription[] = [];
  /** Open sockets per client address; an entry exists only while it is > 0 (bounded by maxConnections). */
  private readonly perClient = new Map<string, number>();
  private connectionsRefused = 0;
  private hostRefused = 0;
  private readonly served: ReadonlySet<string>;

  constructor(private readonly options: HttpServerOptions) {
    this.host = options.host ?? '127.0.0.1';
    this.token = options.token ?? '';
    if (!isLoopbackHost(this.host) && this.token === '') {
      const message = `a token is required to listen on ${this.host}`;
      throw new EdgeloomError(ErrorCode.E_HTTP_TOKEN_REQUIRED, message, { where: 'http.token' });
    }
    this.served = servedHostNames(options.allowedHosts ?? [], this.host);
    this.metrics = new Metrics({
      snapshot: () => options.stats.snapshot(),
      provides: (s) => options.stats.provides(s),
      http: () => this.httpStats(),
      sources: options.stats.metricsSources,
    });
  }

  async start(signal: AbortSignal): Promise<void> {
    this.assets = await loadStaticAssets(this.options.staticDir ?? defaultStaticDir());
    signal.throwIfAborted();
    this.currentSubs = CURRENT_STATE_TOPICS.map((topic) =>
      this.options.bus.subscribe(topic, (env) => void this.current.set(topic, env), {
        component: 'http.current-state',
        qos: 'realtime',
        queueCapacity: 1, // only the newest matters: drop-oldest
        overflow: { kind: 'drop-oldest' },
      }),
    );
    const requestTimeoutMs = this.options.requestTimeoutMs ?? 10_000;
    const server = createServer(
      {
        requestTimeout: requestTimeoutMs,
        // Headers and body both within the request timeout (slowloris). Node only looks for
        // expired requests every connectionsCheckingInterval (30 s by default), which let a
        // held-open request live 3x its timeout: check four times per timeout, at most every second.
        headersTimeout: requestTimeoutMs,
        connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(requestTimeoutMs / 4))),
        // An event stream is a request that completed (a GET without body): its long response
        // is not subject to the request timeout; MAX_SSE_CLIENTS and the per-client cap bound them.
      },
      (req, res) => this.handle(req, res),
    );
    server.keepAliveTimeout = this.options.keepAliveTimeoutMs ?? 5_000; // 5 s
    server.maxRequestsPerSocket = this.options.maxRequestsPerSocket ?? 100;
    server.maxConnections = this.options.maxConnections ?? 64;
    server.on('connection', (socket) => this.admit(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => {
        const message = `cannot listen on ${this.host}:${this.options.port ?? 8080}: ${err.message}`;
        reject(new EdgeloomError(ErrorCode.E_HTTP_LISTEN, message, { where: 'http.port', cause: err }));
      };
      server.once('error', onError);
      server.listen(this.options.port ?? 8080, this.host, () => {
        server.off('error', onError);
        resolve();
      });
    });
    server.on('error', (err) => this.options.logger.error({ err }, 'http server error'));
    this.options.logger.info({ url: this.url() }, 'http listening');
  }

  async stop(): Promise<void> {
    this.metrics.close();
    for (const c of [...this.clients]) c.close();
    for (const sub of this.currentSubs) await sub.unsubscribe().catch(() => undefined);
    this.currentSubs = [];
    const server = this.server;
    this.server = undefined;
    if (server === undefined) return;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  }

  health(): ComponentHealth {
    return this.server?.listening ? { status: 'ok' } : { status: 'failed', reasons: ['not listening'] };
  }

  /** The bound address (the real port when 0 was asked for). */
  address(): { host: string; port: number } {
    const a = this.server?.address() as AddressInfo | null | undefined;
    if (a == null)
      throw new EdgeloomError(ErrorCode.E_HTTP_STATE, 'server is not listening', { where: this.name });
    return { host: a.address, port: a.port };
  }

  url(): string {
    const { host, port } = this.address();
    return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  }

  httpStats(): HttpServerStats {
    let dropped = this.sseDroppedClosed;
    for (const c of this.clients) dropped += c.dropped;
    return {
      requests: this.requests,
      sseClients: this.clients.size,
      sseDropped: dropped,
      sseRejected: this.sseRejected,
      connectionsRefused: this.connectionsRefused,
      hostRefused: this.hostRefused,
    };
  }

  /**
   * The per-client share of the connection slots: past maxConnectionsPerClient the newest
   * connection of that client is closed before it is read (the policy: the client's older
   * connections keep their slots; other clients keep theirs).
   */
  private admit(socket: Socket): void {
    // An IPv4 client on a dual-stack socket shows as ::ffff:a.b.c.d: the same client either way.
    const client = (socket.remoteAddress ?? '').replace(/^::ffff:/, '');
    const open = this.perClient.get(client) ?? 0;
    if (open >= (this.options.maxConnectionsPerClient ?? 16)) {
      this.connectionsRefused++;
      socket.destroy();
      return;
    }
    this.perClient.set(client, open + 1);
    socket.once('close', () => {
      const left = (this.perClient.get(client) ?? 1) - 1;
      if (left <= 0) this.perClient.delete(client);
      else this.perClient.set(client, left);
    });
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    let route: Route = 'other';
    res.on('finish', () => this.countRequest(route, res.statusCode));
    try {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const path = url.pathname;
      route = routeOf(path);
      res.setHeader('X-Content-Type-Options', 'nosniff');
      res.setHeader('Referrer-Policy', 'no-referrer'); // the token may be in the page's query
      if (!hostAllowed(req.headers.host, this.served)) {
        // 421 Misdirected Request (RFC 9110 §15.5.20): not a name this server answers to.
        this.hostRefused++;
        this.send(res, 421, 'application/json', '{"error":"host not served"}');
        return;
      }
      if (req.method !== 'GET' && req.method !== 'HEAD' && route !== 'mcp') {
        this.send(res, 405, 'text/plain', 'method not allowed\n', { Allow: 'GET, HEAD' });
        return;
      }
      // /healthz stays open for probes; /static/ holds only the shipped page code, no data.
      if (
        route !== 'healthz' &&
        route !== 'static' &&
        !isAuthorised(this.token, req.headers, url.searchParams)
      ) {
        this.send(res, 401, 'application/json', '{"error":"unauthorised"}', {
          'WWW-Authenticate': 'Bearer realm="edgeloom"',
        });
        return;
      }
      switch (route) {
        case 'healthz': {
          const h = healthOf(this.options.stats.snapshot());
          this.sendJson(res, h.status === 'ok' ? 200 : 503, h.status === 'ok' ? { status: 'ok' } : h);
          return;
        }
        case 'metrics':
          this.metrics.render().then(
            (text) => this.send(res, 200, this.metrics.contentType, text),
            (err: unknown) => this.fail(res, err),
          );
          return;
        case 'stats': {
          const snapshot = this.options.stats.snapshot();
          this.sendJson(res, 200, {
            health: healthOf(snapshot),
            snapshot,
            http: this.httpStatsJson(),
          });
          return;
        }
        case 'events':
          this.openEvents(res, url.searchParams.getAll('pattern'));
          return;
        case 'camera-stream':
          if (this.options.cameras?.stream(CAMERA_STREAM_ROUTE.exec(path)![1]!, res) !== true)
            this.send(res, 503, 'application/json', '{"error":"no such camera, or too many streams"}');
          return;
        case 'camera':
        case 'mic':
        case 'config': {
          const r =
            route === 'camera'
              ? cameraReply(this.options.cameras, path, url.searchParams.get('seq'))
              : route === 'mic'
                ? micReply(this.options.micLevels)
                : jsonReply(this.options.configView?.() ?? { config: {}, sources: {} });
          this.send(res, r.code, r.type, r.body, r.headers);
          return;
        }
        case 'page':
          this.sendAsset(res, this.assets.get(PAGES[path]!));
          return;
        case 'mcp':
          if (this.options.mcp === undefined) this.send(res, 404, 'text/plain', 'not found\n');
          else this.options.mcp(req, res);
          return;
        case 'static':
          this.sendAsset(res, this.assets.get(path.slice('/static/'.length)));
          return;
        default:
          this.send(res, 404, 'text/plain', 'not found\n');
          return;
      }
    } catch (err) {
      this.fail(res, err);
    }
  }

  private openEvents(res: ServerResponse, asked: string[]): void {
    const patterns = asked.length === 0 ? ['#'] : [...new Set(asked)];
    if (patterns.length > MAX_PATTERNS) {
      this.send(res, 400, 'application/json', `{"error":"at most ${MAX_PATTERNS} patterns"}`);
      return;
    }
    if (this.clients.size >= (this.options.maxSseClients ?? 16)) {
      this.sseRejected++;
      this.send(res, 503, 'application/json', '{"error":"too many event-stream clients"}', {
        'Retry-After': '5',
      });
      return;
    }
    res.statusCode = 200;
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-store');
    res.setHeader('Connection', 'keep-alive');
    res.setHeader('X-Accel-Buffering', 'no');
    // The response is long-lived: Nagle would hold small events back by tens of ms.
    res.socket?.setNoDelay(true);
    let client: SseClient;
    try {
      // Its first write sends the headers above; an invalid pattern throws before that.
      const initial = [...this.current.values()].filter((env) =>
        patterns.some((p) => patternMatches(p, env.topic)),
      );
      client = new SseClient({
        bus: this.options.bus,
        patterns,
        initial,
        out: res,
        clock: this.options.clock,
        logger: this.options.logger,
        queueCapacity: this.options.sseQueueCapacity ?? 256,
        heartbeatMs: this.options.sseHeartbeatMs ?? 15_000,
        onClose: (c) => {
          if (this.clients.delete(c)) this.sseDroppedClosed += c.dropped;
        },
      });
    } catch (err) {
      const code = isEdgeloomError(err) ? err.code : ErrorCode.E_HTTP_EVENTS;
      res.removeHeader('Content-Type');
      this.sendJson(res, 400, { error: code, message: toError(err).message });
      return;
    }
    this.clients.add(client);
  }

  private sendAsset(res: ServerResponse, asset: StaticAsset | undefined): void {
    if (asset === undefined) {
      this.send(res, 404, 'text/plain', 'not found\n');
      return;
    }
    res.setHeader('Content-Security-Policy', "default-src 'self'; style-src 'self'; img-src 'self' data:");
    this.send(res, 200, asset.contentType, asset.body);
  }

  private sendJson(res: ServerResponse, code: number, body: unknown): void {
    this.send(res, code, 'application/json; charset=utf-8', JSON.stringify(body));
  }

  private send(
    res: ServerResponse,
    code: number,
    contentType: string,
    body: string | Buffer,
    headers: Record<string, string> = {},
  ): void {
    res.writeHead(code, {
      'Content-Type': contentType,
      'Content-Length': Buffer.byteLength(body),
      'Cache-Control': 'no-store',
      ...headers,
    });
    res.end(res.req.method === 'HEAD' ? undefined : body);
  }

  private fail(res: ServerResponse, err: unknown): void {
    this.options.logger.error({ err: toError(err) }, 'http request failed');
    if (res.headersSent) res.destroy();
    else this.send(res, 500, 'application/json', '{"error":"internal"}');
  }

  private countRequest(route: Route, code: number): void {
    const key = `${route} ${code}`; // bounded: 11 routes × a handful of codes
    this.requests.set(key, (this.requests.get(key) ?? 0) + 1);
  }

  private httpStatsJson(): Record<string, unknown> {
    const s = this.httpStats();
    return { ...s, requests: Object.fromEntries(s.requests) };
  }
}
