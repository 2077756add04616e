/**
 * An MCP transport over a stream socket with the stdio transport's framing (one JSON-RPC message
 * per line): how `edgeloom mcp` — a relay between its own stdin/stdout and the daemon's control
 * socket — reaches the daemon's MCP server. Lines are bounded (LineReader): a longer one is dropped
 * and reported through onerror, the socket served on.
 */
import type { Socket } from 'node:net';
import { deserializeMessage, serializeMessage } from '@modelcontextprotocol/sdk/shared/stdio.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';
import { toError } from '../errors.js';
import { LineReader } from '../plugins/line-reader.js';

/** Longest message read from a client, bytes. */
export const MAX_MESSAGE_BYTES = 1024 * 1024;

export class SocketTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;
  private readonly reader: LineReader;
  private closed = false;

  constructor(
    private readonly socket: Socket,
    /** Bytes already read after the control request line (the first MCP messages). */
    private readonly head: Buffer,
  ) {
    this.reader = new LineReader(MAX_MESSAGE_BYTES, (line) => this.onLine(line));
  }

  async start(): Promise<void> {
    this.socket.on('data', (chunk: Buffer | string) => this.push(chunk));
    this.socket.once('close', () => this.ended());
    this.socket.on('error', (err) => this.onerror?.(err));
    if (this.head.length > 0) this.push(this.head);
  }

  async send(message: JSONRPCMessage): Promise<void> {
    if (this.closed || this.socket.destroyed) return;
    if (this.socket.write(serializeMessage(message))) return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        resolve();
      };
      this.socket.once('drain', done);
      this.socket.once('close', done);
    });
  }

  async close(): Promise<void> {
    this.socket.end();
    this.ended();
  }

  private push(chunk: Buffer | string): void {
    const before = this.reader.overlong;
    this.reader.push(typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk);
    if (this.reader.overlong > before)
      this.onerror?.(new Error(`an MCP message over ${MAX_MESSAGE_BYTES} bytes was dropped`));
  }

  private onLine(line: string): void {
    let message: JSONRPCMessage;
    try {
      message = deserializeMessage(line);
    } catch (err) {
      this.onerror?.(toError(err));
      return;
    }
    this.onmessage?.(message);
  }

  private ended(): void {
    if (this.closed) return;
    this.closed = true;
    this.onclose?.();
  }
}
