/**
 * One utterance as processes: the TTS program (argv, never a shell), and optionally a player that
 * plays what the program writes on its standard output (`piper --output-raw | aplay …`, piped here
 * without a shell). The text reaches the program on its standard input or as the last argument
 * after `--` (POSIX utility syntax guideline 10: everything after `--` is an operand), never where
 * it reads options: `--phonout=FILE` as a bare argument would be an espeak-ng option that
 * truncates FILE (test/integration/attack-speak-injection.test.ts).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import type { TtsInput } from '../agents/builtin-tools.js';
import { EdgeloomError, ErrorCode } from '../errors.js';

/** How one utterance is spoken: the config slice `agents.voice.tts`, as argv arrays. */
export interface TtsCommand {
  /** Program and arguments; `{utterance}` and `{output}` are filled per utterance. */
  readonly command: readonly string[];
  readonly input: TtsInput;
  /** Plays the program's standard output; empty: the program plays the audio itself. */
  readonly player: readonly string[];
  /** Put where `{output}` stands (an ALSA PCM name). */
  readonly outputDevice: string;
}

/** What ended an utterance's processes. */
export type TtsOutcome =
  | { readonly ok: true }
  /** Killed on purpose (silence, timeout, stop): `why` says which. */
  | { readonly ok: false; readonly killed: string }
  | { readonly ok: false; readonly error: EdgeloomError };

/** The utterance id as a file-name stem: anything but letters, digits, `-` and `_` becomes `_`. */
export function fileStem(utteranceId: string): string {
  const stem = utteranceId.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 96);
  return stem === '' ? '_' : stem;
}

/** Fill the placeholders of one argv (text is never one of them: it goes to stdin or after `--`). */
export function fillArgv(argv: readonly string[], utteranceId: string, outputDevice: string): string[] {
  const stem = fileStem(utteranceId);
  return argv.map((a) => a.replaceAll('{utterance}', stem).replaceAll('{output}', outputDevice));
}

/** Bytes of a program's standard error kept for the error message (the rest is discarded). */
const STDERR_KEEP_BYTES = 2000;

/**
 * The processes of one utterance. `done` settles once every process has exited (never rejects);
 * `kill(why)` ends them at once with SIGTERM and makes `done` report `{ killed: why }`.
 */
export class TtsRun {
  readonly done: Promise<TtsOutcome>;
  private readonly children: ChildProcess[] = [];
  private killedWhy: string | undefined;

  constructor(c: TtsCommand, text: string, utteranceId: string) {
    try {
      this.done = this.spawnAll(c, text, utteranceId);
    } catch (err) {
      // spawn() throws at once on arguments it refuses (an empty program name, a NUL byte).
      this.terminate();
      const error = new EdgeloomError(
        ErrorCode.E_TTS_UNAVAILABLE,
        `the TTS command cannot be started: ${(err as Error).message} (agents.voice.tts)`,
        { where: 'tts', cause: err },
      );
      this.done = Promise.resolve({ ok: false, error });
    }
  }

  private spawnAll(c: TtsCommand, text: string, utteranceId: string): Promise<TtsOutcome> {
    const [program, ...rest] = fillArgv(c.command, utteranceId, c.outputDevice);
    const args = c.input === 'argument' ? [...rest, '--', text] : rest;
    const playerArgv = fillArgv(c.player, utteranceId, c.outputDevice);
    const piped = playerArgv.length > 0;
    const tts = spawn(program ?? '', args, {
      stdio: [c.input === 'stdin' ? 'pipe' : 'ignore', piped ? 'pipe' : 'ignore', 'pipe'],
    });
    this.children.push(tts);
    const runs = [this.watch(tts, program ?? '')];
    if (tts.stdin !== null) {
      // A program that exits without reading its input closes the pipe: its exit code tells.
      tts.stdin.on('error', () => undefined);
      tts.stdin.end(`${text}\n`);
    }
    if (piped) {
      const [player, ...playerArgs] = playerArgv;
      const play = spawn(player!, playerArgs, { stdio: ['pipe', 'ignore', 'pipe'] });
      this.children.push(play);
      runs.push(this.watch(play, player!));
      // A player that dies (no such device) breaks the pipe: the TTS then fails on its own write.
      play.stdin?.on('error', () => undefined);
      tts.stdout?.on('error', () => undefined);
      tts.stdout?.pipe(play.stdin!);
    }
    return Promise.all(runs).then((errors) => {
      if (this.killedWhy !== undefined) return { ok: false, killed: this.killedWhy };
      const error = errors.find((e) => e !== undefined);
      return error === undefined ? { ok: true } : { ok: false, error };
    });
  }

  /** End the utterance now (SIGTERM to every process still running). The first reason wins. */
  kill(why: string): void {
    this.killedWhy ??= why;
    this.terminate();
  }

  private terminate(): void {
    for (const child of this.children) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      // The pipe between program and player is paused under backpressure; audio still in it would
      // keep 'close' from ever coming: the pipes are discarded with the processes.
      child.stdout?.destroy();
      child.stdin?.destroy();
    }
  }

  /** Resolves with undefined on exit 0, else the error (never rejects). */
  private watch(child: ChildProcess, program: string): Promise<EdgeloomError | undefined> {
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => {
      if (stderr.length < STDERR_KEEP_BYTES) stderr += d.toString();
    });
    return new Promise((resolve) => {
      let spawnError: EdgeloomError | undefined;
      child.on('error', (err: NodeJS.ErrnoException) => {
        // ENOENT/EACCES: the program is not there; 'close' still follows.
        spawnError = new EdgeloomError(
          ErrorCode.E_TTS_UNAVAILABLE,
          `'${program}' cannot be run (${err.code ?? err.message}): install it or fix agents.voice.tts`,
          { where: 'tts', cause: err },
        );
        // Take the other processes down with it: a player without its TTS waits for nothing.
        this.terminate();
      });
      child.on('close', (code, sig) => {
        if (spawnError !== undefined) return resolve(spawnError);
        if (code === 0) return resolve(undefined);
        resolve(
          new EdgeloomError(
            ErrorCode.E_TTS_FAILED,
            `${program} exited ${code ?? sig}${stderr.trim() === '' ? '' : `: ${stderr.trim().slice(0, 500)}`}`,
            { where: 'tts' },
          ),
        );
      });
    });
  }
}
