import { ErrorCode, isEdgeloomError, toError } from '../errors.js';
import { Priority } from './envelope.js';
import type { LifecycleEvent, LifecycleKind } from './topics.js';
import type { EventBus } from './types.js';

/**
 * Publish a `system/lifecycle` event (system started/stopping, component started/stopped/failed)
 * at high priority. `error` may be anything thrown; it is reduced to `{ code, message }` so no
 * stack or payload reaches the bus. Never throws on a closed bus: lifecycle events racing
 * shutdown are dropped (returns undefined) rather than failing the shutdown itself.
 * Returns publish()'s backpressure promise, if any.
 */
export function publishLifecycle(
  bus: EventBus,
  kind: LifecycleKind,
  component?: string,
  error?: unknown,
): Promise<void> | undefined {
  const event: LifecycleEvent = {
    kind,
    ...(component === undefined ? {} : { component }),
    ...(error === undefined ? {} : { error: describe(error) }),
  };
  try {
    return bus.publish('system/lifecycle', event, { source: component ?? 'system', priority: Priority.high });
  } catch (err) {
    if (isEdgeloomError(err, ErrorCode.E_BUS_CLOSED)) return undefined;
    throw err;
  }
}

function describe(error: unknown): { code: ErrorCode; message: string } {
  if (isEdgeloomError(error)) return { code: error.code, message: error.message };
  return { code: ErrorCode.E_COMPONENT_FAILED, message: toError(error).message };
}
