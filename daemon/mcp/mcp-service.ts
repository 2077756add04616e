/**
 * Where MCP clients reach edgeloom's MCP server (mcp-server.ts; README, "MCP"):
 *
 * - `edgeloom mcp`, the stdio server an MCP host starts, relays its stdin/stdout to the running
 *   daemon's control socket (`{"op":"mcp"}`, then MCP messages one per line: socket-transport.ts).
 *   The socket is mode 0600, so a session there is the device owner's, like `edgeloom privacy`.
 * - POST /mcp on the HTTP server (streamable HTTP, stateless: one server per request, JSON
 *   answers, no session kept), behind `http.token` and the server's Host check.
 *
 * Bounded: at most MAX_SESSIONS socket sessions and HTTP requests at once (a further one is refused
 * with E_MCP_REFUSED, counted); request bodies of at most MAX_MESSAGE_BYTES.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Server } from '@modelcontextprotocol/sdk/server/index.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import type { ToolRegistry } from '../agents/tools.js';
import type { PrivacyTier } from '../bus/topics.js';
import type { Component } from '../component.js';
import { ErrorCode, toError } from '../errors.js';
import type { Logger } from '../log.js';
import { AuditBudget } from '../router/audit-budget.js';
import type { AuditRecordInput } from '../router/audit-log.js';
import { createMcpServer, type McpCounts, type McpServerDeps } from './mcp-server.js';
import type { McpState } from './mcp-state.js';
import { MAX_MESSAGE_BYTES, SocketTransport } from './socket-transport.js';

/** Client sessions (control socket) and HTTP requests served at once; more are refused. */
export const MAX_SESSIONS = 4;
/** MCP tool calls audited one by one per minute; past it counted in one summary record. */
const AUDIT_PER_MINUTE = 60;

export interface McpServiceOptions {
  /** `mcp.serve`: false refuses every client. */
  readonly enabled: boolean;
  readonly registry: ToolRegistry;
  readonly state: McpState;
  readonly tierFor: (topic: string) => PrivacyTier;
  readonly defaultTier: () => PrivacyTier;
  /** AuditLog.append; absent: calls are not audited. */
  readonly audit?: (record: AuditRecordInput) => Promise<unknown>;
  readonly logger: Logger;
}

export interface McpServiceStats extends McpCounts {
  readonly sessions: number;
  readonly sessionsTotal: number;
  readonly refused: number;
}

export class McpService implements Component {
  readonly name = 'mcp.serve';
  private readonly counts: McpCounts = { toolCalls: 0, toolFailures: 0, resourceReads: 0, withheld: 0 };
  private readonly deps: McpServerDeps;
  private readonly open = new Set<Server>();
  private sessionsTotal = 0;
  private refused = 0;
  private stopping = false;

  constructor(private readonly o: McpServiceOptions) {
    const audit = o.audit;
    this.deps = {
      registry: o.registry,
      state: o.state,
      tierFor: o.tierFor,
      defaultTier: o.defaultTier,
      counts: this.counts,
      ...(audit === undefined
        ? {}
        : {
            audit: new AuditBudget({
              append: audit,
              perMinute: AUDIT_PER_MINUTE,
              now: () => Date.now(),
              summary: (byOutcome, calls) => ({
                kind: 'command',
                outcome: 'summary',
                channel: 'mcp',
                calls,
                by_outcome: byOutcome,
              }),
              onError: (err) => o.logger.warn({ err: toError(err).message }, 'mcp: audit failed'),
            }),
          }),
    };
  }

  async start(): Promise<void> {
    this.stopping = false;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.deps.audit?.flush();
    await Promise.all([...this.open].map((s) => s.close().catch(() => undefined)));
    this.open.clear();
  }

  stats(): McpServiceStats {
    return {
      ...this.counts,
      sessions: this.open.size,
      sessionsTotal: this.sessionsTotal,
      refused: this.refused,
    };
  }

  /**
   * A control-socket connection that asked for `mcp`: answers one control line (ready, or why
   * not), then speaks MCP on it until either side closes. `head`: bytes already read after the request.
   */
  openSocket(socket: Socket, head: Buffer): void {
    const why = this.refusal();
    if (why !== undefined) {
      socket.end(
        `${JSON.stringify({ ok: false, error: { code: ErrorCode.E_MCP_REFUSED, message: why } })}\n`,
      );
      return;
    }
    socket.setTimeout(0); // a session idles as long as its MCP host keeps it
    socket.write(`${JSON.stringify({ ok: true, result: { mcp: 'ready' } })}\n`);
    const transport = new SocketTransport(socket, head);
    transport.onerror = (err) => this.o.logger.warn({ err: err.message }, 'mcp: bad message from a client');
    void this.serve(transport, () => socket.destroy());
  }

  /** /mcp on the HTTP server, already authorised (token, Host) by it. */
  handleHttp(req: IncomingMessage, res: ServerResponse): void {
    const fail = (code: number, message: string, headers: Record<string, string> = {}): void => {
      res.writeHead(code, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', ...headers });
      res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message }, id: null }));
    };
    // Stateless: no session to open a stream on or to delete.
    if (req.method !== 'POST') {
      fail(405, 'POST only', { Allow: 'POST' });
      return;
    }
    const why = this.refusal();
    if (why !== undefined) {
      fail(503, why, { 'Retry-After': '5' });
      return;
    }
    void readBody(req).then(
      (text) => {
        let parsed: unknown;
        try {
          if (text === undefined) throw new RangeError(`body over ${MAX_MESSAGE_BYTES} bytes`);
          parsed = JSON.parse(text);
        } catch (err) {
          fail(
            err instanceof RangeError ? 413 : 400,
            err instanceof RangeError ? err.message : 'body is not JSON',
          );
          return;
        }
        // The SDK's stateless mode: JSON answers, no session id.
        const transport = new StreamableHTTPServerTransport({ enableJsonResponse: true });
        void this.serve(
          transport,
          () => (res.headersSent ? res.destroy() : fail(500, 'internal')),
          (server) =>
            transport.handleRequest(req, res, parsed).finally(() => server.close().catch(() => undefined)),
        );
      },
      () => res.destroy(),
    );
  }

  private refusal(): string | undefined {
    if (!this.o.enabled || this.stopping) return 'this daemon does not serve MCP clients (mcp.serve)';
    if (this.open.size >= MAX_SESSIONS) {
      this.refused++;
      return `${MAX_SESSIONS} MCP sessions are open already`;
    }
    return undefined;
  }

  private async serve(
    transport: SocketTransport | StreamableHTTPServerTransport,
    onFail: () => void,
    then?: (server: Server) => Promise<void>,
  ): Promise<void> {
    const server = createMcpServer(this.deps);
    this.open.add(server);
    this.sessionsTotal++;
    server.onclose = () => void this.open.delete(server);
    try {
      await server.connect(transport);
      await then?.(server);
    } catch (err) {
      this.open.delete(server);
      this.o.logger.warn({ err: toError(err).message }, 'mcp: session failed');
      onFail();
    }
  }
}

/** The request body as text, or undefined past MAX_MESSAGE_BYTES. */
function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_MESSAGE_BYTES) {
        req.removeAllListeners('data');
        req.resume();
        resolve(undefined);
        return;
      }
      parts.push(chunk);
    });
    req.once('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.once('error', reject);
  });
}
