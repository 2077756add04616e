import { spawnSync } from 'node:child_process';

/**
 * Tests that spawn the daemon as a child process (graceful shutdown, replay, record, the outbox
 * after SIGKILL) run the compiled CLI in dist/, so compile once before any test file runs. A
 * failed compile stops the run with the compiler's messages: tsc emits even on type errors, and
 * tests would otherwise run a dist/ that does not match the source (or a stale one).
 * EDGELOOM_SKIP_BUILD=1 skips the compile when only in-process tests are being run.
 */
export default function setup(): void {
  if (process.env.EDGELOOM_SKIP_BUILD === '1') return;
  const r = spawnSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.build.json'], {
    stdio: 'inherit',
  });
  if (r.error) throw r.error;
  if (r.status !== 0) {
    throw new Error(
      `the compile before the tests failed (tsc -p tsconfig.build.json exited ${r.status ?? r.signal}); see its messages above`,
    );
  }
}
