/**
 * Soak: does the daemon run for months? `edgeloom run` — the real run path: the embedded demo
 * configuration (embedded MQTT broker, HTTP /metrics, pipeline, router, agents, outbox, stats) with
 * the demo fixture replayed in a loop as fast as it goes (`source.replay.speed: 0`), storage in a
 * temporary directory — runs in a child process for `--hours H` of sensor (fixture) time (default
 * 24; `--quick`, and `npm run bench` with no name, run 2). At speed 0 an hour of sensor time takes
 * a few minutes, so a day of a device's life is compressed into one or two hours.
 *
 * Sampled every few seconds from outside the process: heap used, external memory, active
 * handles/timers, event-loop delay, open sublevels and store size from /metrics; RSS and open file
 * descriptors from /proc/<pid>. Growth is measured between the end of the first hour of sensor
 * time (warm-up: models loaded, caches and the agents' logs filled) and the end of the run, each
 * over a window of the last quarter hour before that point: heap as the window's median of the live
 * heap (read through the inspector right after a full collection it forces, so garbage waiting for
 * the next major GC is not counted as growth), RSS as its median, descriptors and handles as its
 * minimum, open sublevels as its maximum (they never come and go). The minimum is the level the
 * daemon keeps when nothing is in flight: a file read, a socket write or a short timer (one
 * Timeout is armed in about half the samples of a 24 h run: 13 or 14 handles from the first hour
 * to the last) is not a leak, and a median over such a window lands on either level by chance (a
 * 24 h run read +1 that way); a leaked descriptor or handle stays, and raises the minimum.
 *
 * After the run, SIGTERM must stop the daemon cleanly (exit 0) and the store must hold no more
 * than the retention settings allow: per agent at most agents.retention_events +
 * agents.snapshot_every log entries (plus one input's events) and at most two snapshots, and
 * every sublevel within its row's bound in the store's table (daemon/storage/sublevels.ts).
 *
 * `--heap-snapshots DIR` writes a V8 heap snapshot of the child at the end of the warm-up and at
 * the end (for finding what grows); `--samples FILE` writes every sample as JSON.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Level } from 'level';
import { AgentStore } from '../../daemon/agents/store.js';
import { loadConfig } from '../../daemon/config/index.js';
import { storeInventory } from '../../daemon/storage/inventory.js';
import { DaemonChild, httpGet, isolated, parseMetrics } from './daemon-child.js';
import type { BenchOptions, BenchTarget, Figures } from './run.js';

export const name = 'soak';

export const targets: readonly BenchTarget[] = [
  { figure: 'heap_growth_pct', max: 5, why: 'V8 heap used, end vs end of the warm-up hour' },
  { figure: 'rss_growth_pct', max: 10, why: 'resident memory, end vs end of the warm-up hour' },
  { figure: 'fd_growth', max: 0, why: 'open file descriptors constant' },
  { figure: 'handle_growth', max: 0, why: 'active handles and timers constant' },
  { figure: 'open_sublevels_growth', max: 0, why: 'one open sublevel per owner of the store' },
  {
    figure: 'store_log_entries_over_bound',
    max: 0,
    why: 'agent logs within agents.retention_events + snapshot_every',
  },
  { figure: 'store_snapshots_max', max: 2, why: 'older snapshots compacted away' },
  {
    figure: 'store_sublevels_over_bound',
    max: 0,
    why: 'every sublevel within its retention bound (storage/sublevels.ts), none the table lacks',
  },
  { figure: 'exit_code', min: 0, max: 0, why: 'SIGTERM after the run stops cleanly' },
];

const HOUR_MS = 3_600_000;
/** Growth is compared over windows of this much sensor time before each point. */
const WINDOW_MS = HOUR_MS / 4;
const SAMPLE_EVERY_MS = 3_000;
/**
 * Requests in flight (a file read, a socket write, a DNS lookup) and queued immediates: transient
 * by nature, not handles. Everything else process.getActiveResourcesInfo() names (Timeout,
 * TCPSocketWrap, TCPServerWrap, PipeWrap, ProcessWrap, ...) is a handle.
 */
const REQUEST_TYPES = /^(FSReq|.*ReqWrap$|WriteWrap$|ShutdownWrap$|ConnectWrap$|SendWrap$|Immediate$)/;

interface Sample {
  /** Wall ms since the child started. */
  readonly wallMs: number;
  /** Fixture time replayed, ms. */
  readonly sensorMs: number;
  /** V8 heap used after a forced full collection (the live heap), bytes. */
  readonly heapUsed: number;
  /** V8 heap used as /metrics reports it (live heap plus garbage not yet collected), bytes. */
  readonly heapUsedRaw: number;
  readonly external: number;
  readonly rss: number;
  readonly fds: number;
  readonly handles: number;
  readonly timers: number;
  readonly loopDelayP99Ms: number;
  readonly openSublevels: number;
  readonly storeBytes: number;
  readonly outbox: number;
  /** Active resources by type (handles and requests), for finding what a growth is made of. */
  readonly resources: Record<string, number>;
}

function option(args: readonly string[], key: string): string | undefined {
  const i = args.indexOf(key);
  return i >= 0 ? args[i + 1] : undefined;
}

function procRss(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m === null ? Number.NaN : Number(m[1]) * 1024;
}

function procFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

async function sample(pid: number, url: string, t0: number, inspector: Inspector): Promise<Sample> {
  const m = parseMetrics(await httpGet(`${url}/metrics`));
  await inspector.call('HeapProfiler.collectGarbage');
  const live = (await inspector.call('Runtime.getHeapUsage')) as { usedSize: number };
  const g = (k: string): number => m.get(k) ?? Number.NaN;
  let handles = 0;
  const resources: Record<string, number> = {};
  for (const [k, v] of m) {
    const type = /^nodejs_active_resources\{type="([^"]+)"\}$/.exec(k)?.[1];
    if (type === undefined) continue;
    resources[type] = v;
    if (!REQUEST_TYPES.test(type)) handles += v;
  }
  return {
    wallMs: Date.now() - t0,
    sensorMs: g('edgeloom_replay_fixture_seconds_total') * 1000,
    heapUsed: live.usedSize,
    heapUsedRaw: g('nodejs_heap_size_used_bytes'),
    external: g('nodejs_external_memory_bytes'),
    rss: procRss(pid),
    fds: procFds(pid),
    handles,
    timers: m.get('nodejs_active_resources{type="Timeout"}') ?? 0,
    loopDelayP99Ms: g('nodejs_eventloop_lag_p99_seconds') * 1000,
    openSublevels: g('edgeloom_store_open_sublevels'),
    storeBytes: g('edgeloom_store_size_bytes'),
    outbox: g('edgeloom_mqtt_outbox_depth{outbox="mqtt"}'),
    resources,
  };
}

const min = (xs: number[]): number => Math.min(...xs);
const max = (xs: number[]): number => Math.max(...xs);
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
}

/** Samples in the window of sensor time ending at `endMs`. */
function windowAt(samples: readonly Sample[], endMs: number): Sample[] {
  const w = samples.filter((s) => s.sensorMs > endMs - WINDOW_MS && s.sensorMs <= endMs);
  if (w.length === 0) throw new Error(`no samples in the window ending at ${endMs / HOUR_MS} h`);
  return w;
}

const pct = (from: number, to: number): number => Math.round(((to - from) / from) * 1000) / 10;
const mb = (b: number): number => Math.round(b / 1e5) / 10;

/**
 * The child's V8 inspector (Chrome DevTools Protocol over a WebSocket on loopback): forces a full
 * collection and reads the heap in use right after it. Only the soak uses it; the daemon under
 * test is otherwise started exactly as a user starts it.
 */
class Inspector {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: unknown) => void; reject: (e: Error) => void }>();

  private constructor(private readonly ws: WebSocket) {
    ws.addEventListener('message', (ev) => {
      const msg = JSON.parse(String(ev.data)) as {
        id?: number;
        result?: unknown;
        error?: { message: string };
      };
      const p = msg.id === undefined ? undefined : this.pending.get(msg.id);
      if (p === undefined) return;
      this.pending.delete(msg.id!);
      if (msg.error !== undefined) p.reject(new Error(`inspector: ${msg.error.message}`));
      else p.resolve(msg.result);
    });
    ws.addEventListener('close', () => {
      for (const p of this.pending.values()) p.reject(new Error('inspector closed'));
      this.pending.clear();
    });
  }

  static connect(url: string): Promise<Inspector> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.addEventListener('open', () => resolve(new Inspector(ws)), { once: true });
      ws.addEventListener('error', () => reject(new Error(`inspector: cannot connect to ${url}`)), {
        once: true,
      });
    });
  }

  call(method: string, params: Record<string, unknown> = {}): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.ws.send(JSON.stringify({ id, method, params }));
    });
  }

  close(): void {
    this.ws.close();
  }
}

export async function bench(options: BenchOptions): Promise<Figures> {
  const quick = options.quick || options.all;
  const hours = Number(option(options.args, '--hours') ?? (quick ? 2 : 24));
  if (!(hours > 1)) throw new Error(`--hours must be more than the 1 h warm-up (got ${hours})`);
  const snapshotsDir = option(options.args, '--heap-snapshots');
  const samplesFile = option(options.args, '--samples');
  const work = mkdtempSync(join(tmpdir(), 'edgeloom-soak-'));
  const storageDir = join(work, 'state');
  // The embedded demo configuration, as a new user starts it, with the overrides the issue names.
  const overrides: Record<string, string> = {
    EDGELOOM_SOURCE_REPLAY_SPEED: '0',
    EDGELOOM_SOURCE_REPLAY_LOOP: 'true',
    ...isolated(storageDir),
  };
  // Port 0: the inspector listens on a free loopback port and prints its URL on stderr.
  const nodeArgs: string[] = ['--inspect=127.0.0.1:0'];
  if (snapshotsDir !== undefined) {
    mkdirSync(resolve(snapshotsDir), { recursive: true });
    nodeArgs.push('--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${resolve(snapshotsDir)}`);
  }
  const config = loadConfig({ env: overrides });
  const t0 = Date.now();
  const daemon = new DaemonChild(overrides, nodeArgs);
  const { child, out } = daemon;
  const samples: Sample[] = [];
  const endMs = hours * HOUR_MS;
  let inspector: Inspector | undefined;
  try {
    const url = await daemon.listening();
    const pid = daemon.pid;
    if (out.inspectorUrl === undefined) throw new Error(`no inspector URL from the daemon\n${out.text()}`);
    inspector = await Inspector.connect(out.inspectorUrl);
    let warmSnapshot = snapshotsDir === undefined;
    let reported = 0;
    let failures = 0;
    for (;;) {
      daemon.assertRunning('during the soak');
      await new Promise((r) => setTimeout(r, SAMPLE_EVERY_MS));
      let s: Sample;
      try {
        s = await sample(pid, url, t0, inspector);
        failures = 0;
      } catch (err) {
        // A heap snapshot (or a long collection) can stall the daemon past the HTTP timeouts.
        if (++failures >= 5 || daemon.exitCode !== undefined) throw err;
        process.stderr.write(`soak: sample failed (${(err as Error).message}); retrying\n`);
        continue;
      }
      samples.push(s);
      if (!warmSnapshot && s.sensorMs >= HOUR_MS) {
        child.kill('SIGUSR2');
        warmSnapshot = true;
      }
      const hoursDone = Math.floor(s.sensorMs / HOUR_MS);
      if (hoursDone > reported) {
        reported = hoursDone;
        process.stderr.write(
          `soak: ${hoursDone}/${hours} h sensor time after ${Math.round(s.wallMs / 60_000)} min; heap ${mb(s.heapUsed)} MB, rss ${mb(s.rss)} MB, fds ${s.fds}, handles ${s.handles}, sublevels ${s.openSublevels}, store ${mb(s.storeBytes)} MB\n`,
        );
      }
      if (s.sensorMs >= endMs) break;
    }
    if (snapshotsDir !== undefined) child.kill('SIGUSR2');
  } finally {
    inspector?.close();
  }
  const exitCode = await daemon.stop();
  if (samplesFile !== undefined) writeFileSync(samplesFile, `${JSON.stringify(samples)}\n`);

  const last = samples[samples.length - 1]!;
  const warm = windowAt(samples, HOUR_MS);
  const end = windowAt(samples, last.sensorMs);
  const pick = (w: Sample[], f: (s: Sample) => number): number[] => w.map(f);
  const heapWarm = median(pick(warm, (s) => s.heapUsed));
  const heapEnd = median(pick(end, (s) => s.heapUsed));
  const heapRawWarm = min(pick(warm, (s) => s.heapUsedRaw));
  const heapRawEnd = min(pick(end, (s) => s.heapUsedRaw));
  const rssWarm = median(pick(warm, (s) => s.rss));
  const rssEnd = median(pick(end, (s) => s.rss));
  const extWarm = min(pick(warm, (s) => s.external));
  const extEnd = min(pick(end, (s) => s.external));
  const fdsWarm = min(pick(warm, (s) => s.fds));
  const fdsEnd = min(pick(end, (s) => s.fds));
  const handlesWarm = min(pick(warm, (s) => s.handles));
  const handlesEnd = min(pick(end, (s) => s.handles));
  const store = await storeBound(storageDir, config);
  rmSync(work, { recursive: true, force: true });
  return {
    sensor_hours: Math.round((last.sensorMs / HOUR_MS) * 100) / 100,
    wall_minutes: Math.round(last.wallMs / 6000) / 10,
    speedup_x: Math.round(last.sensorMs / last.wallMs),
    samples: samples.length,
    heap_used_warm_mb: mb(heapWarm),
    heap_used_end_mb: mb(heapEnd),
    heap_growth_pct: pct(heapWarm, heapEnd),
    heap_unforced_min_warm_mb: mb(heapRawWarm),
    heap_unforced_min_end_mb: mb(heapRawEnd),
    heap_unforced_min_growth_pct: pct(heapRawWarm, heapRawEnd),
    rss_warm_mb: mb(rssWarm),
    rss_end_mb: mb(rssEnd),
    rss_growth_pct: pct(rssWarm, rssEnd),
    external_warm_mb: mb(extWarm),
    external_end_mb: mb(extEnd),
    external_growth_pct: pct(extWarm, extEnd),
    fds_warm: fdsWarm,
    fds_end: fdsEnd,
    fd_growth: fdsEnd - fdsWarm,
    handles_warm: handlesWarm,
    handles_end: handlesEnd,
    handle_growth: handlesEnd - handlesWarm,
    timers_warm: min(pick(warm, (s) => s.timers)),
    timers_end: min(pick(end, (s) => s.timers)),
    open_sublevels_warm: max(pick(warm, (s) => s.openSublevels)),
    open_sublevels_end: max(pick(end, (s) => s.openSublevels)),
    open_sublevels_growth: max(pick(end, (s) => s.openSublevels)) - max(pick(warm, (s) => s.openSublevels)),
    loop_delay_p99_warm_ms: Math.round(median(pick(warm, (s) => s.loopDelayP99Ms))),
    loop_delay_p99_end_ms: Math.round(median(pick(end, (s) => s.loopDelayP99Ms))),
    store_warm_mb: mb(median(pick(warm, (s) => s.storeBytes))),
    store_end_mb: mb(median(pick(end, (s) => s.storeBytes))),
    store_max_mb: mb(max(samples.map((s) => s.storeBytes))),
    store_log_entries_max: store.maxLog,
    store_log_entries_bound: store.bound,
    store_log_entries_over_bound: Math.max(0, store.maxLog - store.bound),
    store_snapshots_max: store.maxSnapshots,
    store_sublevels_over_bound: store.sublevelsOverBound,
    outbox_end: last.outbox,
    exit_code: exitCode ?? -1,
  };
}

/**
 * Per-agent log entries and snapshots in the stopped daemon's store, and the retention bound; and
 * the sublevels past their table row's bound (or not in the table at all).
 */
async function storeBound(
  dir: string,
  config: ReturnType<typeof loadConfig>,
): Promise<{ maxLog: number; maxSnapshots: number; bound: number; sublevelsOverBound: number }> {
  const retentionEvents = config.agents.retention_events;
  const snapshotEvery = config.agents.snapshot_every;
  const db = new Level<string, unknown>(dir, { valueEncoding: 'json' });
  await db.open();
  try {
    const inventory = await storeInventory(db, config);
    const sublevelsOverBound =
      inventory.sublevels.filter((r) => r.overBound > 0).length + inventory.unlisted.length;
    const agents = new AgentStore({ db, snapshotEvery, retentionEvents });
    let maxLog = 0;
    let maxSnapshots = 0;
    for (const id of await agents.agentIds()) {
      const c = await agents.counts(id);
      maxLog = Math.max(maxLog, c.log);
      maxSnapshots = Math.max(maxSnapshots, c.snapshots);
    }
    await agents.close();
    // One input may carry a few events past the snapshot that triggers compaction.
    return { maxLog, maxSnapshots, bound: retentionEvents + snapshotEvery + 16, sublevelsOverBound };
  } finally {
    await db.close();
  }
}
