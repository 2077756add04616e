import { describe, expect, it } from 'vitest';
import type { SubscriptionStats } from '../../daemon/bus/types.js';
import { silentLogger } from '../../daemon/log.js';
import { healthOf } from '../../daemon/observe/http/health.js';
import { Metrics } from '../../daemon/observe/http/metrics.js';
import type { MemoryGuardStatus } from '../../daemon/observe/memory-guard.js';
import { StatsCollector } from '../../daemon/observe/stats.js';
import type { StatsProviders } from '../../daemon/observe/stats-snapshot.js';
import { VirtualClock } from '../../daemon/util/virtual-clock.js';

const MIB = 2 ** 20;

function subStats(over: Partial<SubscriptionStats>): SubscriptionStats {
  return {
    id: 1,
    pattern: 'sensor/camera/+/frame',
    component: 'pipeline.face',
    qos: 'realtime',
    published: 0,
    delivered: 0,
    failed: 0,
    dropped: { queue_full: 0, sampled: 0, aggregated: 0, interrupted: 0, unsubscribed: 0, refused: 0 },
    queueDepth: 0,
    queueCapacity: 16,
    maxQueueDepth: 0,
    handlerMsTotal: 0,
    handlerMsMax: 0,
    interrupts: 0,
    ...over,
  };
}

function memory(level: MemoryGuardStatus['level'], ratio: number): MemoryGuardStatus {
  const budgetBytes = 100 * MIB;
  return {
    level,
    ratio,
    rssBytes: ratio * budgetBytes,
    budgetBytes,
    softBytes: 80 * MIB,
    hardBytes: 90 * MIB,
    pressureEvents: 0,
    callbackFailures: 0,
  };
}

/** Fake providers whose values the test changes between scrapes. */
function fakeProviders() {
  const state = {
    published: 100,
    dropped: 7,
    depth: 3,
    connected: true,
    costUsd: 0.0125,
    p50: 12,
  };
  const providers: StatsProviders = {
    bus: () => [
      subStats({
        published: state.published,
        delivered: 90,
        queueDepth: state.depth,
        dropped: {
          queue_full: state.dropped,
          sampled: 2,
          aggregated: 0,
          interrupted: 0,
          unsubscribed: 0,
          refused: 0,
        },
      }),
    ],
    health: () => ({ 'sensor.camera.front': { status: 'ok' }, 'pipeline.face': { status: 'ok' } }),
    models: () => ({
      usedMb: 300,
      models: [{ id: 'face-detector', state: 'loaded', memoryMb: 40 }],
      latency: [{ model: 'face-detector', p50Ms: state.p50, p99Ms: 31, runs: 500 }],
    }),
    routing: () => ({
      decisions: { local: 40, cloud: 10, hybrid: 0, local_fallback: 1, drop: 0 },
      rates: { local: 0.8, cloud: 0.2 },
      cloudLatencyP50Ms: 420,
      cloudLatencyP99Ms: undefined,
      costTodayUsd: state.costUsd,
    }),
    outbox: () => ({ depth: 5, capacity: 10_000 }),
    broker: () => ({ connected: state.connected }),
    memory: () => memory('ok', 0.4),
  };
  return { state, providers };
}

/** One sample line's value, or undefined when the series is absent. */
function value(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('/metrics text', () => {
  it('renders the expected series from the providers, fresh at every scrape', async () => {
    const { state, providers } = fakeProviders();
    const clock = new VirtualClock(1_000_000);
    const stats = new StatsCollector({ clock, logger: silentLogger(), providers });
    const metrics = new Metrics({ snapshot: () => stats.snapshot(), provides: (s) => stats.provides(s) });
    for (let i = 0; i < 5; i++) stats.count('inference/face/front');
    stats.count('router/decision');
    let text = await metrics.render();

    const sub = 'subscription="pipeline.face sensor/camera/+/frame"';
    expect(value(text, `edgeloom_bus_dropped_total{${sub},reason="queue_full"}`)).toBe(7);
    expect(value(text, `edgeloom_bus_dropped_total{${sub},reason="sampled"}`)).toBe(2);
    expect(value(text, `edgeloom_bus_queue_depth{${sub}}`)).toBe(3);
    expect(value(text, `edgeloom_bus_published_total{${sub}}`)).toBe(100);
    expect(value(text, 'edgeloom_bus_topic_events_total{topic="inference/face/front"}')).toBe(5);
    expect(value(text, 'process_resident_memory_bytes')).toBeGreaterThan(10 * MIB);
    expect(value(text, 'edgeloom_model_memory_bytes{model="face-detector"}')).toBe(40 * MIB);
    expect(value(text, 'edgeloom_router_decisions_total{route="cloud"}')).toBe(10);
    expect(value(text, 'edgeloom_router_cost_today_usd{day="today"}')).toBeCloseTo(0.0125);
    expect(value(text, 'edgeloom_mqtt_outbox_depth{outbox="mqtt"}')).toBe(5);
    expect(value(text, 'edgeloom_mqtt_connected{broker="mqtt"}')).toBe(1);
    expect(value(text, 'edgeloom_component_status{component="sensor.camera.front"}')).toBe(0);
    expect(value(text, 'edgeloom_healthy')).toBe(1);
    expect(text).toContain('# TYPE edgeloom_bus_dropped_total counter');
    expect(text).toContain('# TYPE edgeloom_bus_queue_depth gauge');
    // No sensors provider: the family is not registered at all.
    expect(text).not.toContain('edgeloom_sensor_up');

    state.dropped = 9;
    state.connected = false;
    text = await metrics.render();
    expect(value(text, `edgeloom_bus_dropped_total{${sub},reason="queue_full"}`)).toBe(9);
    expect(value(text, 'edgeloom_mqtt_connected{broker="mqtt"}')).toBe(0);
    expect(value(text, 'edgeloom_healthy')).toBe(0);
  });

  it('computes per-topic and per-subscription rates from deltas between ticks', async () => {
    const { state, providers } = fakeProviders();
    const clock = new VirtualClock(0);
    const stats = new StatsCollector({ clock, logger: silentLogger(), providers, intervalMs: 2_000 });
    await stats.start();
    await clock.advanceTo(2_000); // first tick: baseline for the subscription counter
    for (let i = 0; i < 30; i++) stats.count('sensor/imu/main/window');
    state.published += 50;
    await clock.advanceTo(4_000);
    const snap = stats.snapshot();
    expect(snap.topics[0]).toEqual({ topic: 'sensor/imu/main/window', total: 30, perSecond: 15 });
    expect(snap.subscriptions[0]!.perSecond).toBe(25);
    await clock.advanceTo(6_000); // a quiet period: the rate falls to 0, the total stays
    expect(stats.snapshot().topics[0]).toMatchObject({ total: 30, perSecond: 0 });
    await stats.stop();
  });

  it('caps the topic map and folds the rest into (other)', async () => {
    const stats = new StatsCollector({
      clock: new VirtualClock(0),
      logger: silentLogger(),
      providers: {},
      maxTopics: 3,
    });
    for (let i = 0; i < 10; i++) stats.count(`agent/a${i}/intent`);
    const snap = stats.snapshot();
    expect(snap.topics).toHaveLength(3);
    expect(snap.otherTopics.total).toBe(7);
    const text = await new Metrics({ snapshot: () => snap, provides: () => false }).render();
    expect(value(text, 'edgeloom_bus_topic_events_total{topic="(other)"}')).toBe(7);
  });

  it('leaves out a provider that throws and keeps the rest', () => {
    const stats = new StatsCollector({
      clock: new VirtualClock(0),
      logger: silentLogger(),
      providers: {
        routing: () => {
          throw new Error('telemetry broken');
        },
        outbox: () => ({ depth: 2 }),
      },
    });
    const snap = stats.snapshot();
    expect(snap.routing).toBeUndefined();
    expect(snap.outbox).toEqual({ depth: 2 });
  });
});

describe('health', () => {
  it('is ok when nothing reports a problem', () => {
    expect(
      healthOf({ health: { a: { status: 'ok' } }, broker: { connected: true }, memory: memory('ok', 0.5) }),
    ).toEqual({
      status: 'ok',
      reasons: [],
    });
  });

  it('names every cause of degradation', () => {
    const h = healthOf({
      health: {
        'sensor.camera.front': { status: 'failed', reasons: ['ffmpeg exited 1'] },
        x: { status: 'ok' },
      },
      broker: { connected: false, reason: 'ECONNREFUSED' },
      memory: memory('soft', 0.83),
      sensors: [{ sensor: 'mic', kind: 'mic', state: 'stalled', restarts: 2, tsMs: 0 }],
    });
    expect(h.status).toBe('degraded');
    expect(h.reasons).toEqual([
      'sensor.camera.front failed: ffmpeg exited 1',
      'sensor mic stalled',
      'mqtt broker unreachable: ECONNREFUSED',
      'memory soft pressure: RSS at 83% of budget',
    ]);
  });
});
