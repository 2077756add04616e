import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Absolute path of the repository root. */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The compiled CLI (built by the global setup). */
export const CLI = `${REPO_ROOT}dist/daemon/cli/main.js`;

/** True under CI (`CI=true`, set by .ci/run): there, nothing the tests need may be missing. */
export const UNDER_CI = process.env.CI === 'true' || process.env.CI === '1';

/**
 * Debian installs daemons such as mosquitto in the sbin directories, which a non-login shell (and
 * so a test process) often lacks on PATH; they are searched after PATH.
 */
const SBIN_DIRS = ['/usr/local/sbin', '/usr/sbin', '/sbin'];

/** Absolute path of the executable `tool` on PATH (then the sbin directories), or undefined. */
export function toolPath(tool: string): string | undefined {
  if (tool.includes('/')) return isExecutable(tool) ? tool : undefined;
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter((d) => d !== ''), ...SBIN_DIRS];
  for (const dir of dirs) {
    const candidate = join(dir, tool);
    if (isExecutable(candidate)) return candidate;
  }
  return undefined;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** True when `tool` is an executable on PATH (or in the sbin directories). */
export function hasTool(tool: string): boolean {
  return toolPath(tool) !== undefined;
}

/** What a test needs from the machine. */
export interface Needs {
  /** Programs, found on PATH or in the sbin directories (e.g. `ffmpeg`, `mosquitto`). */
  readonly tools?: readonly string[];
  /** Files that come from outside the repository (a Debian package's data, a browser), by absolute path. */
  readonly files?: readonly string[];
}

/**
 * Whether a test needing these tools and files may run: `describe.runIf(needs({ tools: ['sox'] }))`.
 * On a developer's machine something missing skips the test. Under CI (`CI=true`, set by .ci/run,
 * which installs everything the suite needs) it throws at collection, naming what is missing, so
 * the test file fails: a skip can never make CI green.
 */
export function needs(what: Needs): boolean {
  const missing = [
    ...(what.tools ?? []).filter((t) => !hasTool(t)).map((t) => `tool ${t}`),
    ...(what.files ?? []).filter((f) => !existsSync(f)).map((f) => `file ${f}`),
  ];
  if (missing.length === 0) return true;
  if (UNDER_CI) {
    throw new Error(`needed under CI but missing: ${missing.join(', ')} (install it in .ci/run)`);
  }
  return false;
}

/** Shorthand for `needs({ tools })`. */
export function toolsAvailable(...tools: string[]): boolean {
  return needs({ tools });
}
