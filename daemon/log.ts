import { type DestinationStream, type Logger, pino } from 'pino';

export type { Logger } from 'pino';

/**
 * Paths whose values never reach a log line. pino's redaction is compiled once at logger creation,
 * so it costs nothing on lines that do not carry these keys.
 */
export const REDACT_PATHS: readonly string[] = [
  'password',
  'token',
  'apiKey',
  'api_key',
  'authorization',
  'secret',
  '*.password',
  '*.token',
  '*.apiKey',
  '*.api_key',
  '*.authorization',
  '*.secret',
  '*.*.password',
  '*.*.token',
  '*.*.apiKey',
  '*.*.api_key',
  '*.*.secret',
  'headers.authorization',
  'req.headers.authorization',
];

export interface LogOptions {
  /** pino level name: trace, debug, info, warn, error, fatal, silent. */
  readonly level: string;
  /**
   * Where lines go. Default stdout (journald reads it). `replay --emit` sends logs to stderr so
   * stdout carries only the emitted messages.
   */
  readonly destination?: DestinationStream | 'stdout' | 'stderr';
}

/** The root logger; components get `root.child({ component })` via componentLogger(). */
export function createLogger(options: LogOptions): Logger {
  const dest =
    options.destination === undefined || options.destination === 'stdout'
      ? pino.destination({ fd: 1, sync: false })
      : options.destination === 'stderr'
        ? pino.destination({ fd: 2, sync: false })
        : options.destination;
  return pino(
    {
      level: options.level,
      base: { pid: process.pid },
      redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    dest,
  );
}

/** A child logger tagged with the component name, so every line says who wrote it. */
export function componentLogger(root: Logger, component: string): Logger {
  return root.child({ component });
}

/** A logger that writes nothing, for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
