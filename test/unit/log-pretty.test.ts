/**
 * The terminal form of a log line (log.ts prettyLine), fed with what pino itself writes: a real
 * pino logger with edgeloom's options writing into a capture, its lines then formatted.
 */
import { describe, expect, it } from 'vitest';
import { createLogger, prettyLine } from '../../daemon/log.js';

/** Lines a logger built by createLogger writes (level debug) while `fn` runs. */
function pinoLines(fn: (log: ReturnType<typeof createLogger>) => void): string[] {
  const lines: string[] = [];
  const log = createLogger({ level: 'debug', destination: { write: (l: string) => void lines.push(l) } });
  fn(log);
  return lines;
}

describe('prettyLine', () => {
  it('writes time, level, component, message and the other fields as key=value', () => {
    const [line] = pinoLines((log) =>
      log.child({ component: 'mqtt' }).warn({ reason: 'ECONNREFUSED', outbox: 3, url: 'mqtt://a b' }, 'lost'),
    );
    const out = prettyLine(line!);
    expect(out).toMatch(
      /^\d\d:\d\d:\d\d\.\d{3} WARN {2}mqtt: lost reason=ECONNREFUSED outbox=3 url="mqtt:\/\/a b"\n$/,
    );
    expect(out).not.toContain('pid=');
  });

  it("puts an error's message inline and its stack below, and keeps redaction", () => {
    const [line] = pinoLines((log) =>
      log.error({ err: new Error('disk full'), password: 'hunter2' }, 'outbox write failed'),
    );
    const out = prettyLine(line!);
    const [head, ...stack] = out.trimEnd().split('\n');
    expect(head).toMatch(/ERROR outbox write failed err="disk full" password=\[redacted\]$/);
    expect(stack.length).toBeGreaterThan(0);
    expect(stack.every((l) => l.startsWith('    at '))).toBe(true);
    expect(out).not.toContain('hunter2');
  });

  it('colours only when asked, and passes anything that is not a JSON object through', () => {
    const [line] = pinoLines((log) => log.info('hello'));
    expect(prettyLine(line!, false)).not.toContain('\x1b[');
    expect(prettyLine(line!, true)).toContain('\x1b[32mINFO \x1b[0m');
    expect(prettyLine('plain text\n')).toBe('plain text\n');
    expect(prettyLine('[1,2]\n')).toBe('[1,2]\n');
  });
});
