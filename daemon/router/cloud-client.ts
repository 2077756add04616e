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
 * The API's request and answer formats, and the bounded reading of answers, are in cloud-api.ts.
 */
import { randomBytes } from 'node:crypto';
import { EdgeloomError, ErrorCode, isEdgeloomError, toError } from '../errors.js';
import { encodeWav } from '../media/wav.js';
import type { Clock } from '../util/clock.js';
import type { EgressDataKind } from './audit-log.js';
import type { CircuitBreaker } from './breaker.js';
import {
  type ChatRequest,
  type CloudTranscription,
  parseCompletionContent,
  parseTranscription,
  readJson,
  redactUrlCredentials,
  retryAfterMs,
  splitCredentials,
  type VisionMessage,
} from './cloud-api.js';
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

interface Attempt<T> {
  readonly path: string;
  readonly contentType: string;
  readonly body: Buffer;
  readonly dataKind: EgressDataKind;
  readonly read: (res: Response, signal: AbortSignal) => Promise<T>;
}

const fail = (code: ErrorCode, message: string, cause?: unknown): EdgeloomError =>
  new EdgeloomError(code, message, { where: 'cloud', cause });

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
        if (res.body === null) throw fail(ErrorCode.E_CLOUD_BAD_RESPONSE, 'chat stream without a body');
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
      () => call.abort(fail(ErrorCode.E_CLOUD_TIMEOUT, `no answer within the ${options.budgetMs} ms budget`)),
      options.budgetMs,
    );
    const onCancel = (): void => call.abort(fail(ErrorCode.E_CLOUD_ABORTED, 'cloud call cancelled'));
    if (options.signal?.aborted) onCancel();
    options.signal?.addEventListener('abort', onCancel, { once: true });
    try {
      for (let n = 0; ; n++) {
        if (call.signal.aborted) throw call.signal.reason;
        if (!breaker.tryAcquire())
          throw fail(ErrorCode.E_CLOUD_BREAKER_OPEN, 'circuit breaker open: cloud calls paused');
        const outcome = await this.attemptOnce(attempt, options.context, call.signal, deadlineMs);
        if (outcome.ok) {
          breaker.onSuccess();
          return outcome.value;
        }
        const err = outcome.error;
        if (call.signal.aborted && isEdgeloomError(call.signal.reason, ErrorCode.E_CLOUD_ABORTED)) {
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
      () => ctl.abort(fail(ErrorCode.E_CLOUD_TIMEOUT, `attempt timed out after ${timeoutMs} ms`)),
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
        res.status === 429 ? ErrorCode.E_CLOUD_RATE_LIMITED : ErrorCode.E_CLOUD_HTTP,
        `${a.path} answered HTTP ${res.status}`,
      );
      const after =
        res.status === 429 ? retryAfterMs(res.headers.get('retry-after'), clock.now()) : undefined;
      // A 4xx other than 429 is our request's fault (bad key, bad model): the cloud is healthy.
      return { ok: false, error, retryable, health: retryable ? 'failure' : 'neutral', retryAfterMs: after };
    } catch (thrown) {
      if (ctl.signal.aborted && isEdgeloomError(ctl.signal.reason)) {
        const reason = ctl.signal.reason;
        return {
          ok: false,
          error: reason,
          retryable: reason.code === ErrorCode.E_CLOUD_TIMEOUT,
          health: 'failure',
        };
      }
      const err = toError(thrown);
      if (isEdgeloomError(err, ErrorCode.E_PRIVACY_VIOLATION))
        return { ok: false, error: err, retryable: false, health: 'neutral' };
      if (isEdgeloomError(err, ErrorCode.E_CLOUD_BAD_RESPONSE))
        return { ok: false, error: err, retryable: false, health: 'failure' };
      return {
        ok: false,
        error: fail(ErrorCode.E_CLOUD_NETWORK, `${a.path}: ${redactUrlCredentials(err.message)}`),
        retryable: true,
        health: 'failure',
      };
    } finally {
      timer.cancel();
      callSignal.removeEventListener('abort', onCallAbort);
    }
  }
}
