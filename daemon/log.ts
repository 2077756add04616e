import { fstatSync } from 'node:fs';
import { isatty } from 'node:tty';
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
   * `json`: pino's JSON lines; `pretty`: one readable line per entry (prettyLine); `auto`
   * (default): pretty when the destination is a terminal, JSON otherwise (journald, files, pipes).
   * Under systemd the journal always gets JSON with its priority prefix.
   */
  readonly format?: LogFormat;
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

export type LogFormat = 'auto' | 'json' | 'pretty';

/** The root logger; components get `root.child({ component })` via componentLogger(). */
export function createLogger(options: LogOptions): Logger {
  const format = options.format ?? 'auto';
  const fdStream = (fd: 1 | 2): DestinationStream => {
    const boom = pino.destination({ fd, sync: false });
    // One write per line (pino): the prefix goes in front of each, the pretty line replaces it.
    if (isJournalStream(fd)) return { write: (line: string) => boom.write(journalPrefixed(line)) };
    if (format === 'json' || (format === 'auto' && !isatty(fd))) return boom;
    const color = isatty(fd) && process.env.NO_COLOR === undefined;
    return { write: (line: string) => boom.write(prettyLine(line, color)) };
  };
  const dest =
    options.destination === undefined || options.destination === 'stdout'
      ? fdStream(1)
      : options.destination === 'stderr'
        ? fdStream(2)
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

/** Fields every line has, shown in the line's head rather than as key=value. */
const HEAD_FIELDS = new Set(['level', 'time', 'pid', 'component', 'msg']);
/** ANSI SGR colours per level (NO_COLOR, https://no-color.org, turns them off). */
const LEVEL_COLOR: Readonly<Record<string, string>> = {
  trace: '90',
  debug: '90',
  info: '32',
  warn: '33',
  error: '31',
  fatal: '35',
};

/**
 * One pino JSON line as a person reads it on a terminal:
 * `12:04:05.123 WARN  mqtt: mqtt: connection lost reason=ECONNREFUSED outbox=3`, the time in local
 * time, other fields as key=value (strings bare when they have no space, else JSON), an error's
 * stack on the lines below. Redaction has happened before (pino), so nothing secret comes back.
 * A line that is not a JSON object passes unchanged.
 */
export function prettyLine(line: string, color = false): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) return line;
  const level = String(entry.level ?? '');
  const t = new Date(String(entry.time ?? ''));
  const hms = Number.isNaN(t.getTime())
    ? ''
    : `${[t.getHours(), t.getMinutes(), t.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':')}.${String(t.getMilliseconds()).padStart(3, '0')} `;
  const tag = level.toUpperCase().padEnd(5);
  const paint = (code: string | undefined, text: string): string =>
    color && code !== undefined ? `\x1b[${code}m${text}\x1b[0m` : text;
  const who = entry.component === undefined ? '' : `${paint('1', String(entry.component))}: `;
  const fields: string[] = [];
  let stack = '';
  for (const [k, v] of Object.entries(entry)) {
    if (HEAD_FIELDS.has(k)) continue;
    if (k === 'err' && v !== null && typeof v === 'object' && 'stack' in v) {
      const e = v as { message?: unknown; stack?: unknown };
      fields.push(`err=${JSON.stringify(String(e.message ?? ''))}`);
      const frames = String(e.stack).split('\n').slice(1);
      stack = frames.map((f) => `\n    ${f.trim()}`).join('');
      continue;
    }
    const text = typeof v === 'string' && !/[\s"=]/.test(v) && v !== '' ? v : JSON.stringify(v);
    fields.push(`${paint('2', `${k}=`)}${text}`);
  }
  const rest = fields.length === 0 ? '' : ` ${fields.join(' ')}`;
  return `${paint('2', hms)}${paint(LEVEL_COLOR[level], tag)} ${who}${String(entry.msg ?? '')}${rest}${stack}\n`;
}

/** A child logger tagged with the component name, so every line says who wrote it. */
export function componentLogger(root: Logger, component: string): Logger {
  return root.child({ component });
}

/** A logger that writes nothing, for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
