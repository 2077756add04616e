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

export type BrokerAnswer = 'mqtt' | 'tcp' | 'closed';

/**
 * A minimal MQTT 3.1.1 CONNECT (spec 3.1): protocol "MQTT" level 4, clean session, keep-alive
 * 10 s, client id "edgeloom-doctor". A proxy or firewall that accepts every TCP connection does
 * not answer it with a CONNACK, so this tells a broker from an open port.
 */
const CLIENT_ID = Buffer.from('edgeloom-doctor');
const VARIABLE_HEADER = Buffer.from([0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x0a]);
const CONNECT_PACKET = Buffer.concat([
  Buffer.from([0x10, VARIABLE_HEADER.length + 2 + CLIENT_ID.length]),
  VARIABLE_HEADER,
  Buffer.from([0x00, CLIENT_ID.length]),
  CLIENT_ID,
]);
const CONNACK_TYPE = 0x20;

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
  /**
   * Connect to host:port within timeoutMs and, when `mqtt`, send an MQTT 3.1.1 CONNECT:
   * `mqtt` when a CONNACK comes back (any return code: a broker is there), `tcp` when the port
   * accepts but says nothing MQTT-like (or `mqtt` was false), `closed` when nothing accepts.
   */
  brokerAnswer(host: string, port: number, timeoutMs: number, mqtt: boolean): Promise<BrokerAnswer>;
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
    brokerAnswer(host, port, timeoutMs, mqtt) {
      return new Promise((resolve) => {
        const socket = connect({ host, port });
        let connected = false;
        const done = (answer: BrokerAnswer): void => {
          socket.destroy();
          resolve(answer);
        };
        socket.setTimeout(timeoutMs, () => done(connected ? 'tcp' : 'closed'));
        socket.once('connect', () => {
          connected = true;
          if (!mqtt) done('tcp');
          else socket.write(CONNECT_PACKET);
        });
        socket.once('data', (chunk: Buffer) => done(chunk[0] === CONNACK_TYPE ? 'mqtt' : 'tcp'));
        socket.once('error', () => done(connected ? 'tcp' : 'closed'));
        socket.once('end', () => done(connected ? 'tcp' : 'closed'));
      });
    },
  };
}
