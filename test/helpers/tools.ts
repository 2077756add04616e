import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Absolute path of the repository root. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The compiled CLI (built by the global setup). */
export const CLI = `${REPO_ROOT}dist/daemon/cli/main.js`;

/** True when `tool` is on PATH. */
export function hasTool(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0;
}

/**
 * Whether a test needing system tools may run. On a developer's machine a missing tool skips the
 * test; under CI (CI=true, set by .ci/run) a missing tool is a failure, so a skip can never hide.
 */
export function toolsAvailable(...tools: string[]): boolean {
  const missing = tools.filter((t) => !hasTool(t));
  if (missing.length === 0) return true;
  if (process.env.CI === 'true' || process.env.CI === '1') {
    throw new Error(`required tool(s) missing under CI: ${missing.join(', ')} (install them in .ci/run)`);
  }
  return false;
}
