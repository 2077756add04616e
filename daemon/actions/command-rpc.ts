/**
 * Sending a parsed command (command-table.ts) to the component that answers it: shared by the
 * MQTT commands (commands.ts) and the local control socket (control/control-server.ts), so both
 * fail the same way when nothing can answer.
 */
import type { ResponseOf, RpcTopic } from '../bus/rpc.js';
import { patternMatches } from '../bus/topic-match.js';
import type { EventBus, RequestOptions } from '../bus/types.js';
import { EdgeloomError, ErrorCode } from '../errors.js';
import { COMMANDS, type Command, type CommandKind } from './command-table.js';

/** Ask the command's RPC; the answer is the RPC's answer type, an error keeps its code. */
export function requestCommand<T extends RpcTopic>(
  bus: EventBus,
  command: Command<T>,
  options: RequestOptions,
): Promise<ResponseOf<T>> {
  return bus.request(command.rpc, command.request, options);
}

/**
 * Fail fast instead of waiting out the timeout when nothing answers the command's RPC:
 * `E_CMD_UNKNOWN_SENSOR` (naming the sensors that do answer) when the command addresses one of a
 * family of targets and others answer, else `E_CMD_NO_RESPONDER`.
 */
export function checkResponder(bus: EventBus, kind: CommandKind, command: Command, where: string): void {
  // Responders only: a `#` tap (the dashboard's event stream, a debug tap) matches every request
  // topic but answers none.
  const served = bus.responders();
  if (served.some((pattern) => patternMatches(pattern, command.rpc))) return;
  const targets = COMMANDS[kind].targets;
  const known =
    targets === undefined
      ? []
      : served.filter((p) => patternMatches(targets.pattern, p)).map((p) => p.split('/')[targets.level]!);
  if (known.length > 0) {
    const target = command.rpc.split('/')[targets!.level];
    throw new EdgeloomError(
      ErrorCode.E_CMD_UNKNOWN_SENSOR,
      `no sensor "${target}" (known: ${[...new Set(known)].join(', ')})`,
      { where },
    );
  }
  throw new EdgeloomError(
    ErrorCode.E_CMD_NO_RESPONDER,
    `nothing serves ${command.rpc} (is that part of the daemon running?)`,
    { where },
  );
}
