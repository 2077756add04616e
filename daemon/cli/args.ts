import { parseArgs } from 'node:util';
import { EdgeloomError, ErrorCode } from '../errors.js';

/** Option spec in node:util parseArgs form. */
export type OptionSpec = Record<string, { type: 'string' | 'boolean'; short?: string; multiple?: boolean }>;

export interface Parsed {
  readonly values: Record<string, string | boolean | string[] | boolean[] | undefined>;
  readonly positionals: string[];
}

/** parseArgs with errors turned into a coded usage error that names the command. */
export function parse(command: string, argv: string[], options: OptionSpec, allowPositionals = true): Parsed {
  try {
    const r = parseArgs({ args: argv, options, allowPositionals, strict: true });
    return { values: r.values as Parsed['values'], positionals: r.positionals };
  } catch (err) {
    // node:util's messages can span lines ("... is ambiguous.\nDid you forget ..."); a usage
    // error is one line on stderr.
    const message = (err instanceof Error ? err.message : String(err)).replace(/\s*\n\s*/g, ' ');
    throw new EdgeloomError(ErrorCode.E_USAGE, `${command}: ${message} (see: edgeloom ${command} --help)`, {
      where: command,
    });
  }
}

export function str(p: Parsed, key: string): string | undefined {
  const v = p.values[key];
  return typeof v === 'string' ? v : undefined;
}

export function bool(p: Parsed, key: string): boolean {
  return p.values[key] === true;
}

/** A finite number option, with a clear error naming the flag. */
export function num(p: Parsed, key: string, command: string): number | undefined {
  const v = str(p, key);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) {
    throw new EdgeloomError(
      ErrorCode.E_USAGE,
      `${command}: --${key} must be a number (got ${JSON.stringify(v)})`,
      {
        where: `--${key}`,
      },
    );
  }
  return n;
}
