import { type ChildProcess, spawn } from 'node:child_process';
import { CLI, REPO_ROOT } from './tools.js';
import { HANG_GUARD_MS } from './wait.js';

/**
 * Run the compiled CLI (`node dist/daemon/cli/main.js`) as a real child process, the way systemd
 * or a user would. Tests that use these need the global setup's compile (no EDGELOOM_SKIP_BUILD).
 */

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliOptions {
  /** Working directory; default the repository root (relative config paths resolve against it). */
  readonly cwd?: string;
  /** Extra environment; EDGELOOM_* variables from the test's own environment are removed. */
  readonly env?: Record<string, string>;
  /**
   * Kill the child (SIGKILL) after this long, ms: a hang guard, not a timing assertion (default
   * 110 s, below the suite's 120 s hook timeout: several daemons started at once on two shared
   * cores can take well over 30 s).
   */
  readonly timeoutMs?: number;
  /** Arguments for node itself, before the CLI script (e.g. `--import` of a test-only preload). */
  readonly nodeArgs?: readonly string[];
}

/** Environment for the child: no inherited EDGELOOM_* overrides, no CI colour codes. */
function childEnv(extra: Record<string, string> | undefined): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('EDGELOOM_')) env[k] = v;
  }
  return { ...env, NO_COLOR: '1', ...extra };
}

/** Start the CLI; stdout and stderr are collected as text. */
export function spawnCli(args: readonly string[], options: CliOptions = {}): CliChild {
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), CLI, ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    env: childEnv(options.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return new CliChild(child, options.timeoutMs ?? 110_000);
}

/** Run the CLI to completion. */
export function runCli(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  return spawnCli(args, options).exited;
}

/** A running CLI process with its output so far and helpers to wait on it. */
export class CliChild {
  stdout = '';
  stderr = '';
  readonly exited: Promise<CliResult>;
  private readonly listeners = new Set<() => void>();
  private exitedYet = false;

  constructor(
    readonly process: ChildProcess,
    timeoutMs: number,
  ) {
    process.stdout!.setEncoding('utf8').on('data', (s: string) => {
      this.stdout += s;
      this.notify();
    });
    process.stderr!.setEncoding('utf8').on('data', (s: string) => {
      this.stderr += s;
      this.notify();
    });
    const timer = setTimeout(() => process.kill('SIGKILL'), timeoutMs);
    this.exited = new Promise((resolve) => {
      process.once('close', (code, signal) => {
        clearTimeout(timer);
        this.exitedYet = true;
        this.notify();
        resolve({ code, signal, stdout: this.stdout, stderr: this.stderr });
      });
    });
  }

  /**
   * Resolves when `predicate` holds on the output so far; rejects when the process exits first,
   * or after `timeoutMs` (a hang guard, default HANG_GUARD_MS).
   */
  waitFor(what: string, predicate: (c: CliChild) => boolean, timeoutMs = HANG_GUARD_MS): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        if (predicate(this)) done(undefined);
        else if (this.exitedYet) done(new Error(`process exited before ${what}\n${this.tail()}`));
      };
      const timer = setTimeout(
        () => done(new Error(`timed out waiting for ${what}\n${this.tail()}`)),
        timeoutMs,
      );
      const done = (err: Error | undefined): void => {
        clearTimeout(timer);
        this.listeners.delete(check);
        if (err) reject(err);
        else resolve();
      };
      this.listeners.add(check);
      check();
    });
  }

  /** Wait for a pino log line with this `msg` on stdout (or stderr with `stream`). */
  waitForLog(msg: string, stream: 'stdout' | 'stderr' = 'stdout', timeoutMs?: number): Promise<void> {
    return this.waitFor(
      `log "${msg}"`,
      (c) => parseLogLines(c[stream]).some((l) => l.msg === msg),
      timeoutMs,
    );
  }

  /** Kill the process if it still runs (test cleanup). */
  kill(): void {
    if (!this.exitedYet) this.process.kill('SIGKILL');
  }

  private notify(): void {
    for (const l of [...this.listeners]) l();
  }

  private tail(): string {
    return `--- stdout (tail)\n${this.stdout.slice(-2000)}\n--- stderr (tail)\n${this.stderr.slice(-2000)}`;
  }
}

/** A pino JSON log line. */
export interface LogLine {
  readonly level: string;
  readonly msg: string;
  readonly [key: string]: unknown;
}

/** The JSON log lines of a stream; other lines are skipped. */
export function parseLogLines(text: string): LogLine[] {
  const out: LogLine[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const v = JSON.parse(line) as Partial<LogLine>;
      if (typeof v.msg === 'string' && typeof v.level === 'string') out.push(v as LogLine);
    } catch {
      // a partial line still being written
    }
  }
  return out;
}
