import type { Logger } from './log.js';

export interface ShutdownOptions {
  readonly logger: Logger;
  /** Total time allowed to drain in-flight work and stop every component, ms. */
  readonly deadlineMs: number;
  /** Stops the daemon; resolves when everything stopped. */
  readonly stop: () => Promise<void>;
  /** Exit hook (process.exit in production; injectable for tests). */
  readonly exit?: (code: number) => void;
}

/**
 * SIGTERM (systemd stop) and SIGINT (Ctrl-C) drain in-flight work and stop components within a
 * deadline, then exit 0: a requested stop is not a failure, so systemd does not restart us.
 * A second signal while stopping exits at once with 130 (the shell's "interrupted").
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
      const deadline = new Promise<'deadline'>((r) =>
        setTimeout(() => r('deadline'), options.deadlineMs).unref(),
      );
      Promise.race([options.stop().then(() => 'stopped' as const), deadline]).then(
        (outcome) => {
          if (outcome === 'deadline') {
            options.logger.warn(
              { deadlineMs: options.deadlineMs },
              'shutdown deadline passed; exiting anyway',
            );
          } else {
            options.logger.info('stopped');
          }
          resolve(0);
        },
        (err: unknown) => {
          options.logger.error({ err }, 'error during shutdown');
          resolve(1);
        },
      );
    };
    process.on('SIGTERM', onSignal);
    process.on('SIGINT', onSignal);
  });
}
