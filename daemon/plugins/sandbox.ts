/**
 * How a plugin's process is started (README, "Write a plugin" → "Sandbox"):
 * - resource limits by prlimit(1): `--as` (address space, the only memory limit an unprivileged
 *   process can set on itself without cgroups) and `--cpu` (CPU seconds; SIGXCPU, then SIGKILL);
 * - isolation by bubblewrap(1): `--unshare-net` leaves the plugin an empty network namespace
 *   (only its own loopback, not the host's: a listener on the host's 127.0.0.1 is unreachable),
 *   `--ro-bind / /` makes the whole file system read-only and `--bind <state> <state>` writable
 *   again just its own state directory (no private /tmp: a plugin's files may live there); `--unshare-pid`, `--die-with-parent` and `--new-session`
 *   keep it from seeing or outliving the daemon and from injecting into its terminal.
 */
import type { PluginConfig } from '../config/types.js';

export interface SpawnPlan {
  readonly file: string;
  readonly args: readonly string[];
  /** True when bubblewrap isolates the plugin. */
  readonly sandboxed: boolean;
}

export function spawnPlan(
  p: Pick<PluginConfig, 'command' | 'sandbox'>,
  dirs: { readonly stateDir: string; readonly cwd: string },
): SpawnPlan {
  const command = [...p.command];
  const sandboxed = !p.sandbox.network || p.sandbox.fs === 'read-only';
  if (sandboxed) {
    command.unshift(
      'bwrap',
      ...(p.sandbox.network ? [] : ['--unshare-net']),
      '--unshare-pid',
      '--unshare-ipc',
      '--unshare-uts',
      '--die-with-parent',
      '--new-session',
      ...(p.sandbox.fs === 'read-only' ? ['--ro-bind', '/', '/'] : ['--bind', '/', '/']),
      '--dev',
      '/dev',
      '--proc',
      '/proc',
      '--bind',
      dirs.stateDir,
      dirs.stateDir,
      '--chdir',
      dirs.cwd,
      '--',
    );
  }
  const limits = [
    ...(p.sandbox.memory_mb > 0 ? [`--as=${p.sandbox.memory_mb * 1024 * 1024}`] : []),
    ...(p.sandbox.cpu_s > 0 ? [`--cpu=${p.sandbox.cpu_s}`] : []),
  ];
  if (limits.length > 0) command.unshift('prlimit', ...limits, '--');
  return { file: command[0]!, args: command.slice(1), sandboxed };
}
