/**
 * A .deb installed into a fresh root and run from there, on an x86-64 host.
 *
 * `dpkg --root` with an empty admin directory installs the package and runs its maintainer scripts
 * (chrootless, with DPKG_ROOT set, as dpkg does for a root without a shell). The installed tree
 * is then run under bubblewrap as `/`, read-only, with the host's C library, loader and /bin/sh
 * mounted in (the bundled Node needs a libc, which the package depends on rather than ships), in
 * a network namespace of its own: the packaged config names a LAN broker, which must never be
 * contacted from a test.
 */
import { type SpawnSyncReturns, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface RunResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

const MULTIARCH = 'x86_64-linux-gnu';

function result(r: SpawnSyncReturns<string>): RunResult {
  if (r.error) throw r.error;
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/**
 * The arguments that make dpkg work on ROOT, with its admin directory inside ROOT (created empty
 * on first use): `dpkg ...dpkgRootArgs(root) -i file.deb`.
 */
export function dpkgRootArgs(root: string): string[] {
  const admin = join(root, 'var/lib/dpkg');
  for (const d of ['info', 'updates', 'triggers']) mkdirSync(join(admin, d), { recursive: true });
  for (const f of ['status', 'available']) if (!existsSync(join(admin, f))) writeFileSync(join(admin, f), '');
  return [
    `--root=${root}`,
    `--admindir=${admin}`,
    '--log=/dev/null',
    // The fresh root has no /bin/sh to chroot into; the scripts honour DPKG_ROOT instead.
    '--force-script-chrootless',
    // libc6 & co. are not in this root's (empty) status database; the host's are used by inRoot.
    '--force-depends',
  ];
}

/** `dpkg` on ROOT (see dpkgRootArgs). */
export function dpkg(root: string, args: readonly string[]): RunResult {
  return result(spawnSync('dpkg', [...dpkgRootArgs(root), ...args], { encoding: 'utf8' }));
}

/** Mount points and merged-/usr links bubblewrap needs in a read-only root. */
function skeleton(root: string): void {
  for (const d of [`usr/lib/${MULTIARCH}`, 'usr/lib64', 'usr/bin', 'proc', 'dev', 'tmp', 'run']) {
    mkdirSync(join(root, d), { recursive: true });
  }
  if (!existsSync(join(root, 'usr/bin/sh'))) writeFileSync(join(root, 'usr/bin/sh'), '');
  for (const [link, target] of [
    ['bin', 'usr/bin'],
    ['lib', 'usr/lib'],
    ['lib64', 'usr/lib64'],
  ] as const) {
    if (!existsSync(join(root, link))) symlinkSync(target, join(root, link));
  }
}

export interface InRootOptions {
  /** Working directory inside the root (default /tmp, a private tmpfs). */
  readonly cwd?: string;
  /** Environment (PATH=/usr/bin, HOME=/tmp and LANG are always set). */
  readonly env?: Record<string, string>;
  /** Extra read-only binds, host path → path inside (under /run or /tmp, which are tmpfs). */
  readonly binds?: Readonly<Record<string, string>>;
}

/** Run `argv` with ROOT as `/` (read-only), the host's libc and /bin/sh, and no network. */
export function inRoot(root: string, argv: readonly string[], options: InRootOptions = {}): RunResult {
  skeleton(root);
  const env = { PATH: '/usr/bin', HOME: '/tmp', LANG: 'C.UTF-8', ...options.env };
  const args = [
    '--ro-bind',
    root,
    '/',
    '--ro-bind',
    `/usr/lib/${MULTIARCH}`,
    `/usr/lib/${MULTIARCH}`,
    '--ro-bind',
    '/usr/lib64',
    '/usr/lib64',
    '--ro-bind',
    '/bin/sh',
    '/usr/bin/sh',
    '--proc',
    '/proc',
    '--dev',
    '/dev',
    '--tmpfs',
    '/tmp',
    '--tmpfs',
    '/run',
    ...Object.entries(options.binds ?? {}).flatMap(([from, to]) => ['--ro-bind', from, to]),
    '--unshare-net',
    '--die-with-parent',
    '--clearenv',
    ...Object.entries(env).flatMap(([k, v]) => ['--setenv', k, v]),
    '--chdir',
    options.cwd ?? '/tmp',
    ...argv,
  ];
  return result(spawnSync('bwrap', args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }));
}
