/**
 * How the CLI reaches the device's state: through the running daemon's control socket, or, when
 * no daemon runs, by opening the store itself (a daemon holds LevelDB's lock while it runs).
 */
import { isAbsolute, resolve } from 'node:path';
import { controlRequest, NO_DAEMON } from '../control/control-client.js';
import { type ControlRequest, controlSocketPath } from '../control/protocol.js';
import { EdgeloomError, ErrorCode } from '../errors.js';
import { AuditLog } from '../router/audit-log.js';
import { openStore, type Store } from '../storage/store.js';
import { type CliContext, cliContext } from './context.js';

export interface OfflineAccess {
  readonly ctx: CliContext;
  readonly store: Store;
  readonly audit: AuditLog;
}

/** The config (logs to stderr, warnings only) and the store directory it names. */
export function cliStorage(configFile: string | undefined): { ctx: CliContext; storageDir: string } {
  const ctx = cliContext({ configFile, logTo: 'stderr', logLevel: 'warn' });
  const dir = ctx.config.storage.dir;
  return { ctx, storageDir: isAbsolute(dir) ? dir : resolve(ctx.baseDir, dir) };
}

/**
 * Ask the running daemon `request`; with no daemon, run `offline` on the opened store instead.
 * Either way resolves to `{ via, result }`.
 */
export async function viaDaemonOrStore<T>(
  configFile: string | undefined,
  request: ControlRequest,
  offline: (access: OfflineAccess) => Promise<T>,
): Promise<{ via: 'daemon' | 'store'; result: unknown }> {
  const { ctx, storageDir } = cliStorage(configFile);
  const answer = await controlRequest(controlSocketPath(storageDir), request);
  if (answer !== NO_DAEMON) return { via: 'daemon', result: answer };
  const store = await openStore(storageDir);
  try {
    const audit = new AuditLog(store, { maxRecords: ctx.config.storage.audit_max_records });
    return { via: 'store', result: await offline({ ctx, store, audit }) };
  } finally {
    await store.close();
  }
}

/**
 * Ask the running daemon `request`: for what only a running daemon can do (open a listening
 * window, pause a sensor). With none, `E_CONTROL_NO_DAEMON` naming the socket it tried.
 */
export async function viaDaemon(configFile: string | undefined, request: ControlRequest): Promise<unknown> {
  const { storageDir } = cliStorage(configFile);
  const path = controlSocketPath(storageDir);
  const answer = await controlRequest(path, request);
  if (answer !== NO_DAEMON) return answer;
  throw new EdgeloomError(
    ErrorCode.E_CONTROL_NO_DAEMON,
    `no running edgeloom daemon on ${path}: start it (edgeloom run, or the service) with this config`,
    { where: request.op },
  );
}
