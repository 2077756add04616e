/**
 * How `edgeloom doctor` looks at the machine: finding programs, running them with a time limit,
 * listing device nodes, connecting to a TCP port. One object, passed in, so a test can point the
 * checks at a temporary /dev or another PATH while everything still runs for real.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { delimiter, join } from 'node:path';

export interface ExecResult {
  /** Exit status; null when the program could not start or was killed by the time limit. */
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface DoctorProbe {
  /** Absolute path of `program` on PATH (or the path itself when absolute and executable). */
  which(program: string): string | undefined;
  /** Run a program; never throws. */
  exec(program: string, args: readonly string[], timeoutMs: number): ExecResult;
  /** Names in the device directory matching `pattern` (full paths, sorted). */
  devices(pattern: RegExp): string[];
  /** Whether a path exists (stat only: a serial device must not be opened here). */
  exists(path: string): boolean;
  /** A text file's contents, or undefined when unreadable. */
  readText(path: string): string | undefined;
  /** Resolves true when a TCP connection to host:port opens within timeoutMs. */
  tcpReachable(host: string, port: number, timeoutMs: number): Promise<boolean>;
}

export interface SystemProbeOptions {
  /** Directory searched by devices() (default /dev). */
  readonly devDir?: string;
  /** PATH used by which() and exec() (default process.env.PATH). */
  readonly path?: string;
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The real machine. */
export function systemProbe(options: SystemProbeOptions = {}): DoctorProbe {
  const devDir = options.devDir ?? '/dev';
  const searchPath = options.path ?? process.env.PATH ?? '';
  const which = (program: string): string | undefined => {
    if (program.includes('/')) return isExecutable(program) ? program : undefined;
    for (const dir of searchPath.split(delimiter)) {
      if (dir === '') continue;
      const candidate = join(dir, program);
      if (isExecutable(candidate)) return candidate;
    }
    return undefined;
  };
  return {
    which,
    exec(program, args, timeoutMs) {
      const r = spawnSync(program, args, {
        encoding: 'utf8',
        timeout: timeoutMs,
        env: { ...process.env, PATH: searchPath, LC_ALL: 'C' },
        maxBuffer: 4 * 1024 * 1024,
      });
      return { status: r.error ? null : r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
    },
    devices(pattern) {
      try {
        return readdirSync(devDir)
          .filter((n) => pattern.test(n))
          .sort()
          .map((n) => join(devDir, n));
      } catch {
        return [];
      }
    },
    exists(path) {
      return existsSync(path);
    },
    readText(path) {
      try {
        return readFileSync(path, 'utf8');
      } catch {
        return undefined;
      }
    },
    tcpReachable(host, port, timeoutMs) {
      return new Promise((resolve) => {
        const socket = connect({ host, port });
        const done = (ok: boolean): void => {
          socket.destroy();
          resolve(ok);
        };
        socket.setTimeout(timeoutMs, () => done(false));
        socket.once('connect', () => done(true));
        socket.once('error', () => done(false));
      });
    },
  };
}
