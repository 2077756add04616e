/**
 * The tool registry (README, "Agents and tools"): the only way agents cause side effects. A tool
 * declares a JSON schema for its arguments, compiled once at registration (validation on the hot
 * path is the compiled function); every call runs under a time limit and an AbortSignal, and its
 * outcome, success or failure, is published as `tool/<name>/result`. execute() never throws: a bad
 * call is a failed ToolResult with a stable code, counted, and the caller carries on.
 *
 * Started, the registry also answers `rpc/tool/call` (the MQTT `cmd/tool/<name>` command): a
 * caller from outside the device, so internal tools are refused, and a failed call is answered
 * with its error (its code reaches `cmd/result`).
 */
import { Ajv, type ValidateFunction } from 'ajv';
import type { ToolCallRequest } from '../bus/rpc.js';
import type { ToolResult } from '../bus/topics.js';
import type { EventBus, Subscription } from '../bus/types.js';
import type { Component } from '../component.js';
import { EdgeloomError, ErrorCode, isEdgeloomError, toError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Clock } from '../util/clock.js';
import { printable } from '../util/printable.js';

/** JSON schema of a tool's arguments (an object schema). */
export type JsonSchema = Readonly<Record<string, unknown>>;

/**
 * Who asked for a call: the device's own agents and config (`local`), an MQTT command
 * (`command`), or the cloud LLM (`cloud`, an untrusted caller: daemon/agents/cloud-tools.ts).
 */
export type ToolOrigin = 'local' | 'command' | 'cloud';

export interface ToolContext {
  /** Aborted on timeout, on interrupt, or when the registry stops. Tools must stop work on it. */
  readonly signal: AbortSignal;
  readonly origin: ToolOrigin;
}

export interface ToolDefinition<A = unknown> {
  /** Dotted name, e.g. `mqtt.publish`; `[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*`. */
  readonly name: string;
  /** Shown to the cloud LLM: say what it does and when to use it. */
  readonly description: string;
  readonly parameters: JsonSchema;
  /** Time limit, ms; default the registry's (config agents.tool_timeout_ms). */
  readonly timeoutMs?: number;
  /** Not offered to the cloud LLM and refused when it asks (used by agents themselves). */
  readonly internal?: boolean;
  execute(args: A, ctx: ToolContext): Promise<unknown>;
}

export interface ToolRegistryOptions {
  readonly bus: EventBus;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Default time limit per call, ms. */
  readonly defaultTimeoutMs: number;
}

export interface ExecuteOptions {
  readonly signal?: AbortSignal;
  /** Envelope source of the result event (the calling agent). */
  readonly source?: string;
  /** Refuse `internal` tools (calls requested by the cloud LLM). */
  readonly external?: boolean;
  /** Who asked (default `local`); tools may treat callers differently (the `log` tool does). */
  readonly origin?: ToolOrigin;
}

/** OpenAI chat-completions `tools` entry. */
export interface FunctionDefinition {
  readonly type: 'function';
  readonly function: { readonly name: string; readonly description: string; readonly parameters: JsonSchema };
}

const NAME = /^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$/;

interface Entry {
  readonly tool: ToolDefinition;
  readonly validate: ValidateFunction;
}

export class ToolRegistry implements Component {
  readonly name = 'agents.tools';
  private readonly tools = new Map<string, Entry>();
  private subscription: Subscription | undefined;
  /** OpenAI function name (dots → underscores) → tool name. */
  private readonly byFunctionName = new Map<string, string>();
  private readonly ajv = new Ajv({ allErrors: true, strict: false });
  /** Calls by outcome code (`ok` for successes). */
  readonly outcomes = new Map<string, number>();

  constructor(private readonly o: ToolRegistryOptions) {}

  /** Answer tool calls from outside the device (`rpc/tool/call`). */
  async start(): Promise<void> {
    this.subscription ??= this.o.bus.respond(
      'rpc/tool/call',
      (req, signal) => this.call(req.payload, signal),
      {
        component: this.name,
      },
    );
  }

  async stop(): Promise<void> {
    const sub = this.subscription;
    this.subscription = undefined;
    await sub?.unsubscribe();
  }

  /** Add a tool; throws E_TOOL_INVALID on a bad name, a duplicate or a schema Ajv cannot compile. */
  register<A>(tool: ToolDefinition<A>): void {
    const where = `tool ${tool.name}`;
    if (!NAME.test(tool.name))
      throw new EdgeloomError(ErrorCode.E_TOOL_INVALID, `invalid tool name '${tool.name}'`, { where });
    const fn = toFunctionName(tool.name);
    if (this.tools.has(tool.name) || this.byFunctionName.has(fn)) {
      throw new EdgeloomError(ErrorCode.E_TOOL_INVALID, `tool '${tool.name}' is already registered`, {
        where,
      });
    }
    let validate: ValidateFunction;
    try {
      validate = this.ajv.compile(tool.parameters);
    } catch (err) {
      throw new EdgeloomError(
        ErrorCode.E_TOOL_INVALID,
        `tool '${tool.name}': bad parameter schema: ${toError(err).message}`,
        {
          where,
          cause: err,
        },
      );
    }
    this.tools.set(tool.name, { tool: tool as ToolDefinition, validate });
    this.byFunctionName.set(fn, tool.name);
  }

  has(name: string): boolean {
    return this.tools.has(name);
  }

  names(): string[] {
    return [...this.tools.keys()];
  }

  /** The tools offered to the cloud LLM, as an OpenAI `tools` array. */
  asFunctionDefinitions(): FunctionDefinition[] {
    const out: FunctionDefinition[] = [];
    for (const { tool } of this.tools.values()) {
      if (tool.internal) continue;
      out.push({
        type: 'function',
        function: {
          name: toFunctionName(tool.name),
          description: tool.description,
          parameters: tool.parameters,
        },
      });
    }
    return out;
  }

  /** Tool name for an OpenAI function name (`mqtt_publish` → `mqtt.publish`); undefined when unknown. */
  fromFunctionName(fn: string): string | undefined {
    return this.byFunctionName.get(fn);
  }

  /** Run a tool: validate, time-limit, publish the result. Never throws. */
  async execute(name: string, args: unknown, options: ExecuteOptions = {}): Promise<ToolResult> {
    const started = this.o.clock.monotonicMs();
    let result: ToolResult;
    try {
      const value = await this.run(name, args, options);
      result = { tool: name, ok: true, result: value, durationMs: this.o.clock.monotonicMs() - started };
    } catch (err) {
      const e = toError(err);
      const code = isEdgeloomError(e) ? e.code : ErrorCode.E_TOOL_FAILED;
      result = {
        tool: name,
        ok: false,
        error: { code, message: e.message },
        durationMs: this.o.clock.monotonicMs() - started,
      };
      // The message may quote the caller's arguments (a topic the cloud chose): no control characters.
      this.o.logger.warn({ tool: printable(name, 64), code, err: printable(e.message) }, 'tool call failed');
    }
    const outcome = result.ok ? 'ok' : result.error!.code;
    this.outcomes.set(outcome, (this.outcomes.get(outcome) ?? 0) + 1);
    try {
      await this.o.bus.publish(`tool/${name}/result`, result, { source: options.source ?? 'agents.tools' });
    } catch (err) {
      this.o.logger.warn({ tool: name, err: toError(err).message }, 'tool result not published');
    }
    return result;
  }

  /** One call from outside: internal tools refused, a failure thrown with its code. */
  private async call(req: ToolCallRequest, signal: AbortSignal): Promise<unknown> {
    const r = await this.execute(req.tool, req.args, {
      signal,
      source: `${req.origin.channel}.cmd`,
      external: true,
      origin: 'command',
    });
    if (!r.ok) {
      throw new EdgeloomError(r.error?.code ?? ErrorCode.E_TOOL_FAILED, r.error?.message ?? 'tool failed', {
        where: req.tool,
      });
    }
    return r.result ?? null;
  }

  private async run(name: string, args: unknown, options: ExecuteOptions): Promise<unknown> {
    const where = `tool ${name}`;
    const entry = this.tools.get(name);
    if (entry === undefined || (options.external && entry.tool.internal)) {
      throw new EdgeloomError(ErrorCode.E_TOOL_UNKNOWN, `no tool named '${name}'`, { where });
    }
    if (!entry.validate(args)) {
      const detail = (entry.validate.errors ?? [])
        .map((e) => `${e.instancePath || '/'} ${e.message ?? 'is invalid'}`)
        .join('; ');
      throw new EdgeloomError(ErrorCode.E_TOOL_INVALID_ARGS, `tool '${name}': ${detail}`, { where });
    }
    if (options.signal?.aborted) throw aborted(name);
    const timeoutMs = entry.tool.timeoutMs ?? this.o.defaultTimeoutMs;
    const controller = new AbortController();
    let rejectRace: (err: Error) => void = () => {};
    const race = new Promise<never>((_, reject) => {
      rejectRace = reject;
    });
    const onAbort = (): void => {
      const err = aborted(name);
      controller.abort(err);
      rejectRace(err);
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    const timer = this.o.clock.setTimeout(() => {
      const err = new EdgeloomError(
        ErrorCode.E_TOOL_TIMEOUT,
        `tool '${name}' took longer than ${timeoutMs} ms`,
        {
          where,
        },
      );
      controller.abort(err);
      rejectRace(err);
    }, timeoutMs);
    try {
      // The race makes the limit hold even for a tool that ignores its signal.
      const ctx: ToolContext = { signal: controller.signal, origin: options.origin ?? 'local' };
      return await Promise.race([entry.tool.execute(args, ctx), race]);
    } finally {
      timer.cancel();
      options.signal?.removeEventListener('abort', onAbort);
      race.catch(() => {});
    }
  }
}

function aborted(name: string): EdgeloomError {
  return new EdgeloomError(ErrorCode.E_TOOL_ABORTED, `tool '${name}' was cancelled`, {
    where: `tool ${name}`,
  });
}

/** `mqtt.publish` → `mqtt_publish` (OpenAI function names allow [a-zA-Z0-9_-] only). */
export function toFunctionName(toolName: string): string {
  return toolName.replaceAll('.', '_');
}
