/**
 * The `pipeline` benchmark at real-time speed (issue #16 items 3 and 4): `edgeloom run` with the
 * embedded demo configuration replays the demo fixture in a loop at speed 1
 * (EDGELOOM_SOURCE_REPLAY_SPEED=1), so sensor input arrives as a live device's would and the
 * replay clock follows wall time (util/virtual-clock.ts followWall).
 *
 * The first pass warms up (model loads, JIT, first-run allocations) and is not measured. The
 * window runs from the end of pass 1 to the end of pass 1 + `passes`; both ends fall in the 1 s
 * of silence between passes. The first end is found by polling /metrics; the clock follows wall
 * time from a fixed start, so the last end comes `passes` × (fixture length + 1 s) later, and
 * /metrics is read once then (a scrape costs the daemon ~3 ms; polled every 100 ms it would be
 * billed to the pipeline). Over the window:
 * - the daemon's CPU seconds (utime + stime of every thread, /proc) per second of sensor data
 *   played (edgeloom_replay_fixture_seconds_total), and per thread kind;
 * - the wall time of its session.run calls (edgeloom_model_latency_seconds_sum, each timed until
 *   its await resumes): an upper bound of the CPU ONNX Runtime used, as it runs on the main thread
 *   with one intra-op thread;
 * - the runs per model (edgeloom_model_latency_seconds_count), for the bare floor;
 * - whatever `alongside` measured in this process over the same window (the paced floor);
 * - per-stage latency p50/p99: the daemon's exact figures over its recent messages (/api/stats
 *   `stages`, the dashboard's), which cover every pass, the warm-up one included.
 */
import type { StageLatencyView } from '../../daemon/actions/stage-latency.js';
import { cpuSeconds, DaemonChild, httpGet, isolated, threadCpuSeconds } from './daemon-child.js';

export interface RealtimeResult {
  /** Per stage (actions/stage-latency.ts STAGES), ms. */
  readonly p50Ms: Readonly<Record<string, number>>;
  readonly p99Ms: Readonly<Record<string, number>>;
  /** Messages each p50/p99 is over. */
  readonly messages: Readonly<Record<string, number>>;
  /** Daemon CPU seconds in the window. */
  readonly cpuS: number;
  /** Fixture seconds played in the window. */
  readonly sensorS: number;
  readonly wallS: number;
  /** Session runs per model id in the window. */
  readonly modelRuns: Readonly<Record<string, number>>;
  /** Seconds of session.run calls (all models) in the window, as the daemon timed them. */
  readonly modelS: number;
  /** Daemon CPU seconds in the window per thread kind (threadCpuSeconds). */
  readonly cpuSByThread: Readonly<Record<string, number>>;
  /** Events a full queue dropped anywhere on the bus in the window: 0 when the daemon keeps up. */
  readonly queueFullDrops: number;
}

/** A per-model series of edgeloom_model_latency_seconds (`count` or `sum`), by model id. */
function perModel(m: Map<string, number>, series: 'count' | 'sum'): Map<string, number> {
  const re = new RegExp(`^edgeloom_model_latency_seconds_${series}\\{model="([^"]+)"\\}$`);
  const out = new Map<string, number>();
  for (const [k, v] of m) {
    const id = re.exec(k)?.[1];
    if (id !== undefined) out.set(id, v);
  }
  return out;
}

export interface RealtimeOptions<T> {
  readonly passes: number;
  readonly storageDir: string;
  /**
   * Work run in this process over the same window (the paced floor): started as the window opens,
   * given its start (performance.now() ms) and the wall length of one pass, awaited before the
   * window's end is read. It must be done within `passes` passes of wall time.
   */
  readonly alongside: (windowStartMs: number, passWallMs: number) => Promise<T>;
}

export async function realtimeRun<T>(
  options: RealtimeOptions<T>,
): Promise<RealtimeResult & { alongside: T }> {
  const daemon = new DaemonChild({
    EDGELOOM_SOURCE_REPLAY_SPEED: '1',
    EDGELOOM_SOURCE_REPLAY_LOOP: 'true',
    ...isolated(options.storageDir),
  });
  try {
    const url = await daemon.listening();
    const afterPass = (passes: number, fromMs: number): Promise<Map<string, number>> =>
      daemon.metricsAfterPasses(url, passes, { fromMs, everyMs: 100, timeoutMs: 120_000 });
    const m0 = await afterPass(1, 0);
    const cpu0 = cpuSeconds(daemon.pid);
    const threads0 = threadCpuSeconds(daemon.pid);
    const t0 = performance.now();
    // One pass of wall time: the fixture's length at speed 1, plus the 1 s gap between passes;
    // read 300 ms into the last gap (the first end was seen up to a poll late).
    const passWallMs = (m0.get('edgeloom_replay_fixture_seconds_total') ?? 20) * 1000 + 1000;
    const [m1, alongside] = await Promise.all([
      afterPass(1 + options.passes, t0 + options.passes * passWallMs + 300),
      options.alongside(t0, passWallMs),
    ]);
    const cpu1 = cpuSeconds(daemon.pid);
    const threads1 = threadCpuSeconds(daemon.pid);
    const wallS = (performance.now() - t0) / 1000;
    const stats = JSON.parse(await httpGet(`${url}/api/stats`)) as {
      snapshot: { stages?: StageLatencyView[] };
    };
    daemon.assertRunning('after the real-time run');

    const before = perModel(m0, 'count');
    const modelRuns: Record<string, number> = {};
    for (const [id, n] of perModel(m1, 'count')) modelRuns[id] = n - (before.get(id) ?? 0);
    let modelS = 0;
    for (const s of perModel(m1, 'sum').values()) modelS += s;
    for (const s of perModel(m0, 'sum').values()) modelS -= s;
    const cpuSByThread: Record<string, number> = {};
    for (const [name, s] of threads1) cpuSByThread[name] = s - (threads0.get(name) ?? 0);
    const p50Ms: Record<string, number> = {};
    const p99Ms: Record<string, number> = {};
    const messages: Record<string, number> = {};
    const round = (ms: number): number => Math.round(ms * 10) / 10;
    for (const s of stats.snapshot.stages ?? []) {
      p50Ms[s.stage] = round(s.p50Ms);
      p99Ms[s.stage] = round(s.p99Ms);
      messages[s.stage] = s.count;
    }
    const dropped = (m: Map<string, number>): number => {
      let n = 0;
      for (const [k, v] of m)
        if (k.startsWith('edgeloom_bus_dropped_total{') && k.includes('"queue_full"')) n += v;
      return n;
    };
    return {
      p50Ms,
      p99Ms,
      messages,
      cpuS: cpu1 - cpu0,
      sensorS:
        (m1.get('edgeloom_replay_fixture_seconds_total') ?? 0) -
        (m0.get('edgeloom_replay_fixture_seconds_total') ?? 0),
      wallS,
      modelRuns,
      modelS,
      cpuSByThread,
      queueFullDrops: dropped(m1) - dropped(m0),
      alongside,
    };
  } finally {
    await daemon.stop();
  }
}
