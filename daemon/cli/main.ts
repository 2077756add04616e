#!/usr/bin/env node
/**
 * edgeloom's command line: argv → command → exit code. Every command module exports a
 * `Command`; failures surface as one clear line on stderr and a non-zero exit (systemd restarts
 * on failure), never as a stack trace unless --debug / EDGELOOM_DEBUG=1.
 */
import { EdgeloomError, ErrorCode } from '../errors.js';
import { packageVersion } from '../util/package-root.js';
import { commands } from './commands.js';

function mainHelp(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  const lines = commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`);
  return [
    `edgeloom ${packageVersion()} — a sensor daemon for edge devices`,
    '',
    'Usage: edgeloom <command> [options]',
    '',
    'Commands:',
    ...lines,
    '',
    'Options:',
    '  -h, --help     show help (also: edgeloom help <command>, edgeloom <command> --help)',
    '  -v, --version  print the version',
    '  --json         (commands that print data) one JSON document instead of text',
    '',
    'Configuration: --config FILE, or EDGELOOM_CONFIG, else the embedded default (config/default.yaml).',
    'Environment overrides: EDGELOOM_<SECTION>_<KEY>=value (see README.md).',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  // Bare `edgeloom` is a usage error: the help goes to stderr, like any usage error's message.
  if (first === undefined) {
    process.stderr.write(`${mainHelp()}\n`);
    return 2;
  }
  if (first === 'help' && rest.length > 0) return helpFor(rest[0]!);
  if (first === '-h' || first === '--help' || first === 'help') {
    process.stdout.write(`${mainHelp()}\n`);
    return 0;
  }
  if (first === '-v' || first === '--version') {
    process.stdout.write(`${packageVersion()}\n`);
    return 0;
  }
  const entry = commands.find((c) => c.name === first);
  if (entry === undefined) {
    process.stderr.write(`edgeloom: unknown command "${first}"\n\n${mainHelp()}\n`);
    return 2;
  }
  const command = await entry.load();
  if (rest.includes('-h') || rest.includes('--help')) {
    process.stdout.write(`${command.usage}\n`);
    return 0;
  }
  return command.run(rest);
}

/** `edgeloom help <command>`: that command's usage, as `edgeloom <command> --help` prints it. */
async function helpFor(name: string): Promise<number> {
  const entry = commands.find((c) => c.name === name);
  if (entry === undefined) {
    process.stderr.write(`edgeloom: no command "${name}" to help with\n\n${mainHelp()}\n`);
    return 2;
  }
  process.stdout.write(`${(await entry.load()).usage}\n`);
  return 0;
}

function report(err: unknown): void {
  const debug = process.env.EDGELOOM_DEBUG === '1';
  if (err instanceof EdgeloomError) {
    process.stderr.write(`edgeloom: ${err.message} [${err.code}]\n`);
    if (debug && err.stack) process.stderr.write(`${err.stack}\n`);
  } else {
    process.stderr.write(
      `edgeloom: ${err instanceof Error ? (debug ? err.stack : err.message) : String(err)}\n`,
    );
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    report(err);
    process.exitCode = err instanceof EdgeloomError && err.code === ErrorCode.E_USAGE ? 2 : 1;
  },
);
