import { fstatSync } from 'node:fs';
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

/**
 * syslog priorities by pino level (sd-daemon(3): 2 crit … 7 debug). journald reads a `<N>` prefix
 * at the start of a line a service writes to its stdout (SyslogLevelPrefix=, on by default), so
 * `journalctl -p err -u edgeloom` finds the error lines.
 */
const JOURNAL_PRIORITY: Readonly<Record<string, number>> = {
  trace: 7,
  debug: 7,
  info: 6,
  warn: 4,
  error: 3,
  fatal: 2,
};

/** A JSON log line with its journald priority prefix (lines of another shape pass unchanged). */
export function journalPrefixed(line: string): string {
  const m = /^\{"level":"([a-z]+)"/.exec(line);
  const priority = m === null ? undefined : JOURNAL_PRIORITY[m[1]!];
  return priority === undefined ? line : `<${priority}>${line}`;
}

/**
 * Whether `fd` is the stream journald connected to this service: systemd sets JOURNAL_STREAM to
 * its `device:inode` (systemd.exec(5)); a redirected stdout under the same environment is not it.
 */
export function isJournalStream(fd: number, env: NodeJS.ProcessEnv = process.env): boolean {
  const [dev, ino] = (env.JOURNAL_STREAM ?? '').split(':');
  if (dev === undefined || dev === '' || ino === undefined) return false;
  try {
    const st = fstatSync(fd);
    return String(st.dev) === dev && String(st.ino) === ino;
  } catch {
    return false;
  }
}

/** The root logger; components get `root.child({ component })` via componentLogger(). */
export function createLogger(options: LogOptions): Logger {
  const stdout = (): DestinationStream => {
    const boom = pino.destination({ fd: 1, sync: false });
    if (!isJournalStream(1)) return boom;
    // One write per line (pino); the prefix goes in front of each.
    return { write: (line: string) => boom.write(journalPrefixed(line)) };
  };
  const dest =
    options.destination === undefined || options.destination === 'stdout'
      ? stdout()
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
