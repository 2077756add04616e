/**
 * The supervised process behind one plugin (README, "Write a plugin"): started through its spawn
 * plan (sandbox.ts) in a process group of its own, its stdout cut into bounded lines, its stderr
 * logged, restarted after an exponential backoff when it exits, and ended on stop() by `shutdown`,
 * then SIGTERM, then SIGKILL to the whole group. What the lines mean is the host's business
 * (plugin-host.ts); this file only keeps the process alive and the pipes bounded.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import type { PluginConfig } from '../config/types.js';
import { ErrorCode, toError } from '../errors.js';
import type { Logger } from '../log.js';
import { LineReader } from './line-reader.js';
import { type DaemonMessage, encodeLine } from './protocol.js';
import { spawnPlan } from './sandbox.js';

/** Time allowed after `shutdown`, and after SIGTERM, before the next step, ms. */
const GRACE_MS = 2_000;
/** A process that ran this long resets the backoff. */
const STABLE_MS = 30_000;
/** Backoff delays kept for stats and diagnosis (the oldest dropped). */
const RECENT_DELAYS = 8;

export interface PluginProcessOptions {
  readonly config: Pick<PluginConfig, 'id' | 'command' | 'sandbox' | 'restart' | 'max_line_bytes'>;
  readonly stateDir: string;
  readonly cwd: string;
  readonly logger: Logger;
  /** Extra environment (the plugin's id and state directory). */
  readonly env: Readonly<Record<string, string>>;
  /** One line of its stdout (at most max_line_bytes). */
  readonly onLine: (line: string) => void;
  /** One line of its stderr (cut at 4 KiB). */
  readonly onStderr: (line: string) => void;
  /** A process was started (first start and every restart): say `init` to it. */
  readonly onSpawn: () => void;
  /** The running process ended or could not start (also when stop() ended it). */
  readonly onExit: (why: string) => void;
}

export class PluginProcess {
  private child: ChildProcess | undefined;
  private stopping = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private failuresInRow = 0;
  private spawnedAt = 0;
  private readonly reader: LineReader;
  /** Bounded: the last RECENT_DELAYS backoff delays. */
  private readonly delays: number[] = [];
  restarts = 0;
  sandboxed = false;

  constructor(private readonly o: PluginProcessOptions) {
    this.reader = new LineReader(o.config.max_line_bytes, o.onLine);
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  /** Lines discarded for being longer than max_line_bytes. */
  get overlong(): number {
    return this.reader.overlong;
  }

  get restartDelaysMs(): readonly number[] {
    return [...this.delays];
  }

  start(): void {
    this.stopping = false;
    this.spawnOnce();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    const child = this.child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    const within = (ms: number): Promise<boolean> =>
      Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);
    this.send({ type: 'shutdown' });
    child.stdin?.end();
    if (await within(GRACE_MS)) return;
    this.kill(child, 'SIGTERM');
    if (await within(GRACE_MS)) return;
    this.kill(child, 'SIGKILL');
    await exited;
  }

  /** Write one message; false when no process can take it. */
  send(msg: DaemonMessage): boolean {
    return this.write(encodeLine(msg)) !== false;
  }

  /**
   * Write one line: false when no process runs, true when the pipe took it, or a promise that
   * settles once the pipe has room again (a plugin that reads slowly backs up its own queue).
   */
  write(line: string): boolean | Promise<void> {
    const stdin = this.child?.stdin;
    if (stdin === undefined || stdin === null || stdin.destroyed || !stdin.writable) return false;
    if (stdin.write(line)) return true;
    return new Promise<void>((resolve) => {
      const done = (): void => {
        stdin.off('drain', done);
        stdin.off('close', done);
        resolve();
      };
      stdin.once('drain', done);
      stdin.once('close', done);
    });
  }

  /** Stop reading its stdout until `until` settles (the bus pushes back on its publishes). */
  pauseOutput(until: Promise<unknown>): void {
    const out = this.child?.stdout;
    out?.pause();
    const resume = (): void => void out?.resume();
    until.then(resume, resume);
  }

  private spawnOnce(): void {
    const c = this.o.config;
    const plan = spawnPlan(c, { stateDir: this.o.stateDir, cwd: this.o.cwd });
    this.sandboxed = plan.sandboxed;
    this.reader.reset();
    this.spawnedAt = performance.now();
    let child: ChildProcess;
    try {
      child = spawn(plan.file, plan.args, {
        cwd: this.o.cwd,
        stdio: ['pipe', 'pipe', 'pipe'],
        // Its own process group, so SIGTERM/SIGKILL reach bwrap's children too.
        detached: true,
        env: { ...process.env, ...this.o.env },
      });
    } catch (err) {
      this.ended(`spawn failed: ${toError(err).message}`);
      return;
    }
    this.child = child;
    child.on('error', (err) => {
      this.o.logger.warn({ plugin: c.id, err: err.message }, 'plugin: process error');
      // A program that could not be started emits no exit.
      if (child.pid === undefined && this.child === child) this.ended(`spawn failed: ${err.message}`);
    });
    child.stdin?.on('error', () => {}); // EPIPE when it exits: the exit handler reports it
    child.stdout?.on('data', (chunk: Buffer) => this.reader.push(chunk));
    const errReader = new LineReader(4096, this.o.onStderr);
    child.stderr?.on('data', (chunk: Buffer) => errReader.push(chunk));
    child.once('exit', (code, sig) => {
      if (this.child === child) this.ended(`exited (${sig ?? `code ${code}`})`);
    });
    this.o.onSpawn();
  }

  private ended(why: string): void {
    this.child = undefined;
    this.o.onExit(why);
    if (this.stopping) return;
    if (performance.now() - this.spawnedAt > STABLE_MS) this.failuresInRow = 0;
    const c = this.o.config;
    const delayMs = Math.min(c.restart.initial_ms * 2 ** this.failuresInRow, c.restart.max_ms);
    this.failuresInRow = Math.min(this.failuresInRow + 1, 30);
    this.delays.push(delayMs);
    if (this.delays.length > RECENT_DELAYS) this.delays.shift();
    this.o.logger.warn(
      { plugin: c.id, code: ErrorCode.E_PLUGIN_EXITED, why, restartInMs: delayMs },
      'plugin: process ended; restarting after backoff',
    );
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.stopping) return;
      this.restarts++;
      this.spawnOnce();
    }, delayMs);
  }

  private kill(child: ChildProcess, sig: NodeJS.Signals): void {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, sig);
    } catch {
      child.kill(sig);
    }
  }
}
