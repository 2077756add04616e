/**
 * The cloud LLM is an untrusted caller. Whatever reaches it can be steered by anyone within
 * earshot of the microphone (prompt injection through speech), by the provider, or by whoever
 * sits on the connection, so its tool calls pass a policy of their own before the registry runs
 * them (`agents.cloud_tools` in the config):
 *
 * 1. Only tools in `allow` are offered to it and run; the default is none.
 * 2. `mqtt.publish` only to topics in `publish_allow` (and, as for every caller, `mqtt.publish_allow`),
 *    and never retained: a retained message would act again on every reconnect of the device it
 *    targets, long after the utterance.
 * 3. The same call twice in one answer runs once.
 * 4. At most `max_calls_per_utterance` calls per answer and `max_calls_per_minute` over any minute
 *    (a sliding window holding at most that many timestamps); calls past either are refused.
 * 5. Every call, run or refused, is appended to the audit log first; when that append fails the
 *    call is refused (fail closed, as the egress does).
 *
 * Refusals are counted per code (`E_CLOUD_TOOL_NOT_ALLOWED`, `E_CLOUD_TOOL_RETAIN`,
 * `E_CLOUD_TOOL_TOPIC`, `E_CLOUD_TOOL_DUPLICATE`, `E_CLOUD_TOOL_RATE`, `E_TOOL_UNKNOWN`,
 * `E_AUDIT`) and logged without the cloud's text.
 */
import { createHash } from 'node:crypto';
import { patternMatches } from '../bus/topic-match.js';
import { ErrorCode, toError } from '../errors.js';
import type { Logger } from '../log.js';
import type { ToolCallAuditEntry } from '../router/audit-log.js';
import { canonicalJson } from '../util/canonical-json.js';
import type { Clock } from '../util/clock.js';
import { printable } from '../util/printable.js';
import type { FunctionDefinition, ToolRegistry } from './tools.js';

/** `agents.cloud_tools`. */
export interface CloudToolPolicy {
  readonly allow: readonly string[];
  readonly publish_allow: readonly string[];
  readonly max_calls_per_utterance: number;
  readonly max_calls_per_minute: number;
}

/** Appends one entry to the audit log (AuditLog.append). */
export type CloudToolAudit = (entry: ToolCallAuditEntry) => Promise<unknown>;

/** A tool call as the cloud asked for it: OpenAI function name and parsed arguments. */
export interface RequestedCall {
  readonly name: string;
  readonly arguments: unknown;
}

export interface CallOutcome {
  readonly tool: string;
  readonly ok: boolean;
  readonly code?: ErrorCode;
  /** What the tool returned (goes back to the model in the conversation loop). */
  readonly result?: unknown;
}

export interface CloudToolGateOptions {
  readonly policy: CloudToolPolicy;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Absent: nothing is recorded (tests of the policy alone). */
  readonly audit?: CloudToolAudit;
}

const WINDOW_MS = 60_000;
const PUBLISH = 'mqtt.publish';

export class CloudToolGate {
  /** Calls by outcome: `ok`, a refusal code, or the registry's failure code. Bounded by the codes. */
  readonly outcomes = new Map<string, number>();
  /** Monotonic times of the calls run in the last minute; at most max_calls_per_minute entries. */
  private readonly recent: number[] = [];

  constructor(private readonly o: CloudToolGateOptions) {}

  /** What the cloud is offered: the allowed tools only; `mqtt.publish` without `retain`. */
  definitions(registry: ToolRegistry): FunctionDefinition[] {
    const allow = new Set(this.o.policy.allow);
    return registry
      .asFunctionDefinitions()
      .filter((d) => allow.has(registry.fromFunctionName(d.function.name) ?? ''))
      .map((d) => (registry.fromFunctionName(d.function.name) === PUBLISH ? this.publishDefinition(d) : d));
  }

  /** Check, audit and run one answer's calls in order (the registry runs them as `cloud` calls). */
  async run(
    registry: ToolRegistry,
    calls: readonly RequestedCall[],
    ctx: {
      readonly signal: AbortSignal;
      readonly correlationId: string;
      /** Calls already run for this utterance in earlier rounds (max_calls_per_utterance spans them). */
      readonly alreadyRan?: number;
      /** Calls seen in earlier rounds of this utterance: a call repeated across rounds is a duplicate too. */
      readonly seen?: Set<string>;
    },
  ): Promise<CallOutcome[]> {
    const seen = ctx.seen ?? new Set<string>();
    const out: CallOutcome[] = [];
    let ran = ctx.alreadyRan ?? 0;
    for (const call of calls) {
      ctx.signal.throwIfAborted();
      const tool = registry.fromFunctionName(call.name);
      const name = tool ?? printable(call.name, 64);
      const key = `${name} ${canonicalJson(call.arguments)}`;
      const code =
        tool === undefined
          ? ErrorCode.E_TOOL_UNKNOWN
          : this.refusal(tool, call.arguments, seen.has(key), ran);
      seen.add(key);
      const entry: ToolCallAuditEntry = {
        kind: 'tool_call',
        tsMs: this.o.clock.now(),
        tool: name,
        outcome: code === undefined ? 'allowed' : 'refused',
        ...(code === undefined ? {} : { code }),
        ...(tool === PUBLISH ? publishTarget(call.arguments) : {}),
        correlationId: ctx.correlationId,
        argsRef: `sha256:${createHash('sha256').update(canonicalJson(call.arguments)).digest('hex')}`,
      };
      let refused = code;
      try {
        await this.o.audit?.(entry);
      } catch (err) {
        this.o.logger.error({ err: toError(err).message }, 'cloud tool call not audited: refused');
        refused = ErrorCode.E_AUDIT;
      }
      if (refused !== undefined || tool === undefined) {
        const c = refused ?? ErrorCode.E_TOOL_UNKNOWN;
        this.count(c);
        this.o.logger.warn(
          { tool: name, code: c, correlationId: ctx.correlationId },
          'cloud tool call refused',
        );
        out.push({ tool: name, ok: false, code: c });
        continue;
      }
      ran++;
      this.recent.push(this.o.clock.monotonicMs());
      const r = await registry.execute(tool, call.arguments, {
        signal: ctx.signal,
        external: true,
        origin: 'cloud',
        source: 'agent.voice.cloud',
      });
      this.count(r.ok ? 'ok' : (r.error?.code ?? ErrorCode.E_TOOL_FAILED));
      out.push({ tool, ok: r.ok, ...(r.error ? { code: r.error.code } : { result: r.result }) });
    }
    return out;
  }

  /** Why this call may not run, or undefined when it may. */
  private refusal(
    tool: string,
    args: unknown,
    duplicate: boolean,
    ranThisAnswer: number,
  ): ErrorCode | undefined {
    const p = this.o.policy;
    if (!p.allow.includes(tool)) return ErrorCode.E_CLOUD_TOOL_NOT_ALLOWED;
    if (duplicate) return ErrorCode.E_CLOUD_TOOL_DUPLICATE;
    if (tool === PUBLISH) {
      const a = (args ?? {}) as { topic?: unknown; retain?: unknown };
      if (a.retain === true) return ErrorCode.E_CLOUD_TOOL_RETAIN;
      if (
        typeof a.topic !== 'string' ||
        !p.publish_allow.some((pattern) => patternMatches(pattern, a.topic as string))
      )
        return ErrorCode.E_CLOUD_TOOL_TOPIC;
    }
    if (ranThisAnswer >= p.max_calls_per_utterance) return ErrorCode.E_CLOUD_TOOL_RATE;
    const now = this.o.clock.monotonicMs();
    while (this.recent.length > 0 && now - this.recent[0]! >= WINDOW_MS) this.recent.shift();
    if (this.recent.length >= p.max_calls_per_minute) return ErrorCode.E_CLOUD_TOOL_RATE;
    return undefined;
  }

  private count(code: string): void {
    this.outcomes.set(code, (this.outcomes.get(code) ?? 0) + 1);
  }

  private publishDefinition(d: FunctionDefinition): FunctionDefinition {
    const params = d.function.parameters as { properties?: Record<string, unknown> };
    const { retain: _retain, ...properties } = params.properties ?? {};
    const topics = this.o.policy.publish_allow.join(', ') || 'none';
    return {
      type: 'function',
      function: {
        name: d.function.name,
        description: `${d.function.description} Allowed topics: ${topics}. Never retained.`,
        parameters: { ...d.function.parameters, properties },
      },
    };
  }
}

function publishTarget(args: unknown): { target?: string } {
  const topic = (args as { topic?: unknown } | null)?.topic;
  return typeof topic === 'string' ? { target: printable(topic, 256) } : {};
}
