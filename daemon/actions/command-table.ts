/**
 * The MQTT commands: which topic under `<base>/cmd/` is which command, the schema of its payload,
 * and the RPC it becomes (commands.ts receives, checks and answers them; README, "Commands"):
 *
 * | MQTT topic (relative)      | payload (JSON)                                   | RPC (bus/rpc.ts)          | answered by            |
 * |----------------------------|--------------------------------------------------|---------------------------|------------------------|
 * | `cmd/sensor/<id>/pause`    | `{ "duration_s"?: number, "safety_override"?: boolean }` | `rpc/sensor/<id>/pause`  | the sensor's source    |
 * | `cmd/sensor/<id>/resume`   | `{}` or empty                                    | `rpc/sensor/<id>/resume`  | the sensor's source    |
 * | `cmd/privacy`              | `{ "tier": PrivacyTier, "scope"?: string }`      | `rpc/privacy/set`         | the privacy control    |
 * | `cmd/tool/<name>`          | the tool's arguments object (or empty)           | `rpc/tool/call`           | the tool registry      |
 * | `cmd/forget`               | `{ "dry_run"?: boolean }` or empty               | `rpc/forget`              | the forget service     |
 * | `cmd/restart`              | `{}` or empty                                    | `rpc/system/restart`      | the restart responder  |
 * | `cmd/voice/listen`         | `{ "seconds"?: number }` or empty                | `rpc/voice/listen`        | push-to-talk           |
 *
 * One type from parse to apply (as mini-redis's `Command::from_frame` → `apply`): a payload that
 * passes a row's schema *is* that row's argument type (the schema lists exactly the type's
 * fields, checked at compile time), the row turns it into the RPC's request type, and the
 * responder receives that same type. A field the schema admits cannot be dropped on the way.
 */
import {
  type CommandOrigin,
  type ForgetArgs,
  type PrivacyArgs,
  type RequestOf,
  type RpcTopic,
  type SensorPauseArgs,
  VOICE_LISTEN_MAX_S,
  type VoiceListenArgs,
} from '../bus/rpc.js';

/** A command after parsing: the RPC it asks, with that RPC's request type. */
export type Command<T extends RpcTopic = RpcTopic> = {
  [K in T]: { readonly rpc: K; readonly request: RequestOf<K> };
}[T];

/** The argument type of each command (its payload without the correlation `id`). */
export interface CommandArgs {
  readonly sensorPause: SensorPauseArgs;
  readonly sensorResume: Readonly<Record<never, never>>;
  readonly privacy: PrivacyArgs;
  readonly tool: Readonly<Record<string, unknown>>;
  readonly forget: ForgetArgs;
  readonly restart: Readonly<Record<never, never>>;
  readonly voiceListen: VoiceListenArgs;
}
export type CommandKind = keyof CommandArgs;

/** Every payload may carry `"id"`, echoed in the result. */
export interface WithId {
  readonly id?: string;
}

/**
 * A JSON Schema for an object of type A: one property schema per field of A (a field A has and
 * the schema lacks, or the reverse, is a compile error), and `required` lists only fields A
 * requires.
 */
export interface ObjectSchema<A> {
  readonly type: 'object';
  readonly properties: { readonly [K in keyof (A & WithId)]-?: Readonly<Record<string, unknown>> };
  readonly required?: readonly RequiredKeys<A>[];
  readonly additionalProperties: boolean;
}
type RequiredKeys<A> = { [K in keyof A]-?: Record<never, never> extends Pick<A, K> ? never : K }[keyof A];

export interface CommandRow<A> {
  readonly schema: ObjectSchema<A>;
  /** The RPC the checked arguments become; `target` is the topic's `<id>` or `<name>`. */
  readonly toRpc: (args: A, target: string, origin: CommandOrigin) => Command;
  /**
   * The family of RPC topics its targets answer on (`rpc/sensor/+/pause`): when this target has
   * no responder but others do, the target is unknown (`E_CMD_UNKNOWN_SENSOR`, naming the known).
   */
  readonly targets?: { readonly pattern: string; readonly level: number };
}

const ID = { type: 'string', maxLength: 64 };
const TIERS = ['public', 'sensitive', 'private', 'local_only'];
const SENSOR_TARGETS = { level: 2 } as const;

/** The table. */
export const COMMANDS: { readonly [K in CommandKind]: CommandRow<CommandArgs[K]> } = {
  sensorPause: {
    schema: {
      type: 'object',
      properties: {
        id: ID,
        duration_s: { type: 'number', exclusiveMinimum: 0, maximum: 604_800 },
        safety_override: { type: 'boolean' },
      },
      additionalProperties: false,
    },
    toRpc: (args, sensor, origin) => ({ rpc: `rpc/sensor/${sensor}/pause`, request: { ...args, origin } }),
    targets: { pattern: 'rpc/sensor/+/pause', ...SENSOR_TARGETS },
  },
  sensorResume: {
    schema: { type: 'object', properties: { id: ID }, additionalProperties: false },
    toRpc: (_args, sensor, origin) => ({ rpc: `rpc/sensor/${sensor}/resume`, request: { origin } }),
    targets: { pattern: 'rpc/sensor/+/resume', ...SENSOR_TARGETS },
  },
  privacy: {
    schema: {
      type: 'object',
      required: ['tier'],
      properties: { id: ID, tier: { enum: TIERS }, scope: { type: 'string', minLength: 1, maxLength: 256 } },
      additionalProperties: false,
    },
    toRpc: (args, _target, origin) => ({ rpc: 'rpc/privacy/set', request: { ...args, origin } }),
  },
  tool: {
    schema: { type: 'object', properties: { id: ID }, additionalProperties: true },
    toRpc: (args, tool, origin) => ({ rpc: 'rpc/tool/call', request: { tool, args, origin } }),
  },
  forget: {
    schema: {
      type: 'object',
      properties: { id: ID, dry_run: { type: 'boolean' } },
      additionalProperties: false,
    },
    toRpc: (args, _target, origin) => ({ rpc: 'rpc/forget', request: { ...args, origin } }),
  },
  restart: {
    schema: { type: 'object', properties: { id: ID }, additionalProperties: false },
    toRpc: (_args, _target, origin) => ({ rpc: 'rpc/system/restart', request: { origin } }),
  },
  voiceListen: {
    schema: {
      type: 'object',
      properties: { id: ID, seconds: { type: 'number', exclusiveMinimum: 0, maximum: VOICE_LISTEN_MAX_S } },
      additionalProperties: false,
    },
    toRpc: (args, _target, origin) => ({ rpc: 'rpc/voice/listen', request: { ...args, origin } }),
  },
};

export interface ParsedCommand {
  readonly kind: CommandKind;
  /** The `<name>` part: a sensor id or a tool name. */
  readonly target?: string;
}

const nameRe = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** `sensor/cam0/pause` → kind and target, or undefined for an unknown command. */
export function parseCommandTopic(rest: string): ParsedCommand | undefined {
  const parts = rest.split('/');
  if (parts.length === 1 && parts[0] === 'privacy') return { kind: 'privacy' };
  if (parts.length === 1 && parts[0] === 'forget') return { kind: 'forget' };
  if (parts.length === 1 && parts[0] === 'restart') return { kind: 'restart' };
  if (parts.length === 2 && parts[0] === 'voice' && parts[1] === 'listen') return { kind: 'voiceListen' };
  if (parts.length === 2 && parts[0] === 'tool' && nameRe.test(parts[1]!))
    return { kind: 'tool', target: parts[1]! };
  if (parts.length === 3 && parts[0] === 'sensor' && nameRe.test(parts[1]!)) {
    if (parts[2] === 'pause') return { kind: 'sensorPause', target: parts[1]! };
    if (parts[2] === 'resume') return { kind: 'sensorResume', target: parts[1]! };
  }
  return undefined;
}

/**
 * Arguments checked against the row's schema → the RPC. `args` has passed that schema (the
 * caller's validator is the schema's), which is what makes it CommandArgs[K]; the correlation
 * `id` is not an argument.
 */
export function commandFor<K extends CommandKind>(
  kind: K,
  checked: CommandArgs[K] & WithId,
  target: string,
  origin: CommandOrigin,
): Command {
  const { id: _id, ...args } = checked;
  const row: CommandRow<CommandArgs[K]> = COMMANDS[kind];
  return row.toRpc(args as CommandArgs[K], target, origin);
}
