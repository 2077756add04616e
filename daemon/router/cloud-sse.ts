/**
 * Server-sent events as OpenAI-compatible chat streams use them (WHATWG HTML §9.2 "event stream
 * interpretation", reduced to what those APIs send): lines end in LF, CRLF or CR; `data:` lines
 * accumulate into one event, a blank line dispatches it; `:` lines are comments; the payload
 * `[DONE]` ends the stream. Chat chunks are then folded into content text and tool calls, whose
 * `arguments` arrive as string fragments keyed by the tool call's `index`.
 */
import { EdgeloomError, ErrorCode } from '../errors.js';

/** Longest single line accepted, characters; a longer one is a broken or hostile stream. */
export const MAX_SSE_LINE_CHARS = 1 << 20;
/**
 * Characters one chat answer may bring, content and tool calls together (names and arguments).
 * The device asks for one short sentence or a few tool calls; a stream past this is refused
 * (`E_CLOUD_BAD_RESPONSE`) instead of being held in memory and handed to the agents.
 */
export const MAX_CHAT_CHARS = 32 * 1024;
/** Distinct tool calls one answer may stream (their `index` is the cloud's to choose). */
export const MAX_STREAMED_TOOL_CALLS = 32;

/** Yield each event's data; stops after `[DONE]` (or the end of the body). */
export async function* sseEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffer = '';
  let data: string[] = [];
  const lineOf = function* (final: boolean): Generator<string> {
    for (;;) {
      const m = /\r\n|\n|\r/.exec(buffer);
      // A lone trailing CR may be the first half of CRLF: wait for the next chunk.
      if (m === null || (m[0] === '\r' && m.index === buffer.length - 1 && !final)) break;
      yield buffer.slice(0, m.index);
      buffer = buffer.slice(m.index + m[0].length);
    }
    if (buffer.length > MAX_SSE_LINE_CHARS) {
      throw new EdgeloomError(ErrorCode.E_CLOUD_BAD_RESPONSE, 'event stream line too long', {
        where: 'cloud.sse',
      });
    }
  };
  const reader = body.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
      for (const line of lineOf(done)) {
        if (line === '') {
          if (data.length > 0) {
            const payload = data.join('\n');
            data = [];
            if (payload === '[DONE]') return;
            yield payload;
          }
        } else if (line.startsWith('data:')) {
          data.push(line.slice(line.startsWith('data: ') ? 6 : 5));
        }
        // `event:`, `id:`, `retry:` and `:` comments carry nothing a chat stream needs.
      }
      if (done) {
        if (buffer.length > 0 && buffer.startsWith('data:'))
          data.push(buffer.slice(buffer.startsWith('data: ') ? 6 : 5));
        if (data.length > 0 && data.join('\n') !== '[DONE]') yield data.join('\n');
        return;
      }
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
}

export interface ToolCall {
  readonly id: string;
  readonly name: string;
  /** The arguments JSON text as streamed. */
  readonly arguments: string;
}

export interface ChatResult {
  readonly content: string;
  readonly toolCalls: readonly ToolCall[];
  readonly finishReason: string | undefined;
}

const tooLong = (what: string): EdgeloomError =>
  new EdgeloomError(ErrorCode.E_CLOUD_BAD_RESPONSE, `chat answer has ${what}`, { where: 'cloud.chat' });

interface ToolCallDelta {
  index?: number;
  id?: string;
  function?: { name?: string; arguments?: string };
}
interface ChatChunk {
  choices?: {
    delta?: { content?: string | null; tool_calls?: ToolCallDelta[] };
    finish_reason?: string | null;
  }[];
}

/** Folds streamed chat chunks; `push` throws `E_CLOUD_BAD_RESPONSE` on a chunk that is not JSON. */
export class ChatAccumulator {
  private content = '';
  private readonly calls = new Map<number, { id: string; name: string; arguments: string }>();
  private finishReason: string | undefined;
  /** Characters received so far: content, tool names and arguments. */
  private chars = 0;

  /** Returns the content delta of this chunk ('' when none). */
  push(data: string): string {
    let chunk: ChatChunk;
    try {
      chunk = JSON.parse(data) as ChatChunk;
    } catch (err) {
      throw new EdgeloomError(ErrorCode.E_CLOUD_BAD_RESPONSE, 'chat stream chunk is not JSON', {
        where: 'cloud.chat',
        cause: err,
      });
    }
    const choice = chunk.choices?.[0];
    if (choice === undefined) return '';
    if (typeof choice.finish_reason === 'string') this.finishReason = choice.finish_reason;
    for (const d of choice.delta?.tool_calls ?? []) {
      const index = d.index ?? 0;
      const call = this.calls.get(index) ?? { id: '', name: '', arguments: '' };
      if (!this.calls.has(index) && this.calls.size >= MAX_STREAMED_TOOL_CALLS) {
        throw tooLong(`more than ${MAX_STREAMED_TOOL_CALLS} tool calls`);
      }
      if (typeof d.id === 'string') call.id = d.id.slice(0, 256);
      if (typeof d.function?.name === 'string') call.name += d.function.name;
      if (typeof d.function?.arguments === 'string') call.arguments += d.function.arguments;
      this.chars += (d.function?.name?.length ?? 0) + (d.function?.arguments?.length ?? 0);
      this.calls.set(index, call);
    }
    const text = typeof choice.delta?.content === 'string' ? choice.delta.content : '';
    this.content += text;
    this.chars += text.length;
    if (this.chars > MAX_CHAT_CHARS) throw tooLong(`more than ${MAX_CHAT_CHARS} characters`);
    return text;
  }

  result(): ChatResult {
    const toolCalls = [...this.calls.entries()].sort((a, b) => a[0] - b[0]).map(([, c]) => ({ ...c }));
    return { content: this.content, toolCalls, finishReason: this.finishReason };
  }
}
