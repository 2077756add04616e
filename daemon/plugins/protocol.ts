/**
 * The plugin protocol, version 1 (docs/plugin-protocol.md is the spec): newline-delimited JSON on
 * the plugin's stdin (daemon → plugin) and stdout (plugin → daemon), one object per line, UTF-8.
 * Binary values (a camera frame's JPEG, a block of PCM samples) travel as
 * `{"$b64": "<base64>"}`, with `"$dtype": "int16le"` for samples. This module only parses and
 * encodes: what a plugin may do with a message is decided in capabilities.ts.
 */

export const PROTOCOL_VERSION = 1;

export interface ToolSpec {
  readonly name: string;
  readonly description: string;
  readonly parameters: Readonly<Record<string, unknown>>;
}

export interface HelloMessage {
  readonly type: 'hello';
  readonly name: string;
  readonly version: string;
  readonly subscribe: readonly string[];
  readonly publish: readonly string[];
  readonly tools: readonly ToolSpec[];
  /** It answers `sync` with `synced` (a speed-0 replay then waits for it after each record). */
  readonly sync: boolean;
}

export type PluginMessage =
  | HelloMessage
  | { readonly type: 'publish'; readonly topic: string; readonly payload: Readonly<Record<string, unknown>> }
  | {
      readonly type: 'tool_result';
      readonly id: string;
      readonly ok: boolean;
      readonly result?: unknown;
      readonly error?: string;
    }
  | { readonly type: 'health'; readonly ok: boolean; readonly detail: string }
  | { readonly type: 'synced'; readonly id: string }
  | { readonly type: 'log'; readonly level: 'debug' | 'info' | 'warn' | 'error'; readonly msg: string };

export type DaemonMessage =
  | { readonly type: 'init'; readonly protocol: number; readonly id: string; readonly config: unknown }
  | { readonly type: 'event'; readonly topic: string; readonly ts: number; readonly payload: unknown }
  | { readonly type: 'tool_call'; readonly id: string; readonly tool: string; readonly args: unknown }
  /** Answer `synced` with this id once every earlier line is handled (hello declared `sync`). */
  | { readonly type: 'sync'; readonly id: string }
  | { readonly type: 'shutdown' };

/** Bounds on what a hello may declare (a plugin cannot make the daemon hold unbounded lists). */
export const MAX_DECLARED = 64;
const LOG_LEVELS = new Set(['debug', 'info', 'warn', 'error']);

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const strings = (v: unknown): v is string[] =>
  Array.isArray(v) && v.length <= MAX_DECLARED && v.every((s) => typeof s === 'string');

/** One line from the plugin → a message, or a string saying why it is not one. */
export function parsePluginLine(line: string): PluginMessage | string {
  let m: unknown;
  try {
    m = JSON.parse(line);
  } catch {
    return 'not JSON';
  }
  if (!isObject(m)) return 'not a JSON object';
  switch (m.type) {
    case 'hello': {
      const tools = m.tools ?? [];
      const subscribe = m.subscribe ?? [];
      const publish = m.publish ?? [];
      if (typeof m.name !== 'string' || typeof (m.version ?? '') !== 'string')
        return 'hello: bad name/version';
      if (!strings(subscribe) || !strings(publish))
        return `hello: subscribe/publish must be ≤ ${MAX_DECLARED} strings`;
      if (!Array.isArray(tools) || tools.length > MAX_DECLARED) return 'hello: bad tools';
      for (const t of tools) {
        if (!isObject(t) || typeof t.name !== 'string' || !isObject(t.parameters)) return 'hello: bad tool';
      }
      return {
        type: 'hello',
        name: m.name,
        version: String(m.version ?? ''),
        subscribe,
        publish,
        tools: tools.map((t: Record<string, unknown>) => ({
          name: String(t.name),
          description: typeof t.description === 'string' ? t.description : '',
          parameters: t.parameters as Record<string, unknown>,
        })),
        sync: m.sync === true,
      };
    }
    case 'publish':
      if (typeof m.topic !== 'string') return 'publish: no topic';
      if (!isObject(m.payload)) return 'publish: payload must be a JSON object';
      return { type: 'publish', topic: m.topic, payload: m.payload };
    case 'tool_result':
      if (typeof m.id !== 'string' || typeof m.ok !== 'boolean') return 'tool_result: bad id/ok';
      return {
        type: 'tool_result',
        id: m.id,
        ok: m.ok,
        result: m.result,
        ...(m.error === undefined ? {} : { error: String(m.error) }),
      };
    case 'synced':
      if (typeof m.id !== 'string') return 'synced: bad id';
      return { type: 'synced', id: m.id };
    case 'health':
      if (typeof m.ok !== 'boolean') return 'health: bad ok';
      return { type: 'health', ok: m.ok, detail: typeof m.detail === 'string' ? m.detail : '' };
    case 'log':
      return {
        type: 'log',
        level: (LOG_LEVELS.has(m.level as string) ? m.level : 'info') as 'info',
        msg: typeof m.msg === 'string' ? m.msg : JSON.stringify(m.msg ?? ''),
      };
    default:
      return `unknown message type ${JSON.stringify(String(m.type)).slice(0, 40)}`;
  }
}

/**
 * A bus payload as it goes on the wire: Buffers and typed arrays become `{"$b64"}` objects
 * (`binary: 'encode'`) or are left out (`binary: 'strip'`: a plugin without raw media never
 * receives a byte of a frame or a sample, whatever topic carries it).
 */
export function toWire(value: unknown, binary: 'encode' | 'strip'): unknown {
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) {
    return binary === 'strip' ? undefined : { $b64: Buffer.from(value).toString('base64') };
  }
  if (value instanceof Int16Array) {
    if (binary === 'strip') return undefined;
    const bytes = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    return { $b64: bytes.toString('base64'), $dtype: 'int16le' };
  }
  if (ArrayBuffer.isView(value)) return undefined; // other typed arrays: not part of any topic
  if (Array.isArray(value)) return value.map((v) => toWire(v, binary) ?? null);
  if (isObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      const w = toWire(v, binary);
      if (w !== undefined) out[k] = w;
    }
    return out;
  }
  return value;
}

/** One message as a line. */
export function encodeLine(msg: DaemonMessage): string {
  return `${JSON.stringify(msg)}\n`;
}
