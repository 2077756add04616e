/**
 * The daemon as a whole (issue #16 items 3 and 4), in three parts:
 * 1. Real time (pipeline-realtime.ts): the demo fixture replayed in a loop at speed 1 through
 *    `edgeloom run`; per-stage end-to-end latency p50/p99 and the daemon's CPU seconds per second
 *    of sensor data.
 * 2. The compute floor (pipeline-bare.ts): the same model inferences (same models, session
 *    options, inputs from edgeloom's own preprocessing) as bare `session.run` calls in this
 *    process, each at its fixture time at speed 1, over the daemon's window and as many passes;
 *    `overhead_vs_bare_pct` is what the daemon spends beyond its models, relative to them. The
 *    same runs back to back (batched) are reported too: `overhead_vs_bare_batched_pct`. Beside
 *    them, where the floor goes per model, and the face stage's JPEG decode and resize run bare
 *    (`face_preprocess_*`): `overhead_beyond_preprocess_pct` is what the daemon spends beyond its
 *    models and that preprocessing, relative to the models' floor (the preprocessing is subtracted
 *    from the daemon, not added to the floor), i.e. what the rest of the daemon costs.
 * 3. Idle, below.
 *
 * Idle CPU: what the daemon costs a device when nothing happens. `edgeloom run` with the embedded
 * demo configuration (every model loaded, embedded broker, HTTP, agents, outbox) replays the demo
 * fixture once as fast as it goes (`source.replay.speed: 0`, no loop) and then has no sensor
 * input. After the pass is counted on /metrics and a settle period, the CPU time the child used
 * (utime + stime from /proc/<pid>/stat) is read over a window in which nothing polls it, and
 * reported as a percentage of one core. CPU time, not wall time, so other load on the machine
 * moves it little; the target is the issue's: < 1 % of a core. Beside it, how often the main
 * thread woke in that window (/proc/<pid>/status): a count that does not depend on the machine's
 * speed, and what most of an idle daemon's CPU is on a VM.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpuSeconds, DaemonChild, isolated, mainThreadWakeups } from './daemon-child.js';
import {
  batchedBare,
  type PacedResult,
  pacedBare,
  preprocessMsPerFrame,
  recordPass,
} from './pipeline-bare.js';
import { realtimeRun } from './pipeline-realtime.js';
import type { BenchOptions, BenchTarget, Figures } from './run.js';

export const name = 'pipeline';

export const targets: readonly BenchTarget[] = [
  {
    figure: 'overhead_vs_bare_pct',
    max: 25,
    // A ratio of two CPU times measured in the same run, but of 20 s of input: wider on CI.
    quick: { max: 50 },
    why: 'CPU the daemon spends beyond its model inferences run bare at the same times, relative to them (issue #16 item 4)',
  },
  {
    figure: 'stage_latency_p99_ms.camera_to_face_emotion',
    max: 250,
    quick: 'skip',
    why: "a frame's emotion reaches MQTT within a quarter second, well inside the 500 ms between demo frames",
  },
  {
    figure: 'stage_latency_p99_ms.speech_end_to_transcript',
    max: 1000,
    quick: 'skip',
    why: "the VAD's 480 ms redemption (it must hear the silence) plus transcription within ~0.5 s",
  },
  {
    figure: 'stage_latency_p99_ms.impact_to_fall',
    max: 250,
    quick: 'skip',
    why: 'a fall reaches MQTT within a quarter second of the window that confirms it',
  },
  {
    figure: 'idle_cpu_pct',
    max: 1,
    why: 'CPU of one core used by the daemon with models loaded and no sensor input',
  },
  {
    figure: 'idle_wakeups_per_s',
    max: 30,
    // One loop-delay sampler at 100 ms (util/loop-delay.ts, shared by stats and /metrics) wakes
    // it 10 times a second; anything else adds 1–2. Two (stats', prom-client's) read 11.6–17.6:
    // 11.6 when their timers fell due together.
    why: 'times a second the idle daemon wakes (each a timer or an I/O event): 51 when the loop-delay samplers ran every 20 ms',
  },
];

export async function bench(options: BenchOptions): Promise<Figures> {
  // Full: 3 measured passes (60 s of sensor data) after the warm-up pass; quick: 1.
  const passes = options.quick ? 1 : 3;
  const pass = await recordPass();
  const work = mkdtempSync(join(tmpdir(), 'edgeloom-realtime-'));
  let rt: Awaited<ReturnType<typeof realtimeRun<PacedResult>>>;
  let batched: Awaited<ReturnType<typeof batchedBare>>;
  let preprocessMs: number;
  try {
    // The paced floor runs in this process over the daemon's own window, not after it: both
    // figures come from the same minute of the machine, and the set is a minute shorter. It did
    // not narrow the spread (41–74 % over five runs, 36–75 % one after the other over a day:
    // BENCHMARKS.md, 2026-12-05 night); what a wake-up costs here moves both. The daemon's phase
    // is known only to the /metrics poll (100 ms), so their runs fall at unrelated times within a
    // 32 ms VAD hop: ~0.3 ms runs on two cores rarely meet.
    rt = await realtimeRun({
      passes,
      storageDir: join(work, 'state'),
      alongside: (startMs) => pacedBare(pass, passes, { startMs }),
    });
    batched = await batchedBare(pass, rt.modelRuns);
    preprocessMs = await preprocessMsPerFrame(pass);
  } finally {
    rmSync(work, { recursive: true, force: true });
    await pass.stop();
  }
  const paced = rt.alongside;
  const perSensorS = (cpuS: number): number => Math.round((cpuS / rt.sensorS) * 10_000) / 10_000;
  const pct = (daemon: number, floor: number): number => Math.round(((daemon - floor) / floor) * 1000) / 10;
  const byThread: Record<string, number> = {};
  for (const [name, cpuS] of Object.entries(rt.cpuSByThread)) if (cpuS > 0) byThread[name] = perSensorS(cpuS);
  const floorByModel: Record<string, number> = {};
  for (const [id, cpuS] of Object.entries(paced.cpuSByModel))
    floorByModel[id] = Math.round((cpuS / paced.sensorS) * 10_000) / 10_000;
  const daemonPerSensorS = rt.cpuS / rt.sensorS;
  const pacedPerSensorS = paced.cpuS / paced.sensorS;
  // One decode and resize per detector run (one per analysed frame).
  const preprocessS = ((rt.modelRuns[pass.faceDetectorId] ?? 0) * preprocessMs) / 1000;
  const preprocessPerSensorS = preprocessS / rt.sensorS;
  const realtime: Figures = {
    stage_latency_p50_ms: rt.p50Ms,
    stage_latency_p99_ms: rt.p99Ms,
    stage_latency_messages: rt.messages,
    realtime_sensor_s: rt.sensorS,
    realtime_wall_s: Math.round(rt.wallS * 10) / 10,
    realtime_queue_full_drops: rt.queueFullDrops,
    model_runs: rt.modelRuns,
    bare_paced_runs: paced.runs,
    cpu_s_per_sensor_s: perSensorS(rt.cpuS),
    // Where it goes: per thread, and the wall time of its session.run calls as its model
    // histograms measured them (up to the await resuming, so an upper bound of the ORT part).
    cpu_s_per_sensor_s_by_thread: byThread,
    daemon_model_wall_s_per_sensor_s: perSensorS(rt.modelS),
    bare_cpu_s_per_sensor_s: Math.round(pacedPerSensorS * 10_000) / 10_000,
    bare_cpu_s_per_sensor_s_by_model: floorByModel,
    bare_batched_cpu_s_per_sensor_s: perSensorS(batched.cpuS),
    face_preprocess_ms_per_frame: Math.round(preprocessMs * 100) / 100,
    face_preprocess_cpu_s_per_sensor_s: perSensorS(preprocessS),
    overhead_vs_bare_pct: pct(daemonPerSensorS, pacedPerSensorS),
    overhead_vs_bare_batched_pct: pct(rt.cpuS, batched.cpuS),
    // The daemon less the face stage's JPEG decode and resize, against the same model floor: what
    // the rest of the daemon (replay, bus, VAD state machine, agents, MQTT, storage, observe, GC)
    // costs, on the same scale as the 25 % target.
    overhead_beyond_preprocess_pct: pct(daemonPerSensorS - preprocessPerSensorS, pacedPerSensorS),
  };
  return { ...realtime, ...(await idle(options)) };
}

async function idle(options: BenchOptions): Promise<Figures> {
  const windowS = options.quick ? 10 : 30;
  const settleMs = 5_000;
  const work = mkdtempSync(join(tmpdir(), 'edgeloom-idle-'));
  const overrides: Record<string, string> = {
    EDGELOOM_SOURCE_REPLAY_SPEED: '0',
    EDGELOOM_SOURCE_REPLAY_LOOP: 'false',
    ...isolated(join(work, 'state')),
  };
  const daemon = new DaemonChild(overrides);
  try {
    const url = await daemon.listening();
    const pid = daemon.pid;
    // The event that ends the input: the one pass over the fixture is counted.
    const passStartedMs = performance.now();
    await daemon.metricsAfterPasses(url, 1, { everyMs: 500, timeoutMs: 600_000 });
    const replaySeconds = (performance.now() - passStartedMs) / 1000;
    await new Promise((r) => setTimeout(r, settleMs));
    const cpu0 = cpuSeconds(pid);
    const wake0 = mainThreadWakeups(pid);
    const t0 = performance.now();
    await new Promise((r) => setTimeout(r, windowS * 1000));
    const cpu1 = cpuSeconds(pid);
    const wake1 = mainThreadWakeups(pid);
    const wallS = (performance.now() - t0) / 1000;
    daemon.assertRunning('while idle');
    return {
      idle_window_s: Math.round(wallS),
      idle_cpu_s: Math.round((cpu1 - cpu0) * 1000) / 1000,
      idle_cpu_pct: Math.round(((cpu1 - cpu0) / wallS) * 100 * 100) / 100,
      idle_wakeups_per_s: Math.round(((wake1 - wake0) / wallS) * 10) / 10,
      replay_pass_s: Math.round(replaySeconds),
    };
  } finally {
    await daemon.stop();
    rmSync(work, { recursive: true, force: true });
  }
}
