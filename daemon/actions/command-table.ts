/**
 * The MQTT commands: which topic under `<base>/cmd/` is which command, the schema of its
 * payload, and the bus request it becomes (commands.ts receives, checks and answers them):
 *
 * | MQTT topic (relative)      | payload (JSON)                          | bus request topic        | request payload              |
 * |----------------------------|-----------------------------------------|--------------------------|------------------------------|
 * | `cmd/sensor/<id>/pause`    | optional `{ "duration_s"?: number }`    | `rpc/cmd/sensor/pause`   | `{ sensor, duration_s? }`    |
 * | `cmd/sensor/<id>/resume`   | optional `{}`                           | `rpc/cmd/sensor/resume`  | `{ sensor }`                 |
 * | `cmd/privacy`              | `{ "tier": PrivacyTier, "scope"?: str }`| `rpc/cmd/privacy`        | `{ tier, scope? }`           |
 * | `cmd/tool/<name>`          | the tool's arguments object (or empty)  | `rpc/cmd/tool`           | `{ tool, args }`             |
 * | `cmd/forget`               | optional `{ "dry_run"?: boolean }`      | `rpc/cmd/forget`         | `{ dry_run? }`               |
 * | `cmd/restart`              | optional `{}`                           | `rpc/cmd/restart`        | `{}`                         |
 */

/** Bus request topics the daemon must serve with `bus.respond` for commands to work. */
export const COMMAND_REQUEST_TOPICS = {
  sensorPause: 'rpc/cmd/sensor/pause',
  sensorResume: 'rpc/cmd/sensor/resume',
  privacy: 'rpc/cmd/privacy',
  tool: 'rpc/cmd/tool',
  forget: 'rpc/cmd/forget',
  restart: 'rpc/cmd/restart',
} as const;

/** Where a command came from, and whether its sender proved who it is. */
export interface CommandOrigin {
  /** `mqtt`: a broker client; `cli`: the local control socket (the `edgeloom` command line). */
  readonly channel: 'mqtt' | 'cli';
  /** A verified signature (mqtt), or access to the control socket, which is mode 0600 (cli). */
  readonly authenticated: boolean;
}

export interface SensorCommandRequest {
  readonly sensor: string;
  /** pause only: resume by itself after this many seconds (bounded by control.pause_max_s). */
  readonly duration_s?: number;
  /** pause only: also pause a sensor that feeds fall detection (needs an authenticated origin). */
  readonly safety_override?: boolean;
  readonly origin?: CommandOrigin;
}
export interface PrivacyCommandRequest {
  readonly tier: 'public' | 'sensitive' | 'private' | 'local_only';
  /** A sensor id, `sensor:<kind>`, `default` or a bus topic pattern; absent = the device default. */
  readonly scope?: string;
  readonly origin?: CommandOrigin;
}
export interface ToolCommandRequest {
  readonly tool: string;
  readonly args: Record<string, unknown>;
  readonly origin?: CommandOrigin;
}
/** Stop cleanly and exit so that the service manager starts the daemon again (systemd/restart.ts). */
export interface RestartCommandRequest {
  readonly origin?: CommandOrigin;
}
export interface ForgetCommandRequest {
  /** Only count what would be deleted. */
  readonly dry_run?: boolean;
  readonly origin?: CommandOrigin;
}

const NAME = '^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$';
const ID = { type: 'string', maxLength: 64 };
const TIERS = ['public', 'sensitive', 'private', 'local_only'];

/** The JSON Schema of each command's payload (validated by the handler, commands.ts). */
export const SCHEMAS = {
  sensorPause: {
    type: 'object',
    properties: {
      id: ID,
      duration_s: { type: 'number', exclusiveMinimum: 0, maximum: 604_800 },
      safety_override: { type: 'boolean' },
    },
    additionalProperties: false,
  },
  sensorResume: { type: 'object', properties: { id: ID }, additionalProperties: false },
  privacy: {
    type: 'object',
    required: ['tier'],
    properties: { id: ID, tier: { enum: TIERS }, scope: { type: 'string', minLength: 1, maxLength: 256 } },
    additionalProperties: false,
  },
  tool: { type: 'object', properties: { id: ID } },
  forget: {
    type: 'object',
    properties: { id: ID, dry_run: { type: 'boolean' } },
    additionalProperties: false,
  },
  restart: { type: 'object', properties: { id: ID }, additionalProperties: false },
} as const;

export type CommandKind = keyof typeof SCHEMAS;

export interface ParsedCommand {
  readonly kind: CommandKind;
  /** The `<name>` part: a sensor id or a tool name. */
  readonly target?: string;
}

const nameRe = new RegExp(NAME);

/** `sensor/cam0/pause` → kind and target, or undefined for an unknown command. */
export function parseCommandTopic(rest: string): ParsedCommand | undefined {
  const parts = rest.split('/');
  if (parts.length === 1 && parts[0] === 'privacy') return { kind: 'privacy' };
  if (parts.length === 1 && parts[0] === 'forget') return { kind: 'forget' };
  if (parts.length === 1 && parts[0] === 'restart') return { kind: 'restart' };
  if (parts.length === 2 && parts[0] === 'tool' && nameRe.test(parts[1]!))
    return { kind: 'tool', target: parts[1]! };
  if (parts.length === 3 && parts[0] === 'sensor' && nameRe.test(parts[1]!)) {
    if (parts[2] === 'pause') return { kind: 'sensorPause', target: parts[1]! };
    if (parts[2] === 'resume') return { kind: 'sensorResume', target: parts[1]! };
  }
  return undefined;
}

export function commandRequest(
  parsed: ParsedCommand,
  body: Record<string, unknown>,
  origin: CommandOrigin,
): [string, unknown] {
  const { id: _id, ...rest } = body;
  switch (parsed.kind) {
    case 'sensorPause':
      return [
        COMMAND_REQUEST_TOPICS.sensorPause,
        { sensor: parsed.target ?? '', ...rest, origin } satisfies SensorCommandRequest,
      ];
    case 'sensorResume':
      return [
        COMMAND_REQUEST_TOPICS.sensorResume,
        { sensor: parsed.target ?? '', origin } satisfies SensorCommandRequest,
      ];
    case 'privacy':
      return [COMMAND_REQUEST_TOPICS.privacy, { ...rest, origin } as unknown as PrivacyCommandRequest];
    case 'tool':
      return [
        COMMAND_REQUEST_TOPICS.tool,
        { tool: parsed.target ?? '', args: rest, origin } satisfies ToolCommandRequest,
      ];
    case 'forget':
      return [COMMAND_REQUEST_TOPICS.forget, { ...rest, origin } as ForgetCommandRequest];
    case 'restart':
      return [COMMAND_REQUEST_TOPICS.restart, { origin } satisfies RestartCommandRequest];
  }
}
