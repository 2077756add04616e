import type { Logger } from './log.js';

export interface ShutdownOptions {
  readonly logger: Logger;
  /** Total time allowed to drain in-flight work and stop every component, ms. */
  readonly deadlineMs: number;
  /** Stops the daemon; resolves when everything stopped. */
  readonly stop: () => Promise<void>;
  /**
   * What the stop is still waiting for (Controller.pending(): `source.replay (starting)`, ...),
   * named when the deadline passes.
   */
  readonly pending?: () => readonly string[];
  /** Exit hook (process.exit in production; injectable for tests). */
  readonly exit?: (code: number) => void;
}

/** Exit code when the shutdown deadline passed with work still running (not a clean stop). */
export const EXIT_DEADLINE = 1;

/**
 * SIGTERM (systemd stop) and SIGINT (Ctrl-C) drain in-flight work and stop components within a
 * deadline, then exit 0: a requested stop is not a failure, so systemd does not restart us.
 * A second signal while stopping exits at once with 130 (the shell's "interrupted").
 *
 * The deadline is kept: when it passes — a component still stopping (or still starting: a stop
 * during start-up waits for the start to give up), or everything stopped but a handle keeps the
 * process alive — one error line names what is left, and the process exits with EXIT_DEADLINE
 * (1). Without that, a stuck read would keep a "stopped" daemon running until systemd's
 * TimeoutStopSec SIGKILLs it. Once everything stopped the timer is unref'd, so a process that
 * empties its event loop exits normally before it fires. (A thread blocked inside the kernel — a
 * read on a hung network mount — cannot be ended from JavaScript: process.exit waits for libuv's
 * threads; systemd's TimeoutStopSec SIGKILL is the last resort there.)
 * Returns a promise that resolves with the exit code once shutdown has finished.
 */
export function handleShutdownSignals(options: ShutdownOptions): Promise<number> {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  let stopping = false;
  return new Promise<number>((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      if (stopping) {
        options.logger.warn({ signal }, 'second signal while stopping: exiting now');
        exit(130);
        return;
      }
      stopping = true;
      options.logger.info({ signal, deadlineMs: options.deadlineMs }, 'shutting down');
      let stopped = false;
      // Referenced while stopping, so a stop that never settles cannot let the process slip away
      // with exit 0 and no word; unreferenced once stopped, so a clean exit does not wait for it.
      const deadline = setTimeout(() => {
        if (stopped) {
          const resources = process.getActiveResourcesInfo();
          options.logger.error(
            { deadlineMs: options.deadlineMs, activeResources: resources },
            `stopped, but the process was still running when the shutdown deadline passed (kept alive by: ${resources.join(', ') || 'nothing visible'}); exiting`,
          );
        } else {
          const pending = options.pending?.() ?? [];
          options.logger.error(
            { deadlineMs: options.deadlineMs, notStopped: pending },
            `shutdown deadline of ${options.deadlineMs} ms passed; not stopped: ${pending.join(', ') || 'unknown'}; exiting`,
          );
        }
        options.logger.flush();
        exit(EXIT_DEADLINE);
      }, options.deadlineMs);
      options.stop().then(
        () => {
          stopped = true;
          deadline.unref();
          options.logger.info('stopped');
          resolve(0);
        },
        (err: unknown) => {
          stopped = true;
          deadline.unref();
          options.logger.error({ err }, 'error during shutdown');
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}
