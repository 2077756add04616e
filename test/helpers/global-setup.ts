import { execFileSync } from 'node:child_process';

/**
 * Tests that spawn the daemon as a child process (graceful shutdown, replay, record, the outbox
 * after SIGKILL) run the compiled CLI in dist/, so compile once before any test file runs.
 */
export default function setup(): void {
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], {
    stdio: 'inherit',
  });
}
