/**
 * Every error edgeloom raises on purpose has a stable `code` so that logs, metrics, tests and
 * the MQTT `cmd/result` topic can match on it instead of on message text.
 */
export class EdgeloomError extends Error {
  /** Stable, machine-readable identifier, e.g. `E_BUS_INVALID_TOPIC`. */
  readonly code: string;
  /** Where it happened: a component name, a config key, a file path, a topic. */
  readonly where: string | undefined;

  constructor(code: string, message: string, options: { where?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'EdgeloomError';
    this.code = code;
    this.where = options.where;
  }
}

/** True when `err` is an EdgeloomError carrying `code` (or any EdgeloomError when code is omitted). */
export function isEdgeloomError(err: unknown, code?: string): err is EdgeloomError {
  return err instanceof EdgeloomError && (code === undefined || err.code === code);
}

/** Narrow anything thrown to an Error, without losing non-Error values. */
export function toError(value: unknown): Error {
  if (value instanceof Error) return value;
  return new Error(typeof value === 'string' ? value : JSON.stringify(value));
}
