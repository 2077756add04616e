/**
 * The physical model behind the bundled IMU fixtures (written out in fixtures/README.md).
 * A body-worn 6-axis IMU sampled at a fixed rate; the scenario is a list of segments, each a
 * closed-form function of its local time, plus white Gaussian sensor noise from a seeded PRNG so
 * every run produces the same numbers. Units: acceleration in g (gravity = 1 g, the accelerometer
 * reads the reaction to gravity, so a device lying flat reads +1 g on z), angular rate in deg/s.
 */
import type { ImuSample } from '../../daemon/bus/topics.js';
import type { ImuTruth } from '../../daemon/recording/format.js';

export type Vec3 = readonly [number, number, number];

/** Gravity after rotating [0, 0, 1] by `deg` about x (as the 'rotate' segment does). */
export function gravityTiltedAboutX(deg: number): Vec3 {
  return [0, Math.sin((deg * Math.PI) / 180), Math.cos((deg * Math.PI) / 180)];
}

export type Segment =
  /** Device at rest; the accelerometer reads `gravity` (a unit vector in g, e.g. [0, 0, 1] lying flat). */
  | { readonly kind: 'still'; readonly ms: number; readonly gravity: Vec3; readonly label?: string }
  /** Walking, gravity on z: vertical bounce ±bounceG at cadenceHz, fore-aft sway at half the cadence. */
  | { readonly kind: 'walk'; readonly ms: number; readonly cadenceHz: number; readonly bounceG: number }
  /** Free fall (|a| ≈ 0) while pitching 90° about y, then a half-sine impact on x peaking at peakG. */
  | { readonly kind: 'fall'; readonly freeFallMs: number; readonly impactMs: number; readonly peakG: number }
  /** Gravity vector rotating at constant rate about `axis` from fromDeg to toDeg (getting up, tilting). */
  | {
      readonly kind: 'rotate';
      readonly ms: number;
      readonly axis: 'x' | 'y';
      readonly fromDeg: number;
      readonly toDeg: number;
      readonly truthKind: 'tilt' | 'moving';
    }
  /** Shaking along x: ±ampG at freqHz on top of gravity on z, with matching angular rate about z. */
  | { readonly kind: 'shake'; readonly ms: number; readonly freqHz: number; readonly ampG: number };

export interface ImuModelOptions {
  readonly rateHz: number;
  readonly seed: number;
  /** Accelerometer noise standard deviation, g. */
  readonly accelNoiseG: number;
  /** Gyroscope noise standard deviation, deg/s. */
  readonly gyroNoiseDps: number;
}

export const DEFAULT_IMU_MODEL: ImuModelOptions = {
  rateHz: 100,
  seed: 42,
  accelNoiseG: 0.01,
  gyroNoiseDps: 0.3,
};

/** mulberry32: tiny, fast, good enough for sensor noise, and identical on every platform. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal deviate by Box–Muller from a uniform source. */
export function gaussian(rand: () => number): () => number {
  return () => {
    const u = Math.max(rand(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rand());
  };
}

export function segmentMs(s: Segment): number {
  return s.kind === 'fall' ? s.freeFallMs + s.impactMs : s.ms;
}

type Reading = [ax: number, ay: number, az: number, gx: number, gy: number, gz: number];
const DEG = Math.PI / 180;

/** Noise-free reading of segment `s` at local time tMs. */
function reading(s: Segment, tMs: number): Reading {
  const t = tMs / 1000;
  switch (s.kind) {
    case 'still':
      return [s.gravity[0], s.gravity[1], s.gravity[2], 0, 0, 0];
    case 'walk': {
      const w = 2 * Math.PI * s.cadenceHz;
      return [
        0.1 * Math.sin((w / 2) * t),
        0.05 * Math.sin(w * t + Math.PI / 2),
        1 + s.bounceG * Math.sin(w * t),
        10 * Math.sin((w / 2) * t),
        5 * Math.sin(w * t),
        0,
      ];
    }
    case 'fall': {
      if (tMs < s.freeFallMs) return [0, 0, 0, 0, 90 / (s.freeFallMs / 1000), 0];
      const u = (tMs - s.freeFallMs) / s.impactMs;
      return [s.peakG * Math.sin(Math.PI * u), 0, 0.2 * Math.sin(Math.PI * u), 0, 0, 0];
    }
    case 'rotate': {
      const rateDps = (s.toDeg - s.fromDeg) / (s.ms / 1000);
      const th = (s.fromDeg + rateDps * t) * DEG;
      return s.axis === 'x'
        ? [0, Math.sin(th), Math.cos(th), rateDps, 0, 0]
        : [Math.sin(th), 0, Math.cos(th), 0, rateDps, 0];
    }
    case 'shake': {
      const w = 2 * Math.PI * s.freqHz;
      return [s.ampG * Math.sin(w * t), 0.3 * Math.sin(w * t + 1), 1, 0, 0, 100 * Math.cos(w * t)];
    }
  }
}

const round = (v: number, digits: number): number => {
  const r = Number(v.toFixed(digits));
  return r === 0 ? 0 : r; // no -0 in the JSON
};

/** The samples of the scenario, plus the truth (segment boundaries in ms from the start). */
export function generateImu(
  segments: readonly Segment[],
  o: ImuModelOptions = DEFAULT_IMU_MODEL,
): {
  samples: ImuSample[];
  truth: ImuTruth[];
} {
  const noise = gaussian(mulberry32(o.seed));
  const periodMs = 1000 / o.rateHz;
  const samples: ImuSample[] = [];
  const truth: ImuTruth[] = [];
  let startMs = 0;
  for (const s of segments) {
    const ms = segmentMs(s);
    for (let i = Math.ceil(startMs / periodMs); i * periodMs < startMs + ms; i++) {
      const tMs = i * periodMs;
      const [ax, ay, az, gx, gy, gz] = reading(s, tMs - startMs);
      samples.push({
        tMs: round(tMs, 3),
        ax: round(ax + o.accelNoiseG * noise(), 4),
        ay: round(ay + o.accelNoiseG * noise(), 4),
        az: round(az + o.accelNoiseG * noise(), 4),
        gx: round(gx + o.gyroNoiseDps * noise(), 2),
        gy: round(gy + o.gyroNoiseDps * noise(), 2),
        gz: round(gz + o.gyroNoiseDps * noise(), 2),
      });
    }
    truth.push(segmentTruth(s, startMs));
    startMs += ms;
  }
  return { samples, truth };
}

function segmentTruth(s: Segment, startMs: number): ImuTruth {
  const end_ms = startMs + segmentMs(s);
  switch (s.kind) {
    case 'still':
      return {
        kind: 'still',
        t_ms: startMs,
        end_ms,
        gravity_g: s.gravity.map((v) => round(v, 4)),
        ...(s.label ? { label: s.label } : {}),
      };
    case 'walk':
      return {
        kind: 'moving',
        label: 'walking',
        t_ms: startMs,
        end_ms,
        cadence_hz: s.cadenceHz,
        bounce_g: s.bounceG,
      };
    case 'fall':
      return {
        kind: 'fall',
        t_ms: startMs,
        end_ms,
        free_fall_end_ms: startMs + s.freeFallMs,
        impact_peak_ms: startMs + s.freeFallMs + s.impactMs / 2,
        impact_peak_g: s.peakG,
      };
    case 'rotate':
      return { kind: s.truthKind, t_ms: startMs, end_ms, axis: s.axis, from_deg: s.fromDeg, to_deg: s.toDeg };
    case 'shake':
      return { kind: 'shake', t_ms: startMs, end_ms, freq_hz: s.freqHz, amplitude_g: s.ampG };
  }
}
