/**
 * One configured MCP tool server (`mcp.servers[]`; README, "MCP"): a program spoken to with the
 * official MCP SDK's Client over its stdin/stdout, started through the plugins' spawn plan
 * (bubblewrap without network and a read-only file system by default, prlimit limits), whose tools
 * join the tool registry as `<id>.<tool>`. They are ordinary, non-internal tools: the cloud LLM is
 * offered them only under `agents.cloud_tools` (allow-list, rates, audit), like every other tool.
 *
 * start() waits — bounded by `start_timeout_ms` — for `initialize` and `tools/list`, so an agent
 * or a replay finds the tools from its first event. A server that exits or does not answer is
 * restarted after an exponential backoff; its tools fail with E_MCP_UNAVAILABLE meanwhile. The
 * tool list is read at each connect (list_changed notifications are not followed).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import type { ToolRegistry } from '../agents/tools.js';
import type { Component, ComponentHealth } from '../component.js';
import type { McpServerConfig } from '../config/types.js';
import { EdgeloomError, ErrorCode, toError } from '../errors.js';
import type { Logger } from '../log.js';
import { LineReader } from '../plugins/line-reader.js';
import { spawnPlan } from '../plugins/sandbox.js';
import { packageVersion } from '../util/package-root.js';
import { printable } from '../util/printable.js';
import { toolResult } from './tool-result.js';

/** Tools taken from one server; past it the rest are ignored (counted): a server cannot grow the registry without end. */
export const MAX_TOOLS = 64;
/** Largest message read from the server, bytes (the SDK's read buffer bound). */
const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;
/** stderr lines logged per second at most (debug); the rest are dropped. */
const STDERR_LINES_PER_S = 20;
/** A connection that lasted this long resets the backoff. */
const STABLE_MS = 30_000;

export interface McpToolServerOptions {
  readonly config: McpServerConfig;
  readonly registry: ToolRegistry;
  readonly logger: Logger;
  /** Its state dir is `<stateRoot>/<id>`, the one place a sandboxed server may write. */
  readonly stateRoot: string;
  /** Working directory (the config file's directory). */
  readonly cwd: string;
}

export interface McpServerStats {
  readonly id: string;
  readonly running: boolean;
  /** Connected, and its tools listed. */
  readonly ready: boolean;
  readonly restarts: number;
  /** Registry names of the tools it offers now. */
  readonly tools: readonly string[];
  /** Tools it listed that could not be registered (a bad schema, a clashing name, past MAX_TOOLS). */
  readonly toolsRefused: number;
  readonly toolCalls: number;
  readonly toolOk: number;
  readonly toolFailures: number;
}

export class McpToolServer implements Component {
  readonly name: string;
  private readonly c: McpServerConfig;
  private readonly stateDir: string;
  private client: Client | undefined;
  private ready = false;
  private stopping = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private failuresInRow = 0;
  private connectedAt = 0;
  private restarts = 0;
  /** Registry name → the server's own tool name, for the tools ever registered. */
  private readonly registered = new Map<string, string>();
  /** Registry names the connected server offers now. */
  private offered = new Set<string>();
  private refused = 0;
  private readonly calls = { total: 0, ok: 0, failed: 0 };
  private stderrBudget = { second: 0, lines: 0 };

  constructor(private readonly o: McpToolServerOptions) {
    this.c = o.config;
    this.name = `mcp.${this.c.id}`;
    this.stateDir = join(o.stateRoot, this.c.id);
  }

  async start(signal: AbortSignal): Promise<void> {
    this.stopping = false;
    mkdirSync(this.stateDir, { recursive: true, mode: 0o700 });
    const ok = await this.connect(signal);
    if (!ok && !this.stopping) {
      this.o.logger.warn(
        { server: this.c.id, code: ErrorCode.E_MCP_SERVER_START, timeoutMs: this.c.start_timeout_ms },
        'mcp: tool server not ready in time; starting without its tools, retrying',
      );
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    const client = this.client;
    this.client = undefined;
    this.ready = false;
    // Ends stdin, then SIGTERM, then SIGKILL, 2 s apart (the SDK's StdioClientTransport.close).
    await client?.close().catch(() => undefined);
  }

  health(): ComponentHealth {
    if (this.ready) return { status: 'ok' };
    return { status: 'degraded', reasons: [`mcp server ${this.c.id} is not connected`] };
  }

  stats(): McpServerStats {
    return {
      id: this.c.id,
      running: this.client !== undefined,
      ready: this.ready,
      restarts: this.restarts,
      tools: [...this.offered],
      toolsRefused: this.refused,
      toolCalls: this.calls.total,
      toolOk: this.calls.ok,
      toolFailures: this.calls.failed,
    };
  }

  /** One connection: spawn, initialize, list and register the tools. False when it failed. */
  private async connect(signal?: AbortSignal): Promise<boolean> {
    const plan = spawnPlan(this.c, { stateDir: this.stateDir, cwd: this.o.cwd });
    const transport = new StdioClientTransport({
      command: plan.file,
      args: [...plan.args],
      cwd: this.o.cwd,
      env: { ...this.c.env, EDGELOOM_MCP_ID: this.c.id, EDGELOOM_MCP_STATE: this.stateDir },
      stderr: 'pipe',
      maxBufferSize: MAX_MESSAGE_BYTES,
    });
    const errLines = new LineReader(4096, (line) => this.onStderr(line));
    transport.stderr?.on('data', (chunk: Buffer) => errLines.push(chunk));
    const client = new Client({ name: 'edgeloom', version: packageVersion() });
    this.client = client;
    const timeout = AbortSignal.timeout(this.c.start_timeout_ms);
    const limit = signal === undefined ? timeout : AbortSignal.any([signal, timeout]);
    try {
      const options = { signal: limit, timeout: this.c.start_timeout_ms };
      await client.connect(transport, options);
      const tools = [];
      let cursor: string | undefined;
      do {
        const page = await client.listTools(cursor === undefined ? {} : { cursor }, options);
        tools.push(...page.tools);
        cursor = page.nextCursor;
      } while (cursor !== undefined && tools.length < MAX_TOOLS);
      if (this.client !== client) return false; // stopped meanwhile
      this.declare(tools);
    } catch (err) {
      this.o.logger.warn(
        { server: this.c.id, err: toError(err).message },
        'mcp: tool server did not connect',
      );
      if (this.client === client) this.client = undefined;
      await client.close().catch(() => undefined);
      this.scheduleRestart();
      return false;
    }
    this.ready = true;
    this.connectedAt = performance.now();
    client.onclose = () => {
      if (this.client !== client) return; // stop() or a newer connection
      this.client = undefined;
      this.ready = false;
      this.offered = new Set();
      this.o.logger.warn(
        { server: this.c.id, code: ErrorCode.E_MCP_SERVER_EXITED },
        'mcp: tool server closed; restarting after backoff',
      );
      if (performance.now() - this.connectedAt > STABLE_MS) this.failuresInRow = 0;
      this.scheduleRestart();
    };
    this.o.logger.info(
      { server: this.c.id, version: client.getServerVersion()?.version, tools: [...this.offered] },
      'mcp: tool server connected',
    );
    return true;
  }

  private scheduleRestart(): void {
    if (this.stopping || this.restartTimer !== undefined) return;
    const delayMs = Math.min(this.c.restart.initial_ms * 2 ** this.failuresInRow, this.c.restart.max_ms);
    this.failuresInRow = Math.min(this.failuresInRow + 1, 30);
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.stopping) return;
      this.restarts++;
      void this.connect();
    }, delayMs);
  }

  /** A tools/list answer: new tools join the registry; the set callable now is replaced. */
  private declare(
    tools: readonly { name: string; description?: string | undefined; inputSchema: object }[],
  ): void {
    this.offered = new Set();
    for (const t of tools.slice(0, MAX_TOOLS)) {
      const name = `${this.c.id}.${registryName(t.name)}`;
      const known = this.registered.get(name);
      if (known !== undefined && known !== t.name) {
        this.refused++; // two of its names map to one registry name
        continue;
      }
      if (known === undefined) {
        try {
          this.o.registry.register({
            name,
            description: printable(t.description ?? '', 1000),
            parameters: t.inputSchema as Record<string, unknown>,
            execute: (args, ctx) => this.call(name, args, ctx.signal),
          });
          this.registered.set(name, t.name);
        } catch (err) {
          this.refused++;
          this.o.logger.warn(
            { server: this.c.id, tool: name, err: toError(err).message },
            'mcp: tool refused',
          );
          continue;
        }
      }
      this.offered.add(name);
    }
    this.refused += Math.max(0, tools.length - MAX_TOOLS);
  }

  private async call(name: string, args: unknown, signal: AbortSignal): Promise<unknown> {
    this.calls.total++;
    try {
      const client = this.client;
      const tool = this.registered.get(name);
      if (client === undefined || !this.ready || tool === undefined || !this.offered.has(name)) {
        throw new EdgeloomError(
          ErrorCode.E_MCP_UNAVAILABLE,
          `mcp server ${this.c.id} does not offer it now`,
          {
            where: name,
          },
        );
      }
      const r = await client.callTool({ name: tool, arguments: args as Record<string, unknown> }, undefined, {
        signal,
      });
      const out = toolResult(r);
      if (r.isError === true)
        throw new EdgeloomError(ErrorCode.E_MCP_TOOL_FAILED, out.text || 'the tool failed', { where: name });
      this.calls.ok++;
      return out.value;
    } catch (err) {
      this.calls.failed++;
      throw err;
    }
  }

  private onStderr(line: string): void {
    const second = Math.floor(performance.now() / 1000);
    if (second !== this.stderrBudget.second) this.stderrBudget = { second, lines: 0 };
    if (++this.stderrBudget.lines > STDERR_LINES_PER_S) return;
    this.o.logger.debug({ server: this.c.id, stderr: printable(line, 500) }, 'mcp: server stderr');
  }
}

/** An MCP tool name as one registry name segment: `getWeather` / `get-weather` → `get_weather`. */
export function registryName(tool: string): string {
  const snake = tool
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .toLowerCase()
    .replace(/[^a-z0-9_]+/g, '_')
    .slice(0, 64);
  return /^[a-z]/.test(snake) ? snake : `t_${snake}`;
}
