import { describe, expect, it } from 'vitest';
import {
  angleDeg,
  GAP_RESET_MS,
  type MotionOptions,
  motionAgent,
  sampleOf,
  stepFilter,
} from '../../daemon/agents/motion.js';
import type { AgentInput, DecideContext } from '../../daemon/agents/reducer.js';
import type { Envelope } from '../../daemon/bus/envelope.js';
import type { ImuEvent, MotionEvent, MotionKind } from '../../daemon/bus/topics.js';
import { openFixture } from '../../daemon/recording/reader.js';
import { ImuAggregator } from '../../daemon/sensors/imu/aggregator.js';
import { REPO_ROOT } from '../helpers/tools.js';

const DEFAULTS: MotionOptions = {
  freeFallG: 0.3,
  impactG: 2.5,
  shakeDegS: 250,
  shakeAccelG: 1.2,
  tiltDeg: 45,
  stillMs: 2000,
  refractoryMs: 2000,
};

interface Truth {
  kind: string;
  label?: string;
  t_ms: number;
  end_ms: number;
}

async function imuWindows(rateHz: number): Promise<{ windows: ImuEvent[]; truth: Truth[] }> {
  const fixture = await openFixture(`${REPO_ROOT}fixtures/imu`);
  const agg = new ImuAggregator({ eventRateHz: rateHz });
  const windows: ImuEvent[] = [];
  for await (const s of fixture.imuSamples()) {
    const w = agg.add(s);
    if (w) windows.push(w);
  }
  const last = agg.flush();
  if (last) windows.push(last);
  const truth = (fixture.manifest.truth as unknown as { imu: Truth[] }).imu;
  return { windows, truth };
}

const ctx: DecideContext = { nowMs: 0, inFlightActions: 0, setTimer: () => {}, cancelTimer: () => {} };

/**
 * Drive the definition the way the runtime does: decide, fold the events, keep the working
 * memory. `logged` counts the domain events (what would be written to the log).
 */
function runWith(options: MotionOptions, windows: readonly ImuEvent[]) {
  const def = motionAgent(options);
  let state = def.initialState;
  let filter = def.working!.initial;
  let logged = 0;
  const out: MotionEvent[] = [];
  for (const w of windows) {
    const input: AgentInput = {
      kind: 'message',
      env: { topic: 'sensor/imu/main/window', tsMs: w.tsMs, payload: w } as Envelope,
    };
    const d = def.decide(state, input, ctx, filter);
    for (const e of d.events) state = def.reduce(state, e);
    logged += d.events.length;
    if (d.working !== undefined) filter = d.working;
    for (const a of d.actions) if (a.kind === 'publish') out.push(a.payload as MotionEvent);
  }
  return { out, state, filter, logged };
}

const run = (options: MotionOptions, windows: readonly ImuEvent[]): MotionEvent[] =>
  runWith(options, windows).out;

const inWindow = (events: MotionEvent[], kind: MotionKind, fromMs: number, toMs: number) =>
  events.filter((e) => e.kind === kind && e.tsMs >= fromMs && e.tsMs <= toMs);

describe.each([100, 50])('motion agent on fixtures/imu aggregated at %i Hz', (rateHz) => {
  it('reports the fall inside the truth window and no fall while walking or shaking', async () => {
    const { windows, truth } = await imuWindows(rateHz);
    const events = run(DEFAULTS, windows);
    const fall = truth.find((t) => t.kind === 'fall')!;
    const falls = events.filter((e) => e.kind === 'fall');
    expect(falls).toHaveLength(1);
    // The impact window ends at most one window after the truth's end.
    expect(falls[0]!.tsMs).toBeGreaterThanOrEqual(fall.t_ms);
    expect(falls[0]!.tsMs).toBeLessThanOrEqual(fall.end_ms + 1000 / rateHz);
    expect(falls[0]!.details.free_fall_ms).toBeGreaterThanOrEqual(80);
    for (const t of truth.filter((x) => x.label === 'walking' || x.kind === 'shake')) {
      expect(inWindow(events, 'fall', t.t_ms, t.end_ms)).toEqual([]);
    }
  });

  it('reports shake in the shaking window only, tilt in the tilt window, none while walking', async () => {
    const { windows, truth } = await imuWindows(rateHz);
    const events = run(DEFAULTS, windows);
    const shake = truth.find((t) => t.kind === 'shake')!;
    const tilt = truth.find((t) => t.kind === 'tilt')!;
    const walking = truth.find((t) => t.label === 'walking')!;
    const shakes = events.filter((e) => e.kind === 'shake');
    expect(shakes.length).toBeGreaterThanOrEqual(1);
    for (const s of shakes) {
      expect(s.tsMs).toBeGreaterThanOrEqual(shake.t_ms);
      expect(s.tsMs).toBeLessThanOrEqual(shake.end_ms);
    }
    // Debounced: at most one per refractory period across the 2 s of shaking.
    expect(shakes.length).toBeLessThanOrEqual(Math.ceil((shake.end_ms - shake.t_ms) / DEFAULTS.refractoryMs));
    const tilts = inWindow(events, 'tilt', tilt.t_ms, tilt.end_ms);
    expect(tilts).toHaveLength(1);
    expect(tilts[0]!.details.angle_deg).toBeGreaterThanOrEqual(45);
    expect(inWindow(events, 'tilt', walking.t_ms, walking.end_ms)).toEqual([]);
    expect(inWindow(events, 'tilt', shake.t_ms, shake.end_ms)).toEqual([]);
    expect(inWindow(events, 'shake', walking.t_ms, walking.end_ms)).toEqual([]);
  });

  it('reports still in the first rest and moving once walking starts', async () => {
    const { windows, truth } = await imuWindows(rateHz);
    const events = run(DEFAULTS, windows);
    const walking = truth.find((t) => t.label === 'walking')!;
    const kinds = events.filter((e) => e.kind === 'still' || e.kind === 'moving');
    expect(kinds[0]).toMatchObject({ kind: 'still' });
    expect(kinds[0]!.tsMs).toBeGreaterThanOrEqual(DEFAULTS.stillMs);
    expect(kinds[0]!.tsMs).toBeLessThan(walking.t_ms);
    expect(kinds[1]).toMatchObject({ kind: 'moving' });
    expect(kinds[1]!.tsMs).toBeGreaterThanOrEqual(walking.t_ms);
    expect(kinds[1]!.tsMs).toBeLessThan(walking.t_ms + 1000);
    // Transitions only: never the same kind twice in a row.
    for (let i = 1; i < kinds.length; i++) expect(kinds[i]!.kind).not.toBe(kinds[i - 1]!.kind);
  });

  it('finds no fall when the free fall is shorter than 80 ms (threshold raised past the data)', async () => {
    const { windows } = await imuWindows(rateHz);
    const events = run({ ...DEFAULTS, impactG: 4 }, windows);
    expect(events.filter((e) => e.kind === 'fall')).toEqual([]);
  });
});

describe('motion agent storage: detections only', () => {
  it('logs one domain event per detection, not one per window, and the state is their fold', async () => {
    const { windows } = await imuWindows(100);
    const { out, state, logged } = runWith(DEFAULTS, windows);
    expect(logged).toBe(out.length);
    // fixtures/imu: a handful of detections over 2000 windows.
    expect(logged).toBeGreaterThan(3);
    expect(logged).toBeLessThan(windows.length / 50);
    const counts: Record<string, number> = {};
    for (const e of out) counts[e.kind] = (counts[e.kind] ?? 0) + 1;
    expect(state.counts).toEqual(counts);
  });

  it('a gap longer than GAP_RESET_MS restarts the running windows but keeps the references', async () => {
    const { windows } = await imuWindows(100);
    const f = runWith(DEFAULTS, windows.slice(0, 300)).filter;
    const w = windows[300]!;
    const near = stepFilter(
      DEFAULTS,
      { ...f, freeFall: { startMs: w.tsMs - 60, endMs: w.tsMs - 10 } },
      sampleOf(w)!,
    );
    // Contiguous: the free-fall run in progress goes on (or ends) with this window.
    expect(near.lastTsMs).toBe(w.tsMs);
    const later = { ...w, tsMs: (f.lastTsMs ?? 0) + GAP_RESET_MS + 1 };
    const stale = { ...f, freeFall: { startMs: 0, endMs: f.lastTsMs ?? 0 }, reversals: [f.lastTsMs ?? 0] };
    const after = stepFilter(DEFAULTS, stale, sampleOf(later)!);
    expect(after.reversals).toEqual([]);
    expect(after.impactDeadlineMs).toBeNull();
    // The free fall before the gap does not count towards a fall after it.
    expect(after.freeFall === null || after.freeFall.startMs >= later.tsMs - later.windowMs).toBe(true);
    // The learned rest orientation survives (it may move a little with this quiet window).
    expect(f.rest).not.toBeNull();
    expect(angleDeg(after.rest!, f.rest!)).toBeLessThan(1);
    expect(after.gravity).not.toBeNull();
  });
});
