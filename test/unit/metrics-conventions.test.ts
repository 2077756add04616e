/**
 * /metrics by the conventions operators' tools assume (issue #17): prom-client's default process
 * and Node families instead of home-made ones, latencies as histograms (no `quantile` labels on
 * gauges), a build_info, per-sensor frame and drop counters, and no family in which one series
 * counts what another already does.
 */
import { describe, expect, it } from 'vitest';
import { type Stage, StageLatency, stageOf } from '../../daemon/actions/stage-latency.js';
import type { Envelope } from '../../daemon/bus/envelope.js';
import { silentLogger } from '../../daemon/log.js';
import { Metrics, type MetricsSources } from '../../daemon/observe/http/metrics.js';
import { StatsCollector } from '../../daemon/observe/stats.js';
import type { StatsProviders } from '../../daemon/observe/stats-snapshot.js';
import {
  LATENCY_BUCKETS_S,
  LatencyHistogram,
  LatencyHistograms,
  OTHER_SERIES,
} from '../../daemon/util/latency-histogram.js';
import { packageVersion } from '../../daemon/util/package-root.js';
import { VirtualClock } from '../../daemon/util/virtual-clock.js';

function render(providers: StatsProviders, sources?: MetricsSources): Promise<string> {
  const stats = new StatsCollector({ clock: new VirtualClock(0), logger: silentLogger(), providers });
  return new Metrics({
    snapshot: () => stats.snapshot(),
    provides: (s) => stats.provides(s),
    ...(sources === undefined ? {} : { sources }),
  }).render();
}

/** Every sample line as series → value. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const sp = line.lastIndexOf(' ');
    out.set(line.slice(0, sp), Number(line.slice(sp + 1)));
  }
  return out;
}

describe('/metrics conventions', () => {
  it("carries prom-client's process_* and nodejs_* families and no home-made edgeloom_process_*", async () => {
    const text = await render({});
    for (const family of [
      'process_cpu_seconds_total',
      'process_start_time_seconds',
      'process_resident_memory_bytes',
      'process_open_fds',
      'nodejs_heap_size_used_bytes',
      'nodejs_external_memory_bytes',
      'nodejs_eventloop_lag_p99_seconds',
      'nodejs_active_resources',
      'nodejs_gc_duration_seconds',
    ]) {
      expect(text, family).toMatch(new RegExp(`^# TYPE ${family} `, 'm'));
    }
    const m = samples(text);
    expect(m.get('process_resident_memory_bytes')).toBeGreaterThan(1e6);
    expect([...m.keys()].some((k) => k.startsWith('nodejs_active_resources{type='))).toBe(true);
    expect(text).not.toMatch(/^edgeloom_process_/m);
    expect(text).not.toMatch(/^edgeloom_event_loop_delay/m);
    // No latency as a gauge with a home-made quantile label.
    expect(text).not.toContain('quantile=');
  });

  it('edgeloom_build_info names the running version and architecture', async () => {
    const m = samples(await render({}));
    expect(m.get(`edgeloom_build_info{version="${packageVersion()}",arch="${process.arch}"}`)).toBe(1);
  });

  it('renders latency histograms from what the components measured, with cumulative buckets', async () => {
    const modelLatency = new LatencyHistograms();
    for (const ms of [3, 3, 40, 700]) modelLatency.observe('silero-vad-v5', ms / 1000);
    modelLatency.get('faceapi-expression'); // loaded, never run: zeros
    const cloud = new LatencyHistogram();
    cloud.observe(0.42);
    const stages = new StageLatency(new VirtualClock(0));
    const text = await render(
      {},
      { modelLatency, cloudLatency: () => cloud.snapshot(), stageLatency: stages.histograms },
    );
    const m = samples(text);
    const b = (le: string) =>
      m.get(`edgeloom_model_latency_seconds_bucket{model="silero-vad-v5",le="${le}"}`);
    expect(text).toContain('# TYPE edgeloom_model_latency_seconds histogram');
    expect([b('0.0025'), b('0.005'), b('0.05'), b('0.5'), b('1'), b('+Inf')]).toEqual([0, 2, 3, 3, 4, 4]);
    expect(m.get('edgeloom_model_latency_seconds_count{model="silero-vad-v5"}')).toBe(4);
    expect(m.get('edgeloom_model_latency_seconds_sum{model="silero-vad-v5"}')).toBeCloseTo(0.746);
    expect(m.get('edgeloom_model_latency_seconds_count{model="faceapi-expression"}')).toBe(0);
    expect(m.get('edgeloom_router_cloud_latency_seconds_bucket{le="0.25"}')).toBe(0);
    expect(m.get('edgeloom_router_cloud_latency_seconds_bucket{le="0.5"}')).toBe(1);
    // Every stage is there from the start, at zero.
    for (const stage of ['camera_to_face_emotion', 'speech_end_to_transcript', 'impact_to_fall'])
      expect(m.get(`edgeloom_stage_latency_seconds_count{stage="${stage}"}`)).toBe(0);
    // Each histogram's buckets never decrease and end at the count.
    const buckets = [...m].filter(([k]) => k.includes('_bucket{'));
    expect(buckets.length).toBe(6 * (LATENCY_BUCKETS_S.length + 1));
    const bySeries = new Map<string, number[]>();
    for (const [k, v] of buckets) {
      const series = k.replace(/,?le="[^"]*"/, '');
      bySeries.set(series, [...(bySeries.get(series) ?? []), v]);
    }
    for (const [series, counts] of bySeries) {
      expect(counts, series).toEqual([...counts].sort((x, y) => x - y));
    }
  });

  it('counts frames and drops per sensor, and sums the cloud calls without counting a failure twice', async () => {
    const text = await render(
      { routing: () => ({ decisions: {}, cloudCalls: 10, cloudFailures: 3 }) },
      {
        sensors: () => [
          { sensor: 'usb', kind: 'camera' as const, frames: 120, dropped: { rate_cap: 30, oversized: 1 } },
          {
            sensor: 'usb',
            kind: 'mic' as const,
            frames: 900,
            dropped: { partial_at_restart: 2 } as Record<string, number>,
          },
        ],
      },
    );
    const m = samples(text);
    expect(m.get('edgeloom_sensor_frames_total{sensor="usb",kind="camera"}')).toBe(120);
    expect(m.get('edgeloom_sensor_frames_total{sensor="usb",kind="mic"}')).toBe(900);
    expect(m.get('edgeloom_sensor_dropped_total{sensor="usb",kind="camera",reason="rate_cap"}')).toBe(30);
    expect(m.get('edgeloom_sensor_dropped_total{sensor="usb",kind="mic",reason="partial_at_restart"}')).toBe(
      2,
    );
    expect(m.get('edgeloom_router_cloud_calls_total')).toBe(10);
    expect(m.get('edgeloom_router_cloud_failures_total')).toBe(3);
    expect(text).not.toContain('outcome="all"');
  });
});

describe('LatencyHistogram', () => {
  it('puts a value on a bound in that bucket, a negative one at 0, and ignores NaN', () => {
    const h = new LatencyHistogram([0.1, 1]);
    for (const s of [0.1, 0.10001, -5, 3, Number.NaN]) h.observe(s);
    expect(h.snapshot()).toEqual({
      upperBoundsS: [0.1, 1],
      cumulativeCounts: [2, 3],
      count: 4,
      sumS: 3.20001,
    });
  });

  it('folds labels past its bound into (other)', () => {
    const hs = new LatencyHistograms(2);
    for (const id of ['a', 'b', 'c', 'd']) hs.observe(id, 0.01);
    expect(hs.snapshot().map((s) => [s.label, s.histogram.count])).toEqual([
      ['a', 1],
      ['b', 1],
      [OTHER_SERIES, 2],
    ]);
  });
});

describe('stage latency', () => {
  const env = (topic: string, payload: unknown): Envelope =>
    ({ topic, payload, tsMs: 0, id: '1', source: 't' }) as unknown as Envelope;

  it('knows which message ends which path, and from which input time', () => {
    const of = (topic: string, payload: unknown) => stageOf(env(topic, payload));
    expect(of('inference/face/front', { inputTsMs: 1000 })).toEqual({
      stage: 'camera_to_face_emotion',
      inputTsMs: 1000,
    });
    expect(of('inference/stt/mic', { inputTsMs: 2000 })).toEqual({
      stage: 'speech_end_to_transcript',
      inputTsMs: 2000,
    });
    expect(of('agent/motion/motion', { kind: 'fall', tsMs: 3000 })).toEqual({
      stage: 'impact_to_fall',
      inputTsMs: 3000,
    });
    // A shake is no fall; a cloud refinement is the router's latency; VAD events end no path.
    expect(of('agent/motion/motion', { kind: 'shake', tsMs: 3000 })).toBeUndefined();
    expect(of('inference/face/front/refined', { inputTsMs: 1000 })).toBeUndefined();
    expect(of('inference/vad/mic', { inputTsMs: 1000 })).toBeUndefined();
  });

  it('measures on the clock it is given, from the input time to the hand-over', async () => {
    const clock = new VirtualClock(10_000);
    const s = new StageLatency(clock);
    await clock.advanceTo(10_250);
    s.record(env('inference/face/front', { inputTsMs: 10_000 }));
    const count = (stage: Stage) => s.histograms.get(stage).snapshot();
    expect(count('camera_to_face_emotion')).toMatchObject({ count: 1, sumS: 0.25 });
    expect(count('impact_to_fall').count).toBe(0);
  });
});
