/**
 * A real loopback HTTP server speaking the subset of the OpenAI API edgeloom uses
 * (`POST /v1/audio/transcriptions`, `POST /v1/chat/completions` with `stream: true`, and
 * non-streamed `/v1/chat/completions` with an `image_url` part, answered as a vision model labelling
 * faces: `{"emotions": [visionLabel, ...]}`, one per box the request lists). It is not a
 * mock of the client: the client talks real HTTP to it, and it records every request's raw bytes
 * so tests can prove what did (and did not) leave the device.
 *
 * Each path has a queue of scripted behaviours consumed one per request; when the queue is empty
 * the path's default answers.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type Behaviour =
  /** A JSON answer, optionally after a delay. */
  | { kind: 'json'; body: unknown; status?: number; delayMs?: number; headers?: Record<string, string> }
  /** A body sent verbatim (malformed JSON and the like). */
  | { kind: 'raw'; body: string; status?: number; headers?: Record<string, string> }
  /** An error status with an empty JSON error body. */
  | { kind: 'status'; status: number; headers?: Record<string, string> }
  /**
   * Server-sent events: each chunk is one `data:` payload (objects are JSON-encoded), sent
   * `intervalMs` apart; `[DONE]` follows unless `done: false`; `hang: true` keeps the stream open
   * after the chunks.
   */
  | { kind: 'sse'; chunks: (string | object)[]; intervalMs?: number; done?: boolean; hang?: boolean }
  /** Accept the request and never answer. */
  | { kind: 'hang' }
  /** Drop the connection without an answer (a network error for the client). */
  | { kind: 'destroy' };

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** Every body byte received. */
  readonly body: Buffer;
  readonly receivedAtMs: number;
  /** Set when the client closed the connection before the answer was complete. */
  clientClosedAtMs?: number;
}

export const TRANSCRIPTIONS = '/v1/audio/transcriptions';
export const CHAT = '/v1/chat/completions';

export function defaultTranscription(text = 'turn on the kitchen light'): Behaviour {
  return {
    kind: 'json',
    body: { text, language: 'en', duration: 1.4, segments: [{ avg_logprob: -0.05, no_speech_prob: 0.01 }] },
  };
}

export function chatChunk(delta: object, finishReason: string | null = null): object {
  return {
    id: 'c1',
    object: 'chat.completion.chunk',
    choices: [{ index: 0, delta, finish_reason: finishReason }],
  };
}

/**
 * A chat answer that calls tools, streamed the way OpenAI does (each call's name first, then its
 * arguments in two fragments). A hostile cloud uses it to make the device act: the same call
 * twice, calls the user never asked for, arguments written to mislead.
 */
export function toolCallAnswer(calls: readonly { name: string; arguments: object }[]): Behaviour {
  const chunks: object[] = [];
  calls.forEach((c, index) => {
    const json = JSON.stringify(c.arguments);
    const half = Math.floor(json.length / 2);
    chunks.push(
      chatChunk({
        tool_calls: [
          { index, id: `call_${index}`, type: 'function', function: { name: c.name, arguments: '' } },
        ],
      }),
      chatChunk({ tool_calls: [{ index, function: { arguments: json.slice(0, half) } }] }),
      chatChunk({ tool_calls: [{ index, function: { arguments: json.slice(half) } }] }),
    );
  });
  chunks.push(chatChunk({}, 'tool_calls'));
  return { kind: 'sse', chunks };
}

/** Face boxes a vision request asks about (its JSON text part's `faces`); undefined when not one. */
export function visionFaceCount(body: Buffer): number | undefined {
  let json: { stream?: unknown; messages?: { content?: unknown }[] };
  try {
    json = JSON.parse(body.toString('utf8')) as typeof json;
  } catch {
    return undefined;
  }
  if (json.stream === true || !Array.isArray(json.messages)) return undefined;
  const parts = json.messages.flatMap((m) => (Array.isArray(m.content) ? (m.content as unknown[]) : []));
  const typed = parts as { type?: string; text?: string }[];
  if (!typed.some((p) => p.type === 'image_url')) return undefined;
  for (const p of typed) {
    if (p.type !== 'text' || typeof p.text !== 'string') continue;
    try {
      const faces = (JSON.parse(p.text) as { faces?: unknown }).faces;
      if (Array.isArray(faces)) return faces.length;
    } catch {
      // free text: keep looking
    }
  }
  return 1;
}

export class FakeOpenAIServer {
  readonly requests: RecordedRequest[] = [];
  /** The label the vision answer gives every face. */
  visionLabel = 'surprised';
  private readonly queues = new Map<string, Behaviour[]>();
  private readonly defaults = new Map<string, Behaviour>([
    [TRANSCRIPTIONS, defaultTranscription()],
    [CHAT, { kind: 'sse', chunks: [chatChunk({ content: 'ok' }), chatChunk({}, 'stop')] }],
  ]);
  private readonly timers = new Set<NodeJS.Timeout>();

  private constructor(private readonly server: Server) {}

  static async start(): Promise<FakeOpenAIServer> {
    const server = createServer();
    const fake = new FakeOpenAIServer(server);
    server.on('request', (req, res) => fake.onRequest(req, res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return fake;
  }

  /** `http://127.0.0.1:<port>/v1` */
  get baseUrl(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/v1`;
  }

  /** Queue behaviours for the next requests to `path`. */
  script(path: string, ...behaviours: Behaviour[]): void {
    this.queues.set(path, [...(this.queues.get(path) ?? []), ...behaviours]);
  }

  setDefault(path: string, behaviour: Behaviour): void {
    this.defaults.set(path, behaviour);
  }

  /** Every body byte received, all requests concatenated. */
  allBytes(): Buffer {
    return Buffer.concat(this.requests.map((r) => r.body));
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private later(fn: () => void, ms: number): void {
    const t = setTimeout(() => {
      this.timers.delete(t);
      fn();
    }, ms);
    this.timers.add(t);
  }

  private onRequest(req: IncomingMessage, res: ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const rec: RecordedRequest = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks),
        receivedAtMs: Date.now(),
      };
      this.requests.push(rec);
      res.on('close', () => {
        if (!res.writableFinished) rec.clientClosedAtMs = Date.now();
      });
      const queued = this.queues.get(rec.path)?.shift();
      const faces = rec.path === CHAT && queued === undefined ? visionFaceCount(rec.body) : undefined;
      const vision: Behaviour | undefined =
        faces === undefined
          ? undefined
          : {
              kind: 'json',
              body: {
                id: 'v1',
                object: 'chat.completion',
                choices: [
                  {
                    index: 0,
                    message: {
                      role: 'assistant',
                      content: JSON.stringify({ emotions: Array(faces).fill(this.visionLabel) }),
                    },
                    finish_reason: 'stop',
                  },
                ],
              },
            };
      const b = queued ?? vision ?? this.defaults.get(rec.path) ?? { kind: 'status', status: 404 };
      this.answer(b, res);
    });
  }

  private answer(b: Behaviour, res: ServerResponse): void {
    switch (b.kind) {
      case 'json': {
        const send = (): void => {
          if (res.destroyed) return;
          res.writeHead(b.status ?? 200, { 'content-type': 'application/json', ...b.headers });
          res.end(JSON.stringify(b.body));
        };
        if (b.delayMs) this.later(send, b.delayMs);
        else send();
        return;
      }
      case 'raw':
        res.writeHead(b.status ?? 200, { 'content-type': 'application/json', ...b.headers });
        res.end(b.body);
        return;
      case 'status':
        res.writeHead(b.status, { 'content-type': 'application/json', ...b.headers });
        res.end(JSON.stringify({ error: { message: `scripted ${b.status}` } }));
        return;
      case 'hang':
        return;
      case 'destroy':
        res.socket?.destroy();
        return;
      case 'sse': {
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
        const lines = b.chunks.map((c) => `data: ${typeof c === 'string' ? c : JSON.stringify(c)}\n\n`);
        if (b.done !== false) lines.push('data: [DONE]\n\n');
        const step = (i: number): void => {
          if (res.destroyed) return;
          if (i >= lines.length) {
            if (!b.hang) res.end();
            return;
          }
          res.write(lines[i]);
          this.later(() => step(i + 1), b.intervalMs ?? 0);
        };
        step(0);
        return;
      }
    }
  }
}

/** A spoken-style text answer streamed in `pieces` (each one `data:` chunk), `intervalMs` apart. */
export function textAnswer(pieces: readonly string[], intervalMs = 0, hang = false): Behaviour {
  return {
    kind: 'sse',
    intervalMs,
    hang,
    done: !hang,
    chunks: [...pieces.map((p) => chatChunk({ content: p })), chatChunk({}, 'stop')],
  };
}
