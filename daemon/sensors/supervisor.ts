import { type ChildProcess, spawn } from 'node:child_process';
import type { SensorState } from '../bus/topics.js';
import type { Logger } from '../log.js';
import type { Clock, TimerHandle } from '../util/clock.js';

/**
 * Keeps one producer child process (ffmpeg, rpicam-vid, gst-launch, sox, arecord) alive for a
 * sensor source: spawn, read stdout, restart with capped exponential backoff and jitter when it
 * exits or stalls, and report every state change. Faults stay local: nothing here throws after
 * construction; a missing binary or device becomes a `failed` state with a message naming it.
 *
 * Policy choices:
 * - Missing binary (spawn ENOENT/EACCES): `failed`, no retry. A binary does not appear by itself,
 *   and retrying would only fill the journal; fixing it means installing a package and restarting.
 * - A failure `diagnose()` recognises (a missing /dev/videoN): `failed`, retried every
 *   `backoff.maxMs`, because a USB camera or microphone may be plugged in later.
 * - Anything else (exit, crash, stall): `restarting`, retried after the backoff delay. The delay
 *   doubles per consecutive failure up to `maxMs` and resets once a run has produced data for
 *   `stableAfterMs`.
 */

export interface BackoffOptions {
  /** First restart delay, ms. */
  readonly initialMs: number;
  /** Upper bound of the delay, ms (jitter never exceeds it). */
  readonly maxMs: number;
  /** ± fraction of the delay drawn at random so sensors that failed together don't restart in lockstep (default 0.2). */
  readonly jitterRatio?: number;
}

export interface SupervisorOptions {
  /** Component name, for log lines and messages. */
  readonly name: string;
  /** argv of the producer; spawned by the default launcher and named in messages. */
  readonly command: readonly string[];
  /**
   * Added to the child's environment (the mic's AUDIODEV for sox and rec). The child is spawned
   * from `command` in its own process group (so a shell pipeline dies as a whole) with stdin
   * ignored and stdout/stderr piped.
   */
  readonly env?: Readonly<Record<string, string>>;
  /** No progress for this long (from spawn or from the last heartbeat) counts as a stall, ms. */
  readonly stallTimeoutMs: number;
  /**
   * Whether every stdout chunk counts as progress (default true). The camera sets false and calls
   * heartbeat() per complete frame, so a producer spewing garbage still counts as stalled.
   */
  readonly heartbeatOnData?: boolean;
  readonly backoff: BackoffOptions;
  /** A run that has produced data for this long resets the backoff (default 10 000 ms). */
  readonly stableAfterMs?: number;
  /** After SIGTERM, wait this long before SIGKILL, ms (default 2000). */
  readonly killGraceMs?: number;
  /** stderr lines kept for error messages (default 20); older lines are dropped. */
  readonly stderrTailLines?: number;
  /** Recognise a permanent-looking failure from the stderr tail; the message becomes the `failed` reason. */
  readonly diagnose?: (stderrTail: readonly string[]) => string | undefined;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Random source in [0, 1) for the jitter (inject for determinism; default Math.random). */
  readonly random?: () => number;
  /** Every stdout chunk of the current child. */
  readonly onData: (chunk: Buffer) => void;
  /** Called before each spawn, so parsers can drop the previous child's partial state. */
  readonly onSpawn?: () => void;
  /** Every state change. */
  readonly onState: (state: SensorState, reason: string | undefined) => void;
}

/**
 * Delay before restart number `attempt` (0-based count of consecutive failures): initialMs doubled
 * per attempt, capped at maxMs, then scaled by a random factor in [1 - jitter, 1 + jitter] and
 * capped again, so the delay never exceeds maxMs.
 */
export function backoffDelayMs(attempt: number, backoff: BackoffOptions, random: () => number): number {
  const { initialMs, maxMs, jitterRatio = 0.2 } = backoff;
  const base = Math.min(maxMs, initialMs * 2 ** attempt);
  const jitter = 1 + jitterRatio * (2 * random() - 1);
  return Math.max(0, Math.min(maxMs, Math.round(base * jitter)));
}

/** Longest stderr line kept, chars (an ffmpeg progress line without newlines must not grow unbounded). */
const MAX_LINE_CHARS = 400;

export class Supervisor {
  private readonly o: SupervisorOptions;
  private readonly stderrLines: number;
  private command: readonly string[];
  private child: ChildProcess | undefined;
  private childClosed: Promise<void> = Promise.resolve();
  /** Bumped per spawn; events from an older child are ignored. */
  private generation = 0;
  private attempt = 0;
  private restartCount = 0;
  private currentState: SensorState = 'stopped';
  private currentReason: string | undefined;
  private lastDataMs = 0;
  private runningSinceMs: number | undefined;
  /** Why the current child is being killed by us (a stall), if it is. */
  private killReason: string | undefined;
  /** True while the last failure was a diagnosed one (missing device): retries are not announced. */
  private diagnosedFailure = false;
  private stopped = true;
  private paused = false;
  private restartTimer: TimerHandle | undefined;
  private stallTimer: TimerHandle | undefined;
  private tail: string[] = [];
  private partialLine = '';

  constructor(options: SupervisorOptions) {
    this.o = options;
    this.stderrLines = options.stderrTailLines ?? 20;
    this.command = options.command;
  }

  get state(): SensorState {
    return this.currentState;
  }
  get reason(): string | undefined {
    return this.currentReason;
  }
  /** Restarts since start() (not counting the first spawn or a resume). */
  get restarts(): number {
    return this.restartCount;
  }
  /** pid of the live child, if any. */
  get pid(): number | undefined {
    return this.child?.pid;
  }
  /** The last stderr lines of the current or last child, oldest first. */
  stderrTail(): readonly string[] {
    return this.partialLine === '' ? [...this.tail] : [...this.tail, this.partialLine];
  }

  /** Spawn the first child. Never throws; failures arrive as states. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.paused = false;
    const checkEveryMs = Math.max(20, Math.floor(this.o.stallTimeoutMs / 4));
    this.stallTimer = this.o.clock.setInterval(() => this.checkStall(), checkEveryMs);
    this.spawnChild();
  }

  /** Kill the child and stay down until resume(); the device is released while paused. */
  async pause(): Promise<void> {
    if (this.stopped || this.paused) return;
    this.paused = true;
    this.restartTimer?.cancel();
    await this.terminate();
    this.setState('paused', undefined);
  }

  resume(): void {
    if (this.stopped || !this.paused) return;
    this.paused = false;
    this.attempt = 0;
    this.diagnosedFailure = false;
    this.spawnChild();
  }

  /** Kill the child (SIGTERM, then SIGKILL after killGraceMs) and cancel every timer. Idempotent. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.restartTimer?.cancel();
    this.stallTimer?.cancel();
    await this.terminate();
    this.setState('stopped', undefined);
  }

  private spawnChild(): void {
    const gen = ++this.generation;
    this.tail = [];
    this.partialLine = '';
    this.killReason = undefined;
    this.runningSinceMs = undefined;
    this.lastDataMs = this.o.clock.monotonicMs();
    this.o.onSpawn?.();
    if (!this.diagnosedFailure) this.setState('starting', undefined);
    let child: ChildProcess;
    try {
      child = this.launch();
    } catch (err) {
      // spawn() throws synchronously only for invalid arguments (e.g. an empty command).
      this.fail(`cannot start ${this.binary()}: ${(err as Error).message}`, false);
      return;
    }
    this.child = child;
    let spawnFailed = false;
    this.childClosed = new Promise((resolve) => {
      child.once('close', (code: number | null, signal: NodeJS.Signals | null) => {
        resolve();
        if (gen !== this.generation || spawnFailed) return;
        this.child = undefined;
        this.onExit(code, signal);
      });
    });
    child.once('error', (err: NodeJS.ErrnoException) => {
      if (gen !== this.generation) return;
      if (err.code === 'ENOENT' || err.code === 'EACCES') {
        spawnFailed = true;
        this.child = undefined;
        const what = err.code === 'ENOENT' ? 'not found (is it installed and on PATH?)' : 'not executable';
        this.fail(`${this.binary()} ${what} [${err.code}]`, false);
      } else {
        this.o.logger.warn({ err: err.message, code: err.code }, 'producer process error');
      }
    });
    // A read error on the pipe (EIO after the child died) must not crash the daemon; the exit
    // itself is handled by 'close'.
    child.stdout?.on('error', () => {});
    const heartbeatOnData = this.o.heartbeatOnData ?? true;
    child.stdout?.on('data', (chunk: Buffer) => {
      if (gen !== this.generation) return;
      if (heartbeatOnData) this.heartbeat();
      this.o.onData(chunk);
    });
    child.stderr?.setEncoding('utf8');
    child.stderr?.on('data', (text: string) => {
      if (gen === this.generation) this.appendStderr(text);
    });
  }

  /** The producer made progress (data or a complete frame): reset the stall clock, enter `running`. */
  heartbeat(): void {
    if (this.child === undefined) return;
    this.lastDataMs = this.o.clock.monotonicMs();
    if (this.currentState !== 'running' && this.killReason === undefined) {
      this.runningSinceMs = this.lastDataMs;
      this.diagnosedFailure = false;
      this.setState('running', undefined);
    }
  }

  /** Replace the argv used from the next spawn on (the camera's fallback encoder). */
  setCommand(command: readonly string[]): void {
    this.command = command;
  }

  private launch(): ChildProcess {
    const [cmd, ...args] = this.command;
    if (cmd === undefined || cmd === '') throw new Error('empty command');
    const env = this.o.env === undefined ? {} : { env: { ...process.env, ...this.o.env } };
    return spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true, ...env });
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.stopped || this.paused) return;
    const now = this.o.clock.monotonicMs();
    if (this.runningSinceMs !== undefined && now - this.runningSinceMs >= (this.o.stableAfterMs ?? 10_000)) {
      this.attempt = 0;
    }
    const tail = this.stderrTail();
    const diagnosis = this.o.diagnose?.(tail);
    if (diagnosis !== undefined) {
      this.fail(diagnosis, true);
      return;
    }
    const how = signal !== null ? `killed by ${signal}` : `exited with code ${code}`;
    const last = tail.length > 0 ? `: ${tail[tail.length - 1]}` : '';
    const reason = this.killReason ?? `${this.binary()} ${how}${last}`;
    this.o.logger.warn({ reason, stderr: tail }, 'producer ended; restarting');
    this.diagnosedFailure = false;
    this.setState('restarting', reason);
    this.scheduleRestart(this.nextDelayMs());
  }

  /** Enter `failed`; with `retry`, try again every backoff.maxMs. */
  private fail(reason: string, retry: boolean): void {
    if (!this.diagnosedFailure || this.currentReason !== reason) {
      this.o.logger.error({ reason, stderr: this.stderrTail(), retry }, 'sensor producer failed');
    }
    this.diagnosedFailure = retry;
    this.setState('failed', reason);
    if (retry && !this.stopped && !this.paused) this.scheduleRestart(this.o.backoff.maxMs);
  }

  private scheduleRestart(delayMs: number): void {
    this.restartTimer?.cancel();
    this.restartTimer = this.o.clock.setTimeout(() => {
      this.restartTimer = undefined;
      if (this.stopped || this.paused) return;
      this.restartCount++;
      this.spawnChild();
    }, delayMs);
  }

  private nextDelayMs(): number {
    const delayMs = backoffDelayMs(this.attempt, this.o.backoff, this.o.random ?? Math.random);
    this.attempt = Math.min(this.attempt + 1, 30);
    return delayMs;
  }

  private checkStall(): void {
    const child = this.child;
    if (child === undefined || this.killReason !== undefined) return;
    const silentMs = this.o.clock.monotonicMs() - this.lastDataMs;
    if (silentMs <= this.o.stallTimeoutMs) return;
    this.killReason = `stalled: no data for ${Math.round(silentMs)} ms`;
    this.setState('stalled', this.killReason);
    this.signal(child, 'SIGKILL'); // a stalled producer is often stuck in the driver and ignores SIGTERM
  }

  /** SIGTERM the child, SIGKILL after the grace period, and wait for it to close. */
  private async terminate(): Promise<void> {
    const child = this.child;
    if (child === undefined) return;
    this.generation++; // its exit is ours, not a failure
    this.child = undefined;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const closed = this.childClosed;
    this.signal(child, 'SIGTERM');
    const killTimer = this.o.clock.setTimeout(
      () => this.signal(child, 'SIGKILL'),
      this.o.killGraceMs ?? 2000,
    );
    await closed;
    killTimer.cancel();
  }

  private signal(child: ChildProcess, sig: NodeJS.Signals): void {
    try {
      // The child leads its own group (detached): signal the group so a pipeline dies whole.
      if (child.pid !== undefined) process.kill(-child.pid, sig);
      else child.kill(sig);
    } catch {
      // Already gone.
    }
  }

  private appendStderr(text: string): void {
    const lines = (this.partialLine + text).split(/\r?\n|\r/);
    this.partialLine = (lines.pop() ?? '').slice(-MAX_LINE_CHARS);
    for (const line of lines) {
      if (line.trim() === '') continue;
      this.tail.push(line.slice(0, MAX_LINE_CHARS));
      if (this.tail.length > this.stderrLines) this.tail.shift(); // bounded: oldest line dropped
    }
  }

  private binary(): string {
    return this.command[0] ?? '(empty command)';
  }

  private setState(state: SensorState, reason: string | undefined): void {
    if (state === this.currentState && reason === this.currentReason) return;
    this.currentState = state;
    this.currentReason = reason;
    this.o.onState(state, reason);
  }
}
