import { describe, expect, it } from 'vitest';
import { type MotionOptions, motionAgent } from '../../daemon/agents/motion.js';
import type { AgentInput, DecideContext } from '../../daemon/agents/reducer.js';
import type { Envelope } from '../../daemon/bus/envelope.js';
import type { ImuEvent, MotionEvent, MotionKind } from '../../daemon/bus/topics.js';
import { openFixture } from '../../daemon/fixtures/reader.js';
import { ImuAggregator } from '../../daemon/sensors/imu-aggregator.js';
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

/** Drive the definition the way the runtime does: decide, then fold the events. */
function run(options: MotionOptions, windows: readonly ImuEvent[]): MotionEvent[] {
  const def = motionAgent(options);
  let state = def.initialState;
  const out: MotionEvent[] = [];
  for (const w of windows) {
    const input: AgentInput = {
      kind: 'message',
      env: { topic: 'sensor/imu/main/sample', tsMs: w.tsMs, payload: w } as Envelope,
    };
    const d = def.decide(state, input, ctx);
    for (const e of d.events) state = def.reduce(state, e);
    for (const a of d.actions) if (a.kind === 'publish') out.push(a.payload as MotionEvent);
  }
  return out;
}

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
