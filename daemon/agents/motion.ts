/**
 * Motion agent: `sensor/imu/+/window` (ImuEvent windows) → MotionEvents on `agent/<id>/motion`
 * (`agent/motion/motion` with the default id; the MQTT bridge maps it to `imu/motion`).
 *
 * Storage (why it looks like this): IMU windows arrive at 10–100 per second for months, on a Pi's
 * SD card. Logging each one would wear the card out for nothing, so only detections are domain
 * events (`detected`: fall, shake, tilt, and the still/moving transitions); the domain state
 * (current activity, last report per kind, counts) is their fold. The signal filters below
 * (gravity estimate, rest reference, running windows) are the agent's working memory
 * (reducer.ts WorkingMemorySpec): updated in memory per window, written with each detection, at
 * most every `workingSnapshotIntervalMs` otherwise, and on stop. A restart after a clean stop
 * therefore resumes exactly where it was. After a crash the working memory is up to that interval
 * old; the first window more than GAP_RESET_MS after the last one it saw resets the running
 * windows (free-fall run, impact deadline, shake strokes, quiet/active timers) while keeping the
 * learned references, so the detectors rebuild from the next inputs. Consequence: a fall (or a
 * shake) in progress while the daemon restarts may be missed, and still/moving timers start over.
 *
 * Detection, from the filtered windows:
 * - fall: consecutive windows with |a|min < freeFallG lasting ≥ FREE_FALL_MIN_MS (80 ms), then a
 *   window with |a|max > impactG within IMPACT_WINDOW_MS (1 s) of the free fall's end.
 * - shake: sign reversals of an accel axis swinging beyond ±shakeAccelG away from gravity, or of a
 *   gyro axis beyond ±shakeDegS; SHAKE_MIN_REVERSALS within SHAKE_WINDOW_MS. A steady spin (a fall
 *   tumbling at 300 deg/s) has no reversals, so it is not a shake. Reported on a reversal only, so
 *   strokes left in the window after the shaking stopped do not trigger it.
 * - tilt: angle between the gravity estimate (low-pass, GRAVITY_TAU_MS) and the rest reference
 *   (the gravity direction while quiet, low-pass REST_TAU_MS) ≥ tiltDeg, while the gravity estimate
 *   is quasi-static (|g| in 0.8..1.2). Latched until the angle falls below half of tiltDeg.
 * - still / moving: quiet = std of |a| (exponential, VAR_TAU_MS) < STILL_ACCEL_STD_G and every gyro
 *   axis < STILL_GYRO_DEG_S and |a| within 0.1 g of 1 g. Still after `stillMs` quiet; moving after
 *   MOVING_MS not quiet; each reported on the transition only.
 * fall, shake and tilt are debounced: the same kind is not reported again within `refractoryMs`.
 */
import type { ImuEvent, MotionEvent, MotionKind } from '../bus/topics.js';
import type { AgentDefinition, AgentInput, Decision, SubscriptionSpec } from './reducer.js';

export const FREE_FALL_MIN_MS = 80;
export const IMPACT_WINDOW_MS = 1000;
export const SHAKE_WINDOW_MS = 1000;
export const SHAKE_MIN_REVERSALS = 4;
export const GRAVITY_TAU_MS = 300;
export const REST_TAU_MS = 500;
export const VAR_TAU_MS = 500;
export const STILL_ACCEL_STD_G = 0.03;
export const STILL_GYRO_DEG_S = 5;
export const MOVING_MS = 300;
/** Reversal timestamps kept (bounded; SHAKE_MIN_REVERSALS is what matters). */
const MAX_REVERSALS = 32;
/**
 * Windows further apart than this (or going back in time) do not continue the running windows:
 * a restart, a sensor dropout or a burst of drop-oldest losses breaks the signal's continuity.
 * 500 ms is 25–50 windows at the usual event rates, far more than a normal jitter.
 */
export const GAP_RESET_MS = 500;
/** Default longest time between working-memory writes without a detection, ms (≤ 2880/day). */
export const MOTION_WORKING_SNAPSHOT_MS = 30_000;

export interface MotionOptions {
  /** |a| below this is free fall, g. */
  readonly freeFallG: number;
  /** |a| above this after a free fall is the impact, g. */
  readonly impactG: number;
  /** Gyro swing counted as a shake stroke, deg/s. */
  readonly shakeDegS: number;
  /** Linear acceleration swing (away from gravity) counted as a shake stroke, g. */
  readonly shakeAccelG: number;
  /** Angle from the rest orientation reported as tilt, degrees. */
  readonly tiltDeg: number;
  /** Quiet for this long is still, ms. */
  readonly stillMs: number;
  /** The same kind (fall, shake, tilt) is not reported again within this, ms. */
  readonly refractoryMs: number;
  /** Longest time between working-memory writes without a detection, ms; default 30 s. */
  readonly workingSnapshotIntervalMs?: number;
  /**
   * How IMU windows reach the agent: sensors.imu.qos, queue_capacity and sampling (sensors/
   * bus-knobs.ts). Default realtime, 256 deep, drop-oldest: a detector that far behind is better
   * off with fresh windows; drops are counted by the bus.
   */
  readonly windows?: Pick<SubscriptionSpec, 'qos' | 'capacity' | 'overflow'>;
  /** Default `motion`. */
  readonly id?: string;
}

type Vec = readonly [number, number, number];

/** The domain state: the fold of the `detected` events. */
export interface MotionState {
  readonly activity: 'unknown' | 'still' | 'moving';
  /** Window time of the last report per kind, ms (debounce). */
  readonly lastReported: Readonly<Partial<Record<MotionKind, number>>>;
  readonly counts: Readonly<Partial<Record<MotionKind, number>>>;
}

/** The working memory: signal filters and running windows, updated per window, never logged. */
export interface MotionFilter {
  readonly lastTsMs: number | null;
  readonly gravity: Vec | null;
  readonly rest: Vec | null;
  readonly tiltLatched: boolean;
  /** The free-fall run in progress. */
  readonly freeFall: { readonly startMs: number; readonly endMs: number } | null;
  /** An impact before this time completes a fall. */
  readonly impactDeadlineMs: number | null;
  readonly lastFreeFallMs: number;
  /** Last sign beyond threshold per channel: ax ay az gx gy gz. */
  readonly signs: readonly number[];
  readonly reversals: readonly number[];
  readonly magEma: number | null;
  readonly magVar: number;
  readonly quietSinceMs: number | null;
  readonly activeSinceMs: number | null;
}

/** One aggregated window, as the filters read it. */
export interface MotionSample {
  readonly tsMs: number;
  readonly windowMs: number;
  readonly a: Vec;
  readonly g: Vec;
  readonly magMin: number;
  readonly magMax: number;
  readonly magMean: number;
}

export type MotionDomainEvent = {
  readonly type: 'detected';
  readonly kind: MotionKind;
  readonly tsMs: number;
  readonly details: Readonly<Record<string, number>>;
};

export function initialMotionState(): MotionState {
  return { activity: 'unknown', lastReported: {}, counts: {} };
}

export function initialMotionFilter(): MotionFilter {
  return {
    lastTsMs: null,
    gravity: null,
    rest: null,
    tiltLatched: false,
    ...RUNNING_WINDOWS_RESET,
  };
}

/** The running windows, as they are after a gap. */
const RUNNING_WINDOWS_RESET = {
  freeFall: null,
  impactDeadlineMs: null,
  lastFreeFallMs: 0,
  signs: [0, 0, 0, 0, 0, 0],
  reversals: [],
  magEma: null,
  magVar: 0,
  quietSinceMs: null,
  activeSinceMs: null,
} as const satisfies Partial<MotionFilter>;

const ema = (prev: number, x: number, alpha: number): number => prev + alpha * (x - prev);
const emaVec = (prev: Vec, x: Vec, alpha: number): Vec => [
  ema(prev[0], x[0], alpha),
  ema(prev[1], x[1], alpha),
  ema(prev[2], x[2], alpha),
];
const norm = (v: Vec): number => Math.hypot(v[0], v[1], v[2]);

export function angleDeg(a: Vec, b: Vec): number {
  const d = norm(a) * norm(b);
  if (d === 0) return 0;
  const c = (a[0] * b[0] + a[1] * b[1] + a[2] * b[2]) / d;
  return (Math.acos(Math.min(1, Math.max(-1, c))) * 180) / Math.PI;
}

/**
 * PURE reducer of the domain state. Entries of other types (the per-window `sample` events an
 * earlier version logged) are skipped, so an old log still folds to the right state.
 */
export function reduceMotion(s: MotionState, e: MotionDomainEvent): MotionState {
  if (e.type !== 'detected') return s;
  return {
    activity: e.kind === 'still' || e.kind === 'moving' ? e.kind : s.activity,
    lastReported: { ...s.lastReported, [e.kind]: e.tsMs },
    counts: { ...s.counts, [e.kind]: (s.counts[e.kind] ?? 0) + 1 },
  };
}

/** What a report does to the detector that made it (re-arm conditions). */
function afterReport(f: MotionFilter, kind: MotionKind): MotionFilter {
  switch (kind) {
    case 'fall':
      return { ...f, impactDeadlineMs: null };
    case 'shake':
      return { ...f, reversals: [] };
    case 'tilt':
      return { ...f, tiltLatched: true };
    case 'still':
    case 'moving':
      return f;
  }
}

/** PURE: fold one window into the filters. */
export function stepFilter(o: MotionOptions, prev: MotionFilter, e: MotionSample): MotionFilter {
  const t = e.tsMs;
  const gap = prev.lastTsMs !== null && (t - prev.lastTsMs > GAP_RESET_MS || t < prev.lastTsMs);
  const s: MotionFilter = gap ? { ...prev, ...RUNNING_WINDOWS_RESET } : prev;
  const alpha = (tau: number): number => 1 - Math.exp(-e.windowMs / tau);
  const prevGravity = s.gravity ?? e.a;
  const gravity = s.gravity === null ? e.a : emaVec(s.gravity, e.a, alpha(GRAVITY_TAU_MS));

  // Free fall run, then the impact deadline once the run qualifies.
  let freeFall = s.freeFall;
  let impactDeadlineMs = s.impactDeadlineMs !== null && t > s.impactDeadlineMs ? null : s.impactDeadlineMs;
  let lastFreeFallMs = s.lastFreeFallMs;
  if (e.magMin < o.freeFallG)
    freeFall =
      freeFall === null ? { startMs: t - e.windowMs, endMs: t } : { startMs: freeFall.startMs, endMs: t };
  if (freeFall !== null && (e.magMin >= o.freeFallG || e.magMax >= o.impactG)) {
    const ms = freeFall.endMs - freeFall.startMs;
    if (ms >= FREE_FALL_MIN_MS) {
      impactDeadlineMs = freeFall.endMs + IMPACT_WINDOW_MS;
      lastFreeFallMs = ms;
    }
    freeFall = null;
  }

  // Shake: reversals of channels beyond their thresholds.
  const values = [
    e.a[0] - prevGravity[0],
    e.a[1] - prevGravity[1],
    e.a[2] - prevGravity[2],
    e.g[0],
    e.g[1],
    e.g[2],
  ];
  const signs = [...s.signs];
  let reversals = s.reversals.filter((r) => t - r <= SHAKE_WINDOW_MS);
  values.forEach((v, i) => {
    const thr = i < 3 ? o.shakeAccelG : o.shakeDegS;
    const sign = v > thr ? 1 : v < -thr ? -1 : 0;
    if (sign === 0) return;
    if (signs[i] !== 0 && signs[i] !== sign) reversals = [...reversals, t];
    signs[i] = sign;
  });
  if (reversals.length > MAX_REVERSALS) reversals = reversals.slice(-MAX_REVERSALS);

  // Quiet / active, from the exponential variance of |a| and the gyro.
  const magEma = s.magEma === null ? e.magMean : ema(s.magEma, e.magMean, alpha(VAR_TAU_MS));
  const magVar = ema(s.magVar, (e.magMean - (s.magEma ?? e.magMean)) ** 2, alpha(VAR_TAU_MS));
  const gyroMax = Math.max(Math.abs(e.g[0]), Math.abs(e.g[1]), Math.abs(e.g[2]));
  const quiet =
    Math.sqrt(magVar) < STILL_ACCEL_STD_G && gyroMax < STILL_GYRO_DEG_S && Math.abs(e.magMean - 1) < 0.1;

  // Rest reference follows gravity only while quiet; the tilt latch re-arms once back near it.
  const rest = quiet ? (s.rest === null ? gravity : emaVec(s.rest, gravity, alpha(REST_TAU_MS))) : s.rest;
  const tiltLatched = s.tiltLatched && !(rest !== null && angleDeg(gravity, rest) < o.tiltDeg / 2);

  return {
    lastTsMs: t,
    gravity,
    rest,
    tiltLatched,
    freeFall,
    impactDeadlineMs,
    lastFreeFallMs,
    signs,
    reversals,
    magEma,
    magVar,
    quietSinceMs: quiet ? (s.quietSinceMs ?? t) : null,
    activeSinceMs: quiet ? null : (s.activeSinceMs ?? t),
  };
}

/** The window as a sample; undefined when any number in it is not finite (bad input is skipped). */
export function sampleOf(w: ImuEvent): MotionSample | undefined {
  const sample: MotionSample = {
    tsMs: w.tsMs,
    windowMs: w.windowMs,
    a: [w.mean.ax, w.mean.ay, w.mean.az],
    g: [w.mean.gx, w.mean.gy, w.mean.gz],
    magMin: w.accelMagnitudeG.min,
    magMax: w.accelMagnitudeG.max,
    magMean: w.accelMagnitudeG.mean,
  };
  const numbers = [
    ...sample.a,
    ...sample.g,
    sample.magMin,
    sample.magMax,
    sample.magMean,
    sample.tsMs,
    sample.windowMs,
  ];
  return numbers.every(Number.isFinite) ? sample : undefined;
}

/** PURE: what the filtered window says, given the domain state (debounce, transitions). */
export function detect(
  o: MotionOptions,
  s: MotionState,
  f: MotionFilter,
  w: MotionSample,
): { kind: MotionKind; details: Record<string, number> }[] {
  const t = w.tsMs;
  const found: { kind: MotionKind; details: Record<string, number> }[] = [];
  const ready = (kind: MotionKind): boolean => {
    const last = s.lastReported[kind];
    return last === undefined || t - last >= o.refractoryMs || t < last;
  };
  if (w.magMax >= o.impactG && f.impactDeadlineMs !== null && ready('fall')) {
    found.push({ kind: 'fall', details: { free_fall_ms: f.lastFreeFallMs, impact_g: round(w.magMax) } });
  }
  // Only on a fresh stroke: stale reversals still in the window after the shaking stopped do not count.
  const strokeNow = f.reversals[f.reversals.length - 1] === t;
  if (strokeNow && f.reversals.length >= SHAKE_MIN_REVERSALS && ready('shake')) {
    found.push({ kind: 'shake', details: { reversals: f.reversals.length, window_ms: SHAKE_WINDOW_MS } });
  }
  const g = f.gravity;
  if (g !== null && f.rest !== null && !f.tiltLatched && Math.abs(norm(g) - 1) < 0.2) {
    const angle = angleDeg(g, f.rest);
    if (angle >= o.tiltDeg && ready('tilt'))
      found.push({ kind: 'tilt', details: { angle_deg: round(angle) } });
  }
  if (s.activity !== 'still' && f.quietSinceMs !== null && t - f.quietSinceMs >= o.stillMs) {
    found.push({ kind: 'still', details: { quiet_ms: t - f.quietSinceMs } });
  }
  if (s.activity !== 'moving' && f.activeSinceMs !== null && t - f.activeSinceMs >= MOVING_MS) {
    found.push({ kind: 'moving', details: { active_ms: t - f.activeSinceMs } });
  }
  return found;
}

export function motionAgent(o: MotionOptions): AgentDefinition<MotionState, MotionDomainEvent, MotionFilter> {
  const id = o.id ?? 'motion';
  const topic = `agent/${id}/motion` as const;

  const decide = (
    s: MotionState,
    input: AgentInput,
    _ctx: unknown,
    filter: MotionFilter,
  ): Decision<MotionDomainEvent, MotionFilter> => {
    if (input.kind !== 'message') return { events: [], actions: [] };
    const sample = sampleOf(input.env.payload as ImuEvent);
    if (sample === undefined) return { events: [], actions: [] };
    let next = stepFilter(o, filter, sample);
    const found = detect(o, s, next, sample);
    for (const f of found) next = afterReport(next, f.kind);
    return {
      events: found.map((f) => ({ type: 'detected', kind: f.kind, tsMs: sample.tsMs, details: f.details })),
      actions: found.map((f) => {
        const payload: MotionEvent = { kind: f.kind, tsMs: sample.tsMs, details: f.details };
        return { kind: 'publish', topic, payload };
      }),
      working: next,
    };
  };

  return {
    id,
    capabilities: ['motion', 'fall-detection'],
    subscriptions: [{ pattern: 'sensor/imu/+/window', ...(o.windows ?? { qos: 'realtime', capacity: 256 }) }],
    initialState: initialMotionState(),
    reduce: reduceMotion,
    decide,
    working: {
      initial: initialMotionFilter(),
      snapshotIntervalMs: o.workingSnapshotIntervalMs ?? MOTION_WORKING_SNAPSHOT_MS,
    },
  };
}

function round(x: number): number {
  return Math.round(x * 1000) / 1000;
}
