/**
 * Client for an OpenAI-compatible HTTP API (no SDK): `/audio/transcriptions` (multipart WAV) and
 * `/chat/completions` streamed over SSE with tool calls, or once for a JSON answer about an image
 * (vision format). It never touches the network itself:
 * every request goes through the egress's `transmit` (privacy guard + audit).
 *
 * Time: every call has a budget (ms); all attempts and retry waits fit inside it and the call is
 * aborted when it runs out (`E_CLOUD_TIMEOUT`). Retries (with jitter) only for failures that are
 * safe to repeat: network errors, per-attempt timeouts, 5xx, and 429 honouring Retry-After when
 * the wait fits the budget. A circuit breaker refuses calls while the cloud keeps failing. The
 * caller's AbortSignal cancels promptly, also in the middle of a stream (`E_CLOUD_ABORTED`).
 */
import { randomBytes } from 'node:crypto';
import { EdgeloomError, isEdgeloomError, toError } from '../errors.js';
import { encodeWav } from '../media/wav.js';
import type { Clock } from '../util/clock.js';
import type { EgressDataKind } from './audit-log.js';
import type { CircuitBreaker } from './breaker.js';
import { ChatAccumulator, type ChatResult, sseEvents } from './cloud-sse.js';
import type { EgressContext, Transmit } from './egress.js';

export type { ChatResult, ToolCall } from './cloud-sse.js';

export interface CloudClientOptions {
  /** e.g. `https://api.openai.com/v1` (`cloud.base_url`). */
  readonly baseUrl: string;
  /** Bearer token; empty sends no Authorization header (`cloud.api_key`). */
  readonly apiKey: string;
  readonly chatModel: string;
  readonly transcriptionModel: string;
  /** Per-attempt timeout, ms (`cloud.timeout_ms`); the call's budget caps it further. */
  readonly timeoutMs: number;
  /** Retries after a failed attempt (`cloud.retries`). */
  readonly retries: number;
  readonly clock: Clock;
  readonly breaker: CircuitBreaker;
  readonly transmit: Transmit;
  /** First retry delay, ms, doubled per retry with ±50 % jitter (default 100). */
  readonly retryBaseMs?: number;
  /** Random source in [0,1) for jitter (default Math.random; tests pin it). */
  readonly random?: () => number;
}

export interface CallOptions {
  readonly context: EgressContext;
  /** The whole call, retries included, must finish within this, ms. */
  readonly budgetMs: number;
  /** Cancels the call (an interrupt). */
  readonly signal?: AbortSignal;
}

export interface CloudTranscription {
  readonly text: string;
  readonly language: string | undefined;
  readonly durationMs: number | undefined;
  /** Mean of the segments' avg_logprob / no_speech_prob when the API reports them (verbose_json). */
  readonly avgLogProb: number | undefined;
  readonly noSpeechProb: number | undefined;
  readonly latencyMs: number;
}

export interface ChatMessage {
  readonly role: 'system' | 'user' | 'assistant' | 'tool';
  readonly content: string;
  readonly tool_call_id?: string;
}

export interface ChatTool {
  readonly type: 'function';
  readonly function: { readonly name: string; readonly description?: string; readonly parameters: object };
}

/** One part of a multimodal user message (OpenAI vision format). */
export type ContentPart =
  | { readonly type: 'text'; readonly text: string }
  | { readonly type: 'image_url'; readonly image_url: { readonly url: string } };

/** A chat message whose content may carry images: only for tiers that let raw data leave. */
export interface VisionMessage {
  readonly role: 'system' | 'user';
  readonly content: string | readonly ContentPart[];
}

export interface ChatRequest {
  readonly messages: readonly ChatMessage[];
  readonly tools?: readonly ChatTool[];
  /** Called with each content fragment as it streams in. */
  readonly onDelta?: (text: string) => void;
}

interface Attempt<T> {
  readonly path: string;
  readonly contentType: string;
  readonly body: Buffer;
  readonly dataKind: EgressDataKind;
  readonly read: (res: Response, signal: AbortSignal) => Promise<T>;
}

const fail = (code: string, message: string, cause?: unknown): EdgeloomError =>
  new EdgeloomError(code, message, { where: 'cloud', cause });

/** Retry-After as ms: delta-seconds or an HTTP date (RFC 9110 §10.2.3); undefined when absent/bad. */
export function retryAfterMs(header: string | null, nowMs: number): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const s = Number(header);
  if (Number.isFinite(s)) return Math.max(0, s * 1000);
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}

/**
 * `cloud.base_url` without its user-info, and that user-info as a Basic credential (RFC 9110
 * §11.2) when there is one: fetch refuses URLs with credentials and puts the whole URL, password
 * included, into its error message, which would reach the log.
 */
export function splitCredentials(baseUrl: string): { base: string; basic: string | undefined } {
  const u = new URL(baseUrl);
  if (u.username === '' && u.password === '') return { base: baseUrl.replace(/\/+$/, ''), basic: undefined };
  const basic = Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString(
    'base64',
  );
  u.username = '';
  u.password = '';
  return { base: u.toString().replace(/\/+$/, ''), basic };
}

/** Any `scheme://user:pass@` in a message, redacted (a last line of defence for log lines). */
export function redactUrlCredentials(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^\s/@]*@/gi, '$1[redacted]@');
}

export class CloudClient {
  private readonly o: CloudClientOptions;
  private readonly base: string;
  private readonly basic: string | undefined;

  constructor(options: CloudClientOptions) {
    this.o = options;
    const { base, basic } = splitCredentials(options.baseUrl);
    this.base = base;
    this.basic = basic;
  }

  /** Transcribe 16-bit mono PCM (sent as WAV). Only call where the tier allows audio to leave. */
  async transcribe(
    audio: { samples: Int16Array; sampleRateHz: number },
    options: CallOptions & { language?: string },
  ): Promise<CloudTranscription> {
    const boundary = `edgeloom-${randomBytes(12).toString('hex')}`;
    const field = (name: string, value: string): Buffer =>
      Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`);
    const parts = [
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="segment.wav"\r\n` +
          'Content-Type: audio/wav\r\n\r\n',
      ),
      encodeWav(audio.samples, audio.sampleRateHz),
      Buffer.from('\r\n'),
      field('model', this.o.transcriptionModel),
      field('response_format', 'verbose_json'),
      ...(options.language ? [field('language', options.language)] : []),
      Buffer.from(`--${boundary}--\r\n`),
    ];
    const started = this.o.clock.monotonicMs();
    const r = await this.call<Omit<CloudTranscription, 'latencyMs'>>(options, {
      path: '/audio/transcriptions',
      contentType: `multipart/form-data; boundary=${boundary}`,
      body: Buffer.concat(parts),
      dataKind: 'audio',
      read: async (res) => parseTranscription(await readJson(res)),
    });
    return { ...r, latencyMs: this.o.clock.monotonicMs() - started };
  }

  /** A streamed chat completion; resolves with the full text and tool calls once `[DONE]` arrives. */
  async chat(request: ChatRequest, options: CallOptions): Promise<ChatResult & { latencyMs: number }> {
    const body = {
      model: this.o.chatModel,
      stream: true,
      messages: request.messages,
      ...(request.tools && request.tools.length > 0 ? { tools: request.tools } : {}),
    };
    const started = this.o.clock.monotonicMs();
    const r = await this.call<ChatResult>(options, {
      path: '/chat/completions',
      contentType: 'application/json',
      body: Buffer.from(JSON.stringify(body)),
      dataKind: 'text',
      read: async (res) => {
        if (res.body === null) throw fail('E_CLOUD_BAD_RESPONSE', 'chat stream without a body');
        const acc = new ChatAccumulator();
        for await (const data of sseEvents(res.body)) {
          const delta = acc.push(data);
          if (delta !== '') request.onDelta?.(delta);
        }
        return acc.result();
      },
    });
    return { ...r, latencyMs: this.o.clock.monotonicMs() - started };
  }

  /**
   * One non-streamed chat completion asking for a JSON object (`response_format: json_object`),
   * for short structured answers such as an image label. Messages may carry `image_url` parts
   * (data: URLs): the request is declared as `image` data whenever one does, so the egress guard
   * and the audit log see it as raw data.
   */
  async completeJson(
    messages: readonly VisionMessage[],
    options: CallOptions,
  ): Promise<{ content: string; latencyMs: number }> {
    const hasImage = messages.some(
      (m) => typeof m.content !== 'string' && m.content.some((p) => p.type === 'image_url'),
    );
    const body = {
      model: this.o.chatModel,
      stream: false,
      response_format: { type: 'json_object' },
      messages,
    };
    const started = this.o.clock.monotonicMs();
    const content = await this.call<string>(options, {
      path: '/chat/completions',
      contentType: 'application/json',
      body: Buffer.from(JSON.stringify(body)),
      dataKind: hasImage ? 'image' : 'text',
      read: async (res) => parseCompletionContent(await readJson(res)),
    });
    return { content, latencyMs: this.o.clock.monotonicMs() - started };
  }

  private async call<T>(options: CallOptions, attempt: Attempt<T>): Promise<T> {
    const { clock, breaker } = this.o;
    const deadlineMs = clock.monotonicMs() + options.budgetMs;
    const call = new AbortController();
    const budgetTimer = clock.setTimeout(
      () => call.abort(fail('E_CLOUD_TIMEOUT', `no answer within the ${options.budgetMs} ms budget`)),
      options.budgetMs,
    );
    const onCancel = (): void => call.abort(fail('E_CLOUD_ABORTED', 'cloud call cancelled'));
    if (options.signal?.aborted) onCancel();
    options.signal?.addEventListener('abort', onCancel, { once: true });
    try {
      for (let n = 0; ; n++) {
        if (call.signal.aborted) throw call.signal.reason;
        if (!breaker.tryAcquire())
          throw fail('E_CLOUD_BREAKER_OPEN', 'circuit breaker open: cloud calls paused');
        const outcome = await this.attemptOnce(attempt, options.context, call.signal, deadlineMs);
        if (outcome.ok) {
          breaker.onSuccess();
          return outcome.value;
        }
        const err = outcome.error;
        if (call.signal.aborted && isEdgeloomError(call.signal.reason, 'E_CLOUD_ABORTED')) {
          breaker.onNeutral();
          throw call.signal.reason;
        }
        if (outcome.health === 'neutral') breaker.onNeutral();
        else breaker.onFailure();
        if (call.signal.aborted) throw call.signal.reason;
        const delayMs = outcome.retryAfterMs ?? this.backoffMs(n);
        if (!outcome.retryable || n >= this.o.retries || clock.monotonicMs() + delayMs >= deadlineMs)
          throw err;
        await clock.sleep(delayMs, call.signal).catch(() => {
          throw call.signal.reason;
        });
      }
    } finally {
      budgetTimer.cancel();
      options.signal?.removeEventListener('abort', onCancel);
    }
  }

  private backoffMs(retry: number): number {
    const base = (this.o.retryBaseMs ?? 100) * 2 ** retry;
    return base * (0.5 + (this.o.random ?? Math.random)());
  }

  /** One HTTP exchange, inside its own timeout (the smaller of timeout_ms and the budget left). */
  private async attemptOnce<T>(
    a: Attempt<T>,
    context: EgressContext,
    callSignal: AbortSignal,
    deadlineMs: number,
  ): Promise<
    | { ok: true; value: T }
    | { ok: false; error: Error; retryable: boolean; health: 'failure' | 'neutral'; retryAfterMs?: number }
  > {
    const { clock } = this.o;
    const ctl = new AbortController();
    const onCallAbort = (): void => ctl.abort(callSignal.reason);
    callSignal.addEventListener('abort', onCallAbort, { once: true });
    const timeoutMs = Math.max(1, Math.min(this.o.timeoutMs, deadlineMs - clock.monotonicMs()));
    const timer = clock.setTimeout(
      () => ctl.abort(fail('E_CLOUD_TIMEOUT', `attempt timed out after ${timeoutMs} ms`)),
      timeoutMs,
    );
    const headers: Record<string, string> = { 'content-type': a.contentType };
    if (this.o.apiKey !== '') headers.authorization = `Bearer ${this.o.apiKey}`;
    else if (this.basic !== undefined) headers.authorization = `Basic ${this.basic}`;
    try {
      const res = await this.o.transmit({
        url: `${this.base}${a.path}`,
        headers,
        body: a.body,
        dataKind: a.dataKind,
        context,
        signal: ctl.signal,
      });
      if (res.ok) return { ok: true, value: await a.read(res, ctl.signal) };
      await res.body?.cancel().catch(() => undefined);
      const retryable = res.status >= 500 || res.status === 429;
      const error = fail(
        res.status === 429 ? 'E_CLOUD_RATE_LIMITED' : 'E_CLOUD_HTTP',
        `${a.path} answered HTTP ${res.status}`,
      );
      const after =
        res.status === 429 ? retryAfterMs(res.headers.get('retry-after'), clock.now()) : undefined;
      // A 4xx other than 429 is our request's fault (bad key, bad model): the cloud is healthy.
      return { ok: false, error, retryable, health: retryable ? 'failure' : 'neutral', retryAfterMs: after };
    } catch (thrown) {
      if (ctl.signal.aborted && isEdgeloomError(ctl.signal.reason)) {
        const reason = ctl.signal.reason;
        return { ok: false, error: reason, retryable: reason.code === 'E_CLOUD_TIMEOUT', health: 'failure' };
      }
      const err = toError(thrown);
      if (isEdgeloomError(err, 'E_PRIVACY_VIOLATION'))
        return { ok: false, error: err, retryable: false, health: 'neutral' };
      if (isEdgeloomError(err, 'E_CLOUD_BAD_RESPONSE'))
        return { ok: false, error: err, retryable: false, health: 'failure' };
      return {
        ok: false,
        error: fail('E_CLOUD_NETWORK', `${a.path}: ${redactUrlCredentials(err.message)}`),
        retryable: true,
        health: 'failure',
      };
    } finally {
      timer.cancel();
      callSignal.removeEventListener('abort', onCallAbort);
    }
  }
}

/**
 * Largest JSON answer read, bytes: a transcription with segments or a vision label is a few KiB.
 * A longer body is dropped unread past this point (`E_CLOUD_BAD_RESPONSE`).
 */
export const MAX_RESPONSE_BYTES = 1024 * 1024;
/**
 * Longest transcript accepted from the cloud, characters. Whisper decodes at most 448 tokens
 * per 30 s window (about 2000 characters of speech); a longer text is not a transcription.
 */
export const MAX_TRANSCRIPT_CHARS = 4000;

async function readJson(res: Response): Promise<unknown> {
  const length = Number(res.headers.get('content-length'));
  if (Number.isFinite(length) && length > MAX_RESPONSE_BYTES) {
    await res.body?.cancel().catch(() => undefined);
    throw fail('E_CLOUD_BAD_RESPONSE', `response of ${length} bytes is over ${MAX_RESPONSE_BYTES}`);
  }
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  if (res.body !== null) {
    const reader = res.body.getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        bytes += value.length;
        if (bytes > MAX_RESPONSE_BYTES)
          throw fail('E_CLOUD_BAD_RESPONSE', `response is over ${MAX_RESPONSE_BYTES} bytes`);
        chunks.push(value);
      }
    } finally {
      await reader.cancel().catch(() => undefined);
    }
  }
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw fail('E_CLOUD_BAD_RESPONSE', `response is not JSON (${text.length} bytes)`, err);
  }
}

/** `choices[0].message.content` of a non-streamed chat completion. */
function parseCompletionContent(json: unknown): string {
  const j = json as { choices?: { message?: { content?: unknown } }[] } | null;
  const content = j !== null && typeof j === 'object' ? j.choices?.[0]?.message?.content : undefined;
  if (typeof content !== 'string') {
    throw fail('E_CLOUD_BAD_RESPONSE', 'chat completion has no message content');
  }
  return content;
}

function parseTranscription(json: unknown): Omit<CloudTranscription, 'latencyMs'> {
  const j = json as {
    text?: unknown;
    language?: unknown;
    duration?: unknown;
    segments?: { avg_logprob?: unknown; no_speech_prob?: unknown }[];
  };
  if (j === null || typeof j !== 'object' || typeof j.text !== 'string') {
    throw fail('E_CLOUD_BAD_RESPONSE', 'transcription response has no text');
  }
  if (j.text.length > MAX_TRANSCRIPT_CHARS) {
    throw fail(
      'E_CLOUD_BAD_RESPONSE',
      `transcription of ${j.text.length} characters is over ${MAX_TRANSCRIPT_CHARS} characters`,
    );
  }
  const mean = (key: 'avg_logprob' | 'no_speech_prob'): number | undefined => {
    const xs = (Array.isArray(j.segments) ? j.segments : [])
      .map((s) => s?.[key])
      .filter((x) => typeof x === 'number');
    return xs.length === 0 ? undefined : xs.reduce((s, x) => s + x, 0) / xs.length;
  };
  return {
    text: j.text.trim(),
    language: typeof j.language === 'string' ? j.language : undefined,
    durationMs: typeof j.duration === 'number' ? j.duration * 1000 : undefined,
    avgLogProb: mean('avg_logprob'),
    noSpeechProb: mean('no_speech_prob'),
  };
}
