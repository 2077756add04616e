/**
 * What the daemon benchmarks share: `edgeloom run` (the compiled CLI, the embedded demo
 * configuration) started in a child process with EDGELOOM_* overrides and nothing inherited from
 * the caller's own EDGELOOM_* environment; its stdout scanned for the HTTP URL; /metrics read as a
 * map; its CPU time read from /proc.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { packageRoot } from '../../daemon/util/package-root.js';

/** `name{labels} value` lines of the Prometheus text format, summed per name (and per label text). */
export function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const sp = line.lastIndexOf(' ');
    const key = line.slice(0, sp);
    const value = Number(line.slice(sp + 1));
    out.set(key, value);
    const bare = key.replace(/\{.*$/, '');
    if (bare !== key) out.set(`${bare}{*}`, (out.get(`${bare}{*}`) ?? 0) + value);
  }
  return out;
}

export function httpGet(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    get(url, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (s: string) => {
        body += s;
      });
      res.on('end', () =>
        res.statusCode === 200 ? resolve(body) : reject(new Error(`${url}: HTTP ${res.statusCode}`)),
      );
    }).on('error', reject);
  });
}

/** The daemon's stdout, scanned line by line for the HTTP URL; the last lines kept for errors. */
export class ChildOutput {
  url: string | undefined;
  /** The child's inspector WebSocket URL, when it was started with --inspect. */
  inspectorUrl: string | undefined;
  private tail: string[] = [];
  private partial = '';
  private waiters: Array<() => void> = [];

  constructor(child: ChildProcess) {
    const take = (chunk: Buffer): void => {
      const lines = (this.partial + chunk.toString('utf8')).split('\n');
      this.partial = lines.pop() ?? '';
      for (const line of lines) {
        this.tail.push(line);
        if (this.tail.length > 200) this.tail.shift();
        const ws = /Debugger listening on (ws:\/\/\S+)/.exec(line)?.[1];
        if (ws !== undefined) this.inspectorUrl = ws;
        if (this.url === undefined && line.includes('"http listening"')) {
          this.url = (JSON.parse(line) as { url: string }).url;
          for (const w of this.waiters.splice(0)) w();
        }
      }
    };
    child.stdout?.on('data', take);
    child.stderr?.on('data', take);
  }

  whenListening(child: ChildProcess): Promise<string> {
    return new Promise((resolve, reject) => {
      const done = (): void => (this.url === undefined ? undefined : resolve(this.url));
      this.waiters.push(done);
      child.once('exit', (code) =>
        reject(new Error(`daemon exited (${code}) before listening\n${this.text()}`)),
      );
      done();
    });
  }

  text(): string {
    return this.tail.join('\n');
  }
}

const TICKS_PER_S = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

/** CPU seconds (user + system) process `pid` has used so far (/proc/<pid>/stat). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the name.
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_S;
}

/**
 * Times the main thread of process `pid` went to sleep and was woken since it started
 * (voluntary_ctxt_switches in /proc/<pid>/status, which is the main thread's own line): each is a
 * wake-up of the event loop, and on a VM each costs ~0.1 ms of CPU.
 */
export function mainThreadWakeups(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^voluntary_ctxt_switches:\s+(\d+)$/m.exec(status);
  if (m === null) throw new Error(`/proc/${pid}/status has no voluntary_ctxt_switches`);
  return Number(m[1]);
}

/**
 * CPU seconds per thread kind of process `pid` (/proc/<pid>/task/<tid>/stat, by thread name):
 * `MainThread` (JavaScript, and ONNX Runtime, whose runs execute on it), `V8Worker` (concurrent
 * garbage collection and compilation), `libuv-worker`, `libvips worker`, ... Threads that ended
 * since are not counted.
 */
export function threadCpuSeconds(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    } catch {
      continue; // the thread ended between the listing and the read
    }
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    out.set(name, (out.get(name) ?? 0) + (Number(fields[11]) + Number(fields[12])) / TICKS_PER_S);
  }
  return out;
}

/**
 * What every benchmark run of the daemon sets: storage in `storageDir` (a temporary directory the
 * caller removes), and the HTTP server and embedded broker on free ports.
 */
export function isolated(storageDir: string): Record<string, string> {
  return { EDGELOOM_STORAGE_DIR: storageDir, EDGELOOM_HTTP_PORT: '0', EDGELOOM_MQTT_EMBEDDED_PORT: '0' };
}

/** `edgeloom run` in a child process, with `overrides` as EDGELOOM_* variables. */
export class DaemonChild {
  readonly child: ChildProcess;
  readonly out: ChildOutput;
  /** The exit code once it has exited (null for a signal); undefined while it runs. */
  exitCode: number | null | undefined;
  private readonly exit: Promise<number | null>;

  constructor(overrides: Record<string, string>, nodeArgs: readonly string[] = []) {
    const root = packageRoot();
    const env: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('EDGELOOM_')) env[k] = v;
    this.child = spawn(process.execPath, [...nodeArgs, join(root, 'dist/daemon/cli/main.js'), 'run'], {
      cwd: root,
      env: { ...env, ...overrides, NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.out = new ChildOutput(this.child);
    this.exit = new Promise((resolve) =>
      this.child.once('exit', (code) => {
        this.exitCode = code;
        resolve(code);
      }),
    );
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** The HTTP base URL once the daemon listens; rejects if it exits first. */
  listening(): Promise<string> {
    return this.out.whenListening(this.child);
  }

  /** Throws (with the daemon's last output) if it has exited. */
  assertRunning(during: string): void {
    if (this.exitCode !== undefined)
      throw new Error(`daemon exited (${this.exitCode}) ${during}\n${this.out.text()}`);
  }

  /**
   * /metrics (parsed) once the replay has counted `passes` passes: polled every `everyMs`, from
   * `fromMs` (performance.now()) on, failing past `timeoutMs` or when the daemon exits.
   */
  async metricsAfterPasses(
    url: string,
    passes: number,
    o: { readonly fromMs?: number; readonly everyMs: number; readonly timeoutMs: number },
  ): Promise<Map<string, number>> {
    const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, Math.max(0, ms)));
    await sleep((o.fromMs ?? 0) - performance.now());
    const deadline = performance.now() + o.timeoutMs;
    for (;;) {
      this.assertRunning(`waiting for replay pass ${passes}`);
      const m = parseMetrics(await httpGet(`${url}/metrics`));
      if ((m.get('edgeloom_replay_passes_total') ?? 0) >= passes) return m;
      if (performance.now() > deadline)
        throw new Error(`replay pass ${passes} not done in ${o.timeoutMs} ms`);
      await sleep(o.everyMs);
    }
  }

  /** SIGTERM unless it has exited; resolves to its exit code. */
  stop(): Promise<number | null> {
    if (this.exitCode === undefined) this.child.kill('SIGTERM');
    return this.exit;
  }
}
