/**
 * A plugin's tools in the registry (README, "Agents and tools"): `<id>.<tool>`, arguments
 * validated by the schema the hello declared (compiled by the registry; one that does not compile
 * is refused and counted), offered to the cloud LLM and to MQTT commands only with `offer_tools`.
 * Calls cross the protocol as `tool_call`/`tool_result`, at most MAX_PENDING at a time.
 */
import type { ToolRegistry } from '../agents/tools.js';
import { EdgeloomError, ErrorCode, toError } from '../errors.js';
import type { Logger } from '../log.js';
import type { DaemonMessage, ToolSpec } from './protocol.js';

/** Calls awaiting a result; past it a call is refused (a plugin that never answers holds no more). */
export const MAX_PENDING = 64;

interface Pending {
  resolve(v: unknown): void;
  reject(e: Error): void;
}

export class PluginTools {
  private readonly registered = new Set<string>();
  /** Tools the running process declared (a restarted plugin may declare fewer). */
  private offered = new Set<string>();
  private readonly pending = new Map<string, Pending>();
  private nextId = 0;
  /** Calls made, and how they ended: `ok` answered, `failures` refused, failed or cut short. */
  calls = 0;
  ok = 0;
  failures = 0;
  refused = 0;

  constructor(
    private readonly o: {
      readonly id: string;
      readonly registry: ToolRegistry | undefined;
      readonly offer: boolean;
      readonly logger: Logger;
      /** Write to the running process; false when none runs. */
      readonly send: (msg: DaemonMessage) => boolean;
    },
  ) {}

  /** A hello's tools: new ones join the registry, the set callable is replaced. */
  declare(tools: readonly ToolSpec[]): void {
    this.offered = new Set();
    for (const t of tools) {
      const name = `${this.o.id}.${t.name}`;
      if (!this.registered.has(name) && this.o.registry !== undefined) {
        try {
          this.o.registry.register({
            name,
            description: t.description,
            parameters: t.parameters,
            internal: !this.o.offer,
            execute: (args, ctx) => this.call(t.name, args, ctx.signal),
          });
          this.registered.add(name);
        } catch (err) {
          this.refused++;
          this.o.logger.warn({ tool: name, err: toError(err).message }, 'plugin tool refused');
          continue;
        }
      }
      this.offered.add(t.name);
    }
  }

  names(): string[] {
    return [...this.registered];
  }

  /** A `tool_result` line. */
  settle(id: string, ok: boolean, result: unknown, error: string | undefined): void {
    const p = this.pending.get(id);
    if (p === undefined) return;
    this.pending.delete(id);
    if (ok) p.resolve(result ?? null);
    else {
      p.reject(
        new EdgeloomError(ErrorCode.E_PLUGIN_TOOL_FAILED, String(error ?? 'failed').slice(0, 1000), {
          where: `plugin ${this.o.id}`,
        }),
      );
    }
  }

  /** The process went away: every call waiting on it fails. */
  failAll(why: string): void {
    for (const p of this.pending.values()) {
      p.reject(new EdgeloomError(ErrorCode.E_PLUGIN_UNAVAILABLE, why, { where: `plugin ${this.o.id}` }));
    }
    this.pending.clear();
  }

  private call(tool: string, args: unknown, signal: AbortSignal): Promise<unknown> {
    this.calls++;
    return this.exchange(tool, args, signal).then(
      (v) => {
        this.ok++;
        return v;
      },
      (err: unknown) => {
        this.failures++;
        throw err;
      },
    );
  }

  private exchange(tool: string, args: unknown, signal: AbortSignal): Promise<unknown> {
    const where = `plugin ${this.o.id}`;
    if (!this.offered.has(tool))
      return Promise.reject(
        new EdgeloomError(ErrorCode.E_PLUGIN_UNAVAILABLE, `plugin does not offer '${tool}' now`, { where }),
      );
    if (this.pending.size >= MAX_PENDING)
      return Promise.reject(
        new EdgeloomError(ErrorCode.E_PLUGIN_UNAVAILABLE, `${MAX_PENDING} calls already pending`, { where }),
      );
    const id = String(++this.nextId);
    return new Promise<unknown>((resolve, reject) => {
      const onAbort = (): void => {
        this.pending.delete(id);
        reject(toError(signal.reason));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      const done = (): void => signal.removeEventListener('abort', onAbort);
      this.pending.set(id, {
        resolve: (v) => {
          done();
          resolve(v);
        },
        reject: (e) => {
          done();
          reject(e);
        },
      });
      if (!this.o.send({ type: 'tool_call', id, tool, args })) {
        this.pending
          .get(id)
          ?.reject(new EdgeloomError(ErrorCode.E_PLUGIN_UNAVAILABLE, 'plugin is not running', { where }));
        this.pending.delete(id);
      }
    });
  }
}
