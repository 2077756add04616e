/**
 * MQTT commands under `<base>/cmd/#` → RPCs (the table: command-table.ts), answered on
 * `<base>/cmd/result`.
 *
 * Every payload may carry `"id": "<string>"`, echoed in the result for correlation (stripped
 * from tool arguments). Every request also carries its `origin`: the channel (`mqtt`, or `cli`
 * for the local control socket) and whether the sender proved who it is — a signed payload
 * (command-auth.ts; a bad signature is refused, never treated as unsigned). Responders decide
 * what needs proof: loosening a privacy tier, `forget`, a pause of a safety sensor.
 * Every command is audited (the first AUDIT_PER_MINUTE a minute one by one, the rest counted in a
 * summary record, so a flood cannot push real records out of the bounded log). The component
 * owning the thing answers through `bus.respond` (the sensor's source, the privacy control, the
 * forget service, the tool registry); its return value is the result, an EdgeloomError it throws
 * keeps its code. The result: `{ ts, command, id?, ok: true, result }` or
 * `{ ts, command, id?, ok: false, error: { code, message } }`.
 *
 * Bad input never crashes and always gets an answer (except past the rate bound): bad JSON
 * (`E_CMD_BAD_JSON`), unknown command (`E_CMD_UNKNOWN`), schema failure (`E_CMD_INVALID`), payload
 * over 64 KiB (`E_CMD_TOO_LARGE`), nobody serving the RPC (`E_CMD_NO_RESPONDER`; a sensor the
 * daemon lacks: `E_CMD_UNKNOWN_SENSOR`), no answer in time (`E_CMD_TIMEOUT`), too many commands pending (`E_CMD_BUSY`). Past
 * `maxPerSecond` commands are dropped without an answer and counted (a flood must not turn into
 * a flood of results).
 */
import { Ajv2020, type AnySchemaObject, type ValidateFunction } from 'ajv/dist/2020.js';
import type { CommandOrigin } from '../bus/rpc.js';
import type { EventBus } from '../bus/types.js';
import { EdgeloomError, ErrorCode, isEdgeloomError, toError } from '../errors.js';
import type { Logger } from '../log.js';
import { AuditBudget } from '../router/audit-budget.js';
import type { AuditRecordInput } from '../router/audit-log.js';
import type { Clock } from '../util/clock.js';
import { CommandAuth } from './command-auth.js';
import { checkResponder, requestCommand } from './command-rpc.js';
import {
  COMMANDS,
  type Command,
  type CommandArgs,
  type CommandKind,
  commandFor,
  type ParsedCommand,
  parseCommandTopic,
  type WithId,
} from './command-table.js';
import type { MqttMessage } from './mqtt-contract.js';

export interface CommandStats {
  readonly received: number;
  readonly succeeded: number;
  readonly failed: number;
  /** Dropped past the rate bound, without an answer. */
  readonly rateLimited: number;
  readonly byCode: Readonly<Record<string, number>>;
}

export interface CommandHandlerOptions {
  readonly bus: EventBus;
  readonly baseTopic: string;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Commands admitted per second (token bucket, burst of the same size); the rest are dropped. */
  readonly maxPerSecond: number;
  /** How long to wait for the responder, ms. */
  readonly requestTimeoutMs: number;
  /** Commands waiting for an answer at once; past it the new one gets `E_CMD_BUSY`. Default 32. */
  readonly maxPending?: number;
  /** Publish a result message (topic relative to the base). */
  readonly reply: (message: MqttMessage) => Promise<void>;
  /** Verifies signed payloads; absent: every signed payload is refused (`E_CMD_AUTH`). */
  readonly auth?: CommandAuth;
  /** Records one audit record per command (see the module comment). */
  readonly audit?: (record: AuditRecordInput) => Promise<unknown>;
}

/** Commands audited one by one per minute; past it they are counted into one summary record. */
export const AUDIT_PER_MINUTE = 120;

const MAX_PAYLOAD_BYTES = 64 * 1024;

/** Each command's compiled schema: a payload that passes is that command's argument type. */
type Validators = { readonly [K in CommandKind]: ValidateFunction<CommandArgs[K] & WithId> };

export class CommandHandler {
  private readonly prefix: string;
  private readonly validators: Validators;
  private tokens: number;
  private lastRefillMs: number;
  private pending = 0;
  private counters = { received: 0, succeeded: 0, failed: 0, rateLimited: 0 };
  private readonly byCode: Record<string, number> = {};
  /** Audit records, bounded against a flood (audit-budget.ts). */
  private readonly auditBudget: AuditBudget | undefined;

  constructor(private readonly options: CommandHandlerOptions) {
    this.prefix = `${options.baseTopic}/cmd/`;
    // Compiled once here, never on the message path.
    const ajv = new Ajv2020({ allErrors: false, strict: true });
    // The one cast from schema to type: ObjectSchema<A> (command-table.ts) makes the schema list A's fields.
    const compile = <K extends CommandKind>(kind: K) =>
      ajv.compile<CommandArgs[K] & WithId>(COMMANDS[kind].schema as AnySchemaObject);
    this.validators = {
      sensorPause: compile('sensorPause'),
      sensorResume: compile('sensorResume'),
      privacy: compile('privacy'),
      tool: compile('tool'),
      forget: compile('forget'),
      restart: compile('restart'),
      voiceListen: compile('voiceListen'),
    };
    const audit = options.audit;
    this.auditBudget =
      audit === undefined
        ? undefined
        : new AuditBudget({
            append: audit,
            perMinute: AUDIT_PER_MINUTE,
            now: () => options.clock.now(),
            summary: (byOutcome, commands) => ({
              kind: 'command',
              outcome: 'summary',
              channel: 'mqtt',
              commands,
              by_outcome: byOutcome,
            }),
            onError: (err) => options.logger.warn({ err: toError(err).message }, 'commands: audit failed'),
          });
    this.tokens = options.maxPerSecond;
    this.lastRefillMs = options.clock.monotonicMs();
  }

  /** Handle one incoming MQTT message; never throws. */
  handle(topic: string, payload: Buffer): void {
    if (!topic.startsWith(this.prefix)) return;
    const command = topic.slice(this.prefix.length);
    if (command === 'result') return; // our own answers, echoed by the cmd/# subscription
    if (!this.admit()) {
      this.counters.rateLimited++;
      if (this.counters.rateLimited % 100 === 1) {
        this.options.logger.warn({ dropped: this.counters.rateLimited }, 'commands: rate limit, dropping');
      }
      return;
    }
    this.counters.received++;
    this.run(command, payload).catch((err: unknown) => {
      this.options.logger.error({ err: toError(err).message, command }, 'commands: reply failed');
    });
  }

  stats(): CommandStats {
    return { ...this.counters, byCode: { ...this.byCode } };
  }

  /** Write the summary of commands past the audit bound (at stop, and when a new minute starts). */
  /** Write the summary of commands past the audit bound (at stop). */
  flushAudit(): void {
    this.auditBudget?.flush();
  }

  private auditCommand(
    command: string,
    outcome: string,
    authenticated: boolean,
    id: string | undefined,
  ): void {
    this.auditBudget?.record({
      kind: 'command',
      outcome,
      channel: 'mqtt',
      command,
      authenticated,
      ...(id === undefined ? {} : { id }),
    });
  }

  private async run(command: string, payload: Buffer): Promise<void> {
    let id: string | undefined;
    let authenticated = false;
    try {
      const parsed = parseCommandTopic(command);
      if (parsed === undefined)
        throw new EdgeloomError(ErrorCode.E_CMD_UNKNOWN, `unknown command ${command}`, { where: command });
      let body = this.parseBody(command, payload);
      if (typeof body.id === 'string') id = body.id;
      if (CommandAuth.isSigned(body)) {
        const auth = this.options.auth ?? new CommandAuth({ key: '', maxSkewMs: 0, now: () => 0 });
        body = auth.verify(`cmd/${command}`, body);
        authenticated = true;
      }
      const rpc = this.check(command, parsed, body, { channel: 'mqtt', authenticated });
      const result = await this.ask(command, parsed.kind, rpc);
      this.counters.succeeded++;
      this.auditCommand(command, 'ok', authenticated, id);
      await this.reply(command, id, { ok: true, result: result === undefined ? null : result });
    } catch (err) {
      const code = isEdgeloomError(err) ? err.code : ErrorCode.E_CMD_FAILED;
      this.counters.failed++;
      this.byCode[code] = (this.byCode[code] ?? 0) + 1;
      this.auditCommand(command, code, authenticated, id);
      this.options.logger.info({ command, code, err: toError(err).message }, 'commands: failed');
      await this.reply(command, id, { ok: false, error: { code, message: toError(err).message } });
    }
  }

  private parseBody(command: string, payload: Buffer): Record<string, unknown> {
    if (payload.length > MAX_PAYLOAD_BYTES) {
      throw new EdgeloomError(
        ErrorCode.E_CMD_TOO_LARGE,
        `payload is ${payload.length} bytes, max ${MAX_PAYLOAD_BYTES}`,
        {
          where: command,
        },
      );
    }
    const text = payload.toString('utf8').trim();
    if (text === '') return {};
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new EdgeloomError(ErrorCode.E_CMD_BAD_JSON, `payload is not JSON: ${(err as Error).message}`, {
        where: command,
      });
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new EdgeloomError(ErrorCode.E_CMD_INVALID, 'payload must be a JSON object', { where: command });
    }
    return value as Record<string, unknown>;
  }

  /** The payload against its command's schema; what passes becomes the command's RPC. */
  private check<K extends CommandKind>(
    command: string,
    parsed: ParsedCommand & { readonly kind: K },
    body: Record<string, unknown>,
    origin: CommandOrigin,
  ): Command {
    const validate = this.validators[parsed.kind];
    if (!validate(body)) {
      const e = validate.errors?.[0];
      const where =
        e?.instancePath === '' || e === undefined
          ? 'payload'
          : `payload${e.instancePath.replaceAll('/', '.')}`;
      throw new EdgeloomError(
        ErrorCode.E_CMD_INVALID,
        `${where} ${e?.message ?? 'is invalid'}${showAllowed(e?.params)}`,
        { where: command },
      );
    }
    return commandFor(parsed.kind, body, parsed.target ?? '', origin);
  }

  private async ask(command: string, kind: CommandKind, rpc: Command): Promise<unknown> {
    const { bus } = this.options;
    checkResponder(bus, kind, rpc, command);
    if (this.pending >= (this.options.maxPending ?? 32)) {
      throw new EdgeloomError(ErrorCode.E_CMD_BUSY, 'too many commands waiting for an answer', {
        where: command,
      });
    }
    this.pending++;
    try {
      return await requestCommand(bus, rpc, {
        timeoutMs: this.options.requestTimeoutMs,
        source: 'actions.mqtt.commands',
      });
    } catch (err) {
      if (isEdgeloomError(err, ErrorCode.E_BUS_TIMEOUT)) {
        throw new EdgeloomError(
          ErrorCode.E_CMD_TIMEOUT,
          `no answer from ${rpc.rpc} within ${this.options.requestTimeoutMs} ms`,
          {
            where: command,
          },
        );
      }
      throw err;
    } finally {
      this.pending--;
    }
  }

  private reply(command: string, id: string | undefined, outcome: Record<string, unknown>): Promise<void> {
    return this.options.reply({
      topic: 'cmd/result',
      qos: 1,
      retain: false,
      payload: { ts: this.options.clock.now(), command, ...(id === undefined ? {} : { id }), ...outcome },
    });
  }

  /** Token bucket on the monotonic clock. */
  private admit(): boolean {
    const { maxPerSecond, clock } = this.options;
    const now = clock.monotonicMs();
    this.tokens = Math.min(maxPerSecond, this.tokens + ((now - this.lastRefillMs) / 1000) * maxPerSecond);
    this.lastRefillMs = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}

function showAllowed(params: unknown): string {
  const allowed = (params as { allowedValues?: unknown[] } | undefined)?.allowedValues;
  return Array.isArray(allowed) ? ` (one of ${allowed.join(', ')})` : '';
}
