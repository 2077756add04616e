/**
 * The OpenAI-compatible HTTP API as edgeloom speaks it (cloud-client.ts makes the calls): request
 * and answer types, the bounded and checked reading of JSON answers, and the HTTP details around
 * them (Retry-After, credentials in `cloud.base_url`, redaction for log lines).
 */
import { EdgeloomError, ErrorCode } from '../errors.js';

const fail = (code: ErrorCode, message: string, cause?: unknown): EdgeloomError =>
  new EdgeloomError(code, message, { where: 'cloud', cause });

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
  /** An assistant turn's tool calls (multi-step tool calling: their results follow as `tool`). */
  readonly tool_calls?: readonly {
    readonly id: string;
    readonly type: 'function';
    readonly function: { readonly name: string; readonly arguments: string };
  }[];
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

export async function readJson(res: Response): Promise<unknown> {
  const length = Number(res.headers.get('content-length'));
  if (Number.isFinite(length) && length > MAX_RESPONSE_BYTES) {
    await res.body?.cancel().catch(() => undefined);
    throw fail(ErrorCode.E_CLOUD_BAD_RESPONSE, `response of ${length} bytes is over ${MAX_RESPONSE_BYTES}`);
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
          throw fail(ErrorCode.E_CLOUD_BAD_RESPONSE, `response is over ${MAX_RESPONSE_BYTES} bytes`);
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
    throw fail(ErrorCode.E_CLOUD_BAD_RESPONSE, `response is not JSON (${text.length} bytes)`, err);
  }
}

/** `choices[0].message.content` of a non-streamed chat completion. */
export function parseCompletionContent(json: unknown): string {
  const j = json as { choices?: { message?: { content?: unknown } }[] } | null;
  const content = j !== null && typeof j === 'object' ? j.choices?.[0]?.message?.content : undefined;
  if (typeof content !== 'string') {
    throw fail(ErrorCode.E_CLOUD_BAD_RESPONSE, 'chat completion has no message content');
  }
  return content;
}

export function parseTranscription(json: unknown): Omit<CloudTranscription, 'latencyMs'> {
  const j = json as {
    text?: unknown;
    language?: unknown;
    duration?: unknown;
    segments?: { avg_logprob?: unknown; no_speech_prob?: unknown }[];
  };
  if (j === null || typeof j !== 'object' || typeof j.text !== 'string') {
    throw fail(ErrorCode.E_CLOUD_BAD_RESPONSE, 'transcription response has no text');
  }
  if (j.text.length > MAX_TRANSCRIPT_CHARS) {
    throw fail(
      ErrorCode.E_CLOUD_BAD_RESPONSE,
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
