/**
 * End-to-end latency of the three paths a user feels (issue #16): a camera frame until its
 * `face/emotion` message, the end of speech until its `voice/transcript`, an IMU impact until its
 * `imu/motion` fall. Measured by the MQTT bridge when it has handed the message to the sink, as
 * the bus clock's now minus the input's own timestamp (the frame's, the speech segment's end, the
 * impact window's), so queues, models, the router and the agents are all inside it. A message the
 * privacy gate withholds from the broker is not measured: it never leaves.
 *
 * On a replay the clock is the fixture's: at speed 0 no fixture time passes while a record is
 * processed, so what remains is the time the path waits for later input (the VAD's redemption
 * after speech, the motion agent's windows); at speed 1 and on live sensors it is wall time.
 */
import type { Envelope } from '../bus/envelope.js';
import type { FaceInference, MotionEvent, Transcript } from '../bus/topics.js';
import type { Clock } from '../util/clock.js';
import { LatencyHistograms } from '../util/latency-histogram.js';
import { LatencyWindow } from '../util/latency-window.js';

/** The measured paths, as the `stage` label of `edgeloom_stage_latency_seconds`. */
export const STAGES = ['camera_to_face_emotion', 'speech_end_to_transcript', 'impact_to_fall'] as const;
export type Stage = (typeof STAGES)[number];

/** The path an event ends and its input's timestamp, ms; undefined when it ends none. */
export function stageOf(env: Envelope): { readonly stage: Stage; readonly inputTsMs: number } | undefined {
  const [root, a, b, extra] = env.topic.split('/');
  // Refinements (`inference/<kind>/<id>/refined`) are cloud round trips: the router's
  // edgeloom_router_cloud_latency_seconds, not these paths.
  if (extra !== undefined) return undefined;
  if (root === 'inference' && a === 'face' && b !== undefined)
    return { stage: 'camera_to_face_emotion', inputTsMs: (env.payload as FaceInference).inputTsMs };
  if (root === 'inference' && a === 'stt' && b !== undefined)
    return { stage: 'speech_end_to_transcript', inputTsMs: (env.payload as Transcript).inputTsMs };
  if (root === 'agent' && b === 'motion') {
    const p = env.payload as MotionEvent;
    if (p.kind === 'fall') return { stage: 'impact_to_fall', inputTsMs: p.tsMs };
  }
  return undefined;
}

/** One stage on the dashboard: exact percentiles over its recent messages. */
export interface StageLatencyView {
  readonly stage: Stage;
  /** Messages measured since start. */
  readonly count: number;
  /** Over the last RECENT_PER_STAGE messages (fewer at first); 0 before the first one. */
  readonly p50Ms: number;
  readonly p99Ms: number;
}

/**
 * Latencies kept per stage for the exact p50/p99 (the histogram's buckets are a factor 2–2.5
 * apart): 1024 covers 25 passes of the demo's 40 faces; the oldest is overwritten.
 */
export const RECENT_PER_STAGE = 1024;

export class StageLatency {
  /** One series per stage, all present from the start (zeros until the first message). */
  readonly histograms = new LatencyHistograms(STAGES.length);
  private readonly recent = STAGES.map(() => new LatencyWindow(RECENT_PER_STAGE));

  constructor(private readonly clock: Clock) {
    for (const s of STAGES) this.histograms.get(s);
  }

  /** Per stage: messages measured and the exact p50/p99 of the recent ones, ms. */
  view(): readonly StageLatencyView[] {
    return STAGES.map((stage, i) => {
      const { count, p50Ms, p99Ms } = this.recent[i]!.summary();
      return { stage, count, p50Ms, p99Ms };
    });
  }

  /** Count the path `env` ends, if it ends one; called once its MQTT message is handed over. */
  record(env: Envelope): void {
    const s = stageOf(env);
    if (s === undefined || !Number.isFinite(s.inputTsMs)) return;
    const ms = Math.max(0, this.clock.now() - s.inputTsMs);
    this.histograms.observe(s.stage, ms / 1000);
    this.recent[STAGES.indexOf(s.stage)]!.record(ms);
  }
}
