/**
 * `edgeloom mcp`: the stdio MCP server an MCP host (a desktop assistant, an IDE, an agent) starts.
 * It relays its stdin and stdout to the running daemon's control socket, where the daemon serves
 * MCP (mcp/mcp-service.ts): the daemon owns the sensors, the store's lock and the tool registry
 * with its plugins and tool servers, so a second, in-process daemon could offer none of their
 * state; the socket (mode 0600) admits the daemon's user and root only, as for `edgeloom privacy`.
 * Nothing but MCP messages is written to stdout; logs go to stderr.
 */
import { connect, type Socket } from 'node:net';
import { controlSocketPath } from '../control/protocol.js';
import { EdgeloomError, ErrorCode, isErrorCode } from '../errors.js';
import { parse, str } from './args.js';
import type { Command } from './command.js';
import { cliStorage } from './store-access.js';

const USAGE = `Usage: edgeloom mcp [--config FILE]

An MCP server on stdin/stdout for MCP hosts. Tools: the daemon's tools (those not internal);
resources: the latest emotion, the last transcripts, the motion state, the sensors' status and
the stats, as far as the privacy tiers let data leave the device (under local_only: nothing).
It talks to the running daemon through its control socket (in storage.dir), so it needs the
daemon running and access to the socket (the daemon's user, or root); it exits 1 otherwise.
Other machines reach the same server over HTTP: POST /mcp, behind http.token.

Example (an MCP host's configuration):
  {"mcpServers": {"edgeloom": {"command": "edgeloom", "args": ["mcp", "--config", "/etc/edgeloom/config.yaml"]}}}

Options:
  --config FILE  configuration file (for storage.dir)`;

/** Longest first answer line from the daemon, bytes. */
const MAX_ANSWER_BYTES = 64 * 1024;

export const mcpCommand: Command = {
  name: 'mcp',
  summary: "serve MCP clients on stdio: the daemon's tools and current state",
  usage: USAGE,
  async run(argv) {
    const p = parse('mcp', argv, { config: { type: 'string' } });
    if (p.positionals.length > 0)
      throw new EdgeloomError(ErrorCode.E_USAGE, 'mcp: takes no arguments (see: edgeloom mcp --help)');
    const path = controlSocketPath(cliStorage(str(p, 'config')).storageDir);
    const socket = await session(path);
    return relay(socket);
  },
};

/** Connect and ask for an MCP session; resolves once the daemon said it is ready. */
function session(path: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(path);
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const nl = head.indexOf(0x0a);
      if (nl < 0) {
        if (head.length > MAX_ANSWER_BYTES) fail(ErrorCode.E_CONTROL_BAD_ANSWER, 'no valid answer');
        return;
      }
      socket.off('data', onData);
      socket.pause();
      let answer: { ok?: boolean; error?: { code?: unknown; message?: unknown } };
      try {
        answer = JSON.parse(head.subarray(0, nl).toString('utf8')) as typeof answer;
      } catch {
        fail(ErrorCode.E_CONTROL_BAD_ANSWER, 'no valid answer');
        return;
      }
      if (answer.ok !== true) {
        const code = isErrorCode(answer.error?.code) ? answer.error.code : ErrorCode.E_CONTROL_BAD_ANSWER;
        fail(code, String(answer.error?.message ?? 'refused'));
        return;
      }
      // MCP messages the daemon sent right after its answer.
      if (nl + 1 < head.length) socket.unshift(head.subarray(nl + 1));
      resolve(socket);
    };
    const fail = (code: ErrorCode, message: string): void => {
      socket.destroy();
      reject(new EdgeloomError(code, `${message} (on ${path})`, { where: 'mcp' }));
    };
    socket.on('data', onData);
    socket.once('connect', () => socket.write(`${JSON.stringify({ op: 'mcp' })}\n`));
    socket.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED')
        fail(
          ErrorCode.E_MCP_NO_DAEMON,
          'no running edgeloom daemon: start it (edgeloom run, or the service)',
        );
      else fail(ErrorCode.E_CONTROL_CONNECT, `cannot reach the daemon: ${err.message}`);
    });
    socket.once('close', () => fail(ErrorCode.E_CONTROL_BAD_ANSWER, 'the daemon closed the connection'));
  });
}

/** stdin → daemon, daemon → stdout, until either side ends. */
function relay(socket: Socket): Promise<number> {
  return new Promise((resolve) => {
    socket.removeAllListeners('close');
    socket.removeAllListeners('error');
    socket.on('error', () => undefined); // its close follows
    socket.pipe(process.stdout);
    process.stdin.pipe(socket);
    // The host closed our stdin: end the session; the daemon closes its side in turn.
    process.stdin.once('end', () => socket.end());
    socket.once('close', () => {
      process.stdin.unpipe(socket);
      process.stdin.destroy();
      resolve(0);
    });
  });
}
