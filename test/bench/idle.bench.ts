/**
 * Idle CPU: what the daemon costs a device when nothing happens. `edgeloom run` with the embedded
 * demo configuration (every model loaded, embedded broker, HTTP, agents, outbox) replays the demo
 * fixture once as fast as it goes (`source.replay.speed: 0`, no loop) and then has no sensor
 * input. After the pass is counted on /metrics and a settle period, the CPU time the child used
 * (utime + stime from /proc/<pid>/stat) is read over a window in which nothing polls it, and
 * reported as a percentage of one core. CPU time, not wall time, so other load on the machine
 * moves it little; the target is the issue's: < 1 % of a core.
 *
 * Not measured here yet: the CPU overhead beyond the models at real-time speed (daemon CPU per
 * second of sensor data vs bare `session.run` on the same inputs) and per-stage latency.
 */
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../../daemon/util/package-root.js';
import type { BenchOptions, BenchTarget, Figures } from './run.js';
import { ChildOutput, httpGet, parseMetrics } from './soak.bench.js';

export const name = 'pipeline';

export const targets: readonly BenchTarget[] = [
  {
    figure: 'idle_cpu_pct',
    max: 1,
    why: 'CPU of one core used by the daemon with models loaded and no sensor input',
  },
];

/** CPU seconds (user + system) a process has used so far. */
function cpuSeconds(pid: number, ticksPerS: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the name.
  return (Number(fields[11]) + Number(fields[12])) / ticksPerS;
}

export async function bench(options: BenchOptions): Promise<Figures> {
  const windowS = options.quick ? 10 : 30;
  const settleMs = 5_000;
  const ticksPerS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());
  const root = packageRoot();
  const work = mkdtempSync(join(tmpdir(), 'edgeloom-idle-'));
  const overrides: Record<string, string> = {
    EDGELOOM_SOURCE_REPLAY_SPEED: '0',
    EDGELOOM_SOURCE_REPLAY_LOOP: 'false',
    EDGELOOM_STORAGE_DIR: join(work, 'state'),
    EDGELOOM_HTTP_PORT: '0',
    EDGELOOM_MQTT_EMBEDDED_PORT: '0',
  };
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('EDGELOOM_')) env[k] = v;
  const child = spawn(process.execPath, [join(root, 'dist/daemon/cli/main.js'), 'run'], {
    cwd: root,
    env: { ...env, ...overrides, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const out = new ChildOutput(child);
  let exited: number | null | undefined;
  const exit = new Promise<number | null>((r) =>
    child.once('exit', (code) => {
      exited = code;
      r(code);
    }),
  );
  try {
    const url = await out.whenListening(child);
    const pid = child.pid!;
    // The event that ends the input: the one pass over the fixture is counted.
    const passStartedMs = performance.now();
    for (;;) {
      if (exited !== undefined) throw new Error(`daemon exited (${exited})\n${out.text()}`);
      const m = parseMetrics(await httpGet(`${url}/metrics`));
      if ((m.get('edgeloom_replay_passes_total') ?? 0) >= 1) break;
      if (performance.now() - passStartedMs > 600_000) throw new Error('replay pass not done in 10 min');
      await new Promise((r) => setTimeout(r, 500));
    }
    const replaySeconds = (performance.now() - passStartedMs) / 1000;
    await new Promise((r) => setTimeout(r, settleMs));
    const cpu0 = cpuSeconds(pid, ticksPerS);
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, windowS * 1000));
    const cpu1 = cpuSeconds(pid, ticksPerS);
    const wallS = (performance.now() - t0) / 1000;
    if (exited !== undefined) throw new Error(`daemon exited (${exited}) while idle\n${out.text()}`);
    return {
      idle_window_s: Math.round(wallS),
      idle_cpu_s: Math.round((cpu1 - cpu0) * 1000) / 1000,
      idle_cpu_pct: Math.round(((cpu1 - cpu0) / wallS) * 100 * 100) / 100,
      replay_pass_s: Math.round(replaySeconds),
    };
  } finally {
    if (exited === undefined) child.kill('SIGTERM');
    await exit;
    rmSync(work, { recursive: true, force: true });
  }
}
