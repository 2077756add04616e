/**
 * The local control socket (protocol.ts): how `edgeloom privacy`, `edgeloom forget` and
 * `edgeloom audit` reach a running daemon, which holds the store's lock. Bounded: at most
 * MAX_CONNECTIONS at once (more are closed at once), one request per connection of at most
 * MAX_REQUEST_BYTES, answered or dropped within REQUEST_TIMEOUT_MS.
 */
import { chmod, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { checkResponder, requestCommand } from '../actions/command-rpc.js';
import { COMMANDS, type Command } from '../actions/command-table.js';
import { type CommandOrigin, VOICE_LISTEN_MAX_S } from '../bus/rpc.js';
import type { EventBus } from '../bus/types.js';
import type { Component } from '../component.js';
import { EdgeloomError, ErrorCode, isEdgeloomError, toError } from '../errors.js';
import type { Logger } from '../log.js';
import type { ForgetService } from '../privacy/forget.js';
import type { PrivacyControl } from '../privacy/privacy-control.js';
import type { AuditLog } from '../router/audit-log.js';
import { type ControlAnswer, type ControlRequest, MAX_REQUEST_BYTES } from './protocol.js';

const MAX_CONNECTIONS = 8;
const REQUEST_TIMEOUT_MS = 30_000;
/** Linux sun_path holds 108 bytes including the terminating NUL. */
const MAX_SOCKET_PATH = 107;
const CLI: CommandOrigin = { channel: 'cli', authenticated: true };

export interface ControlServerOptions {
  readonly path: string;
  readonly bus: EventBus;
  readonly privacy: PrivacyControl;
  readonly forget: ForgetService;
  readonly audit: AuditLog;
  readonly logger: Logger;
  /** Takes over a connection whose request is `{"op":"mcp"}` (mcp/mcp-service.ts), with the bytes after it. */
  readonly mcp?: (socket: Socket, head: Buffer) => void;
}

export class ControlServer implements Component {
  readonly name = 'control';
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  constructor(private readonly o: ControlServerOptions) {}

  async start(): Promise<void> {
    const { path, logger } = this.o;
    if (Buffer.byteLength(path) > MAX_SOCKET_PATH) {
      logger.warn({ path }, 'control socket path too long; `edgeloom` commands cannot reach this daemon');
      return;
    }
    // A socket file left by a daemon that was killed: this process holds the store's lock, so no
    // other daemon can be serving it.
    await rm(path, { force: true });
    const server = createServer((socket) => this.onConnection(socket));
    server.maxConnections = MAX_CONNECTIONS;
    this.server = server;
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        // listen() binds the socket synchronously; a umask of 0177 for that one call makes it 0600
        // from its first instant. The umask is process-wide, so it is restored right after.
        const umask = process.umask(0o177);
        try {
          server.listen(path, () => {
            server.off('error', reject);
            resolve();
          });
        } finally {
          process.umask(umask);
        }
      });
    } catch (err) {
      this.server = undefined;
      throw new EdgeloomError(
        ErrorCode.E_CONTROL_LISTEN,
        `cannot serve the control socket ${path}: ${toError(err).message}`,
        { where: 'control.socket', cause: err },
      );
    }
    await chmod(path, 0o600);
    logger.info({ path }, 'control socket listening');
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server === undefined) return;
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    await closed;
    await rm(this.o.path, { force: true });
  }

  private onConnection(socket: Socket): void {
    this.sockets.add(socket);
    socket.setTimeout(REQUEST_TIMEOUT_MS, () => socket.destroy());
    socket.once('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined);
    let buffered = '';
    let handled = false;
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      if (handled) return;
      buffered += chunk;
      if (Buffer.byteLength(buffered) > MAX_REQUEST_BYTES) {
        handled = true;
        this.answer(socket, fail(ErrorCode.E_CONTROL_TOO_LARGE, `request over ${MAX_REQUEST_BYTES} bytes`));
        return;
      }
      const nl = buffered.indexOf('\n');
      if (nl < 0) return;
      handled = true;
      const line = buffered.slice(0, nl);
      if (this.o.mcp !== undefined && opOf(line) === 'mcp') {
        socket.removeAllListeners('data');
        this.o.mcp(socket, Buffer.from(buffered.slice(nl + 1), 'utf8'));
        return;
      }
      void this.handle(line).then((a) => this.answer(socket, a));
    });
  }

  private answer(socket: Socket, answer: ControlAnswer): void {
    if (!socket.destroyed) socket.end(`${JSON.stringify(answer)}\n`);
  }

  private async handle(line: string): Promise<ControlAnswer> {
    let request: ControlRequest;
    try {
      request = JSON.parse(line) as ControlRequest;
    } catch {
      return fail(ErrorCode.E_CONTROL_BAD_REQUEST, 'request is not JSON');
    }
    try {
      return { ok: true, result: await this.run(request) };
    } catch (err) {
      const code = isEdgeloomError(err) ? err.code : ErrorCode.E_CONTROL_FAILED;
      this.o.logger.info({ op: request?.op, code, err: toError(err).message }, 'control request failed');
      return fail(code, toError(err).message);
    }
  }

  private async run(r: ControlRequest): Promise<unknown> {
    const { privacy, audit, bus } = this.o;
    switch (r?.op) {
      case 'privacy.show':
        return { tiers: privacy.snapshot(), runtime: privacy.runtimeChanges() };
      case 'privacy.set':
        return privacy.change({ scope: r.scope, tier: r.tier as never, origin: CLI });
      case 'privacy.reset':
        return { reset: await privacy.reset(r.scope, CLI) };
      case 'forget':
        return this.o.forget.run({ dry_run: r.dry_run === true, origin: CLI });
      case 'audit.list':
        return audit.list({
          ...(typeof r.since_ms === 'number' ? { sinceMs: r.since_ms } : {}),
          ...(typeof r.limit === 'number' ? { limit: r.limit } : {}),
        });
      case 'audit.verify':
        return audit.verify();
      case 'sensor.pause':
      case 'sensor.resume': {
        // The same rows as the MQTT commands (actions/command-table.ts), so the sensor's source
        // gets the same request type whichever way the command came.
        const kind = r.op === 'sensor.pause' ? 'sensorPause' : 'sensorResume';
        const command: Command =
          r.op === 'sensor.pause'
            ? COMMANDS.sensorPause.toRpc(
                {
                  ...(r.duration_s === undefined ? {} : { duration_s: r.duration_s }),
                  ...(r.safety_override === undefined ? {} : { safety_override: r.safety_override }),
                },
                r.sensor,
                CLI,
              )
            : COMMANDS.sensorResume.toRpc({}, r.sensor, CLI);
        await this.o.audit.append({
          kind: 'command',
          outcome: 'received',
          channel: 'cli',
          command: r.op,
          sensor: r.sensor,
        });
        checkResponder(bus, kind, command, r.op);
        return requestCommand(bus, command, { timeoutMs: 10_000, source: this.name });
      }
      case 'voice.listen': {
        // The MQTT command's bound. Not audited, as over MQTT: it reveals nothing.
        const seconds = r.seconds;
        if (
          seconds !== undefined &&
          !(typeof seconds === 'number' && seconds > 0 && seconds <= VOICE_LISTEN_MAX_S)
        )
          throw new EdgeloomError(
            ErrorCode.E_CONTROL_BAD_REQUEST,
            `voice.listen: seconds must be a number in (0, ${VOICE_LISTEN_MAX_S}] (got ${JSON.stringify(seconds)})`,
          );
        const command = COMMANDS.voiceListen.toRpc(seconds === undefined ? {} : { seconds }, '', CLI);
        checkResponder(bus, 'voiceListen', command, r.op);
        return requestCommand(bus, command, { timeoutMs: 10_000, source: this.name });
      }
      default:
        throw new EdgeloomError(
          ErrorCode.E_CONTROL_UNKNOWN,
          `unknown control op ${JSON.stringify((r as { op?: unknown })?.op)}`,
        );
    }
  }
}

function opOf(line: string): unknown {
  try {
    return (JSON.parse(line) as { op?: unknown } | null)?.op;
  } catch {
    return undefined;
  }
}

function fail(code: ErrorCode, message: string): ControlAnswer {
  return { ok: false, error: { code, message } };
}
