import { spawnSync } from 'node:child_process';

/**
 * Tests that spawn the daemon as a child process (graceful shutdown, replay, record, the outbox
 * after SIGKILL) run the compiled CLI in dist/, so compile once before any test file runs.
 * Type errors do not stop the emit (the type check is its own CI step); they are printed.
 * EDGELOOM_SKIP_BUILD=1 skips the compile when only in-process tests are being run.
 */
export default function setup(): void {
  if (process.env.EDGELOOM_SKIP_BUILD === '1') return;
  const r = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], {
    stdio: 'inherit',
  });
  if (r.error) throw r.error;
}
