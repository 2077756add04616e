/**
 * Bus benchmark: edgeloom's Bus against mqemitter (the emitter behind aedes, MQTT wildcards) and
 * node:events EventEmitter (exact topics, no wildcards: the floor), on the same workload:
 * 1000 wildcard subscriptions that do not match plus 2 that do, N publishes, deliveries counted.
 * Then publish→handler latency at a steady 100 000 events/s, then RSS under overload (a realtime
 * subscriber 10x slower than the publisher: its bounded queue must drop, not grow).
 */
import { EventEmitter } from 'node:events';
import mqemitter from 'mqemitter';
import { silentLogger } from '../../daemon/log.js';
import { SystemClock } from '../../daemon/util/clock.js';
import { scratchBus } from '../helpers/scratch-bus.js';

export const name = 'bus';

const TOPIC = 'device/d1/sensor/temp/value';
/** Subscriptions that share the topic's prefix shape but never match it. */
const NON_MATCHING = 1000;
/** Publishes between yields: lets the bus drain (it delivers on a microtask) and keeps the loops identical. */
const CHUNK = 256;

const nonMatchingPattern = (i: number): string => `device/+/sensor/${i}/#`;
const MATCHING_PATTERNS = ['device/+/sensor/temp/#', 'device/d1/+/temp/value'];

interface Runner {
  /** Publish `n` events; resolves once every delivery happened. Returns deliveries counted. */
  run(n: number): Promise<number>;
}

function edgeloomRunner(): Runner {
  const bus = scratchBus({ clock: new SystemClock(), logger: silentLogger() });
  let count = 0;
  const noop = (): undefined => undefined;
  for (let i = 0; i < NON_MATCHING; i++)
    bus.subscribe(nonMatchingPattern(i), noop, { component: 'bench.other' });
  const handler = (): undefined => {
    count++;
    return undefined;
  };
  for (const p of MATCHING_PATTERNS) bus.subscribe(p, handler, { component: 'bench.match' });
  const payload = { celsius: 21.5 };
  return {
    async run(n) {
      count = 0;
      for (let i = 0; i < n; i += CHUNK) {
        const end = Math.min(n, i + CHUNK);
        for (let j = i; j < end; j++) {
          const wait = bus.publish(TOPIC as 'rpc/x', payload);
          if (wait !== undefined) await wait;
        }
        await null;
      }
      await bus.drain(10_000);
      return count;
    },
  };
}

function mqemitterRunner(): Runner {
  const mq = mqemitter();
  let count = 0;
  const noop = (_m: unknown, done: () => void): void => done();
  for (let i = 0; i < NON_MATCHING; i++) mq.on(nonMatchingPattern(i), noop);
  for (const p of MATCHING_PATTERNS) {
    mq.on(p, (_m, done) => {
      count++;
      done();
    });
  }
  const payload = { celsius: 21.5 };
  return {
    async run(n) {
      count = 0;
      for (let i = 0; i < n; i += CHUNK) {
        const end = Math.min(n, i + CHUNK);
        for (let j = i; j < end; j++) mq.emit({ topic: TOPIC, payload });
        await null;
      }
      await new Promise((r) => setImmediate(r));
      return count;
    },
  };
}

function eventEmitterRunner(): Runner {
  const ee = new EventEmitter();
  ee.setMaxListeners(0);
  let count = 0;
  const noop = (): void => undefined;
  for (let i = 0; i < NON_MATCHING; i++) ee.on(`device/d1/sensor/${i}/value`, noop);
  for (let k = 0; k < MATCHING_PATTERNS.length; k++) ee.on(TOPIC, () => void count++);
  const payload = { celsius: 21.5 };
  return {
    async run(n) {
      count = 0;
      for (let i = 0; i < n; i += CHUNK) {
        const end = Math.min(n, i + CHUNK);
        for (let j = i; j < end; j++) ee.emit(TOPIC, payload);
        await null;
      }
      return count;
    },
  };
}

async function eventsPerSecond(runner: Runner, n: number): Promise<number> {
  const t0 = performance.now();
  const delivered = await runner.run(n);
  const elapsedS = (performance.now() - t0) / 1000;
  if (delivered !== n * MATCHING_PATTERNS.length) {
    throw new Error(`expected ${n * MATCHING_PATTERNS.length} deliveries, counted ${delivered}`);
  }
  return n / elapsedS;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

async function throughput(quick: boolean): Promise<Record<string, number>> {
  const n = quick ? 200_000 : 1_000_000;
  const rounds = quick ? 3 : 5;
  const runners = {
    edgeloom: edgeloomRunner(),
    mqemitter: mqemitterRunner(),
    eventemitter: eventEmitterRunner(),
  };
  // Warm-up so every runner is optimized before timing.
  for (const r of Object.values(runners)) await r.run(Math.min(n, 100_000));
  const results: Record<keyof typeof runners, number[]> = { edgeloom: [], mqemitter: [], eventemitter: [] };
  for (let round = 0; round < rounds; round++) {
    for (const key of Object.keys(runners) as (keyof typeof runners)[]) {
      results[key].push(await eventsPerSecond(runners[key], n));
    }
  }
  const bus = median(results.edgeloom);
  const mq = median(results.mqemitter);
  const ee = median(results.eventemitter);
  return {
    events_per_s: Math.round(bus),
    mqemitter_events_per_s: Math.round(mq),
    eventemitter_events_per_s: Math.round(ee),
    ratio_vs_mqemitter: round2(bus / mq),
    ratio_vs_eventemitter: round2(bus / ee),
    best_events_per_s: Math.round(Math.max(...results.edgeloom)),
    best_mqemitter_events_per_s: Math.round(Math.max(...results.mqemitter)),
  };
}

/** Latency at a steady rate: bursts of BURST events every BURST/rate seconds, paced on hrtime. */
async function latency(quick: boolean): Promise<Record<string, number>> {
  const ratePerS = 100_000;
  const burst = 10;
  const total = quick ? 100_000 : 300_000;
  const bus = scratchBus({ clock: new SystemClock(), logger: silentLogger() });
  const noop = (): undefined => undefined;
  for (let i = 0; i < NON_MATCHING; i++)
    bus.subscribe(nonMatchingPattern(i), noop, { component: 'bench.other' });
  const latenciesUs = new Float64Array(total);
  let received = 0;
  bus.subscribe(
    MATCHING_PATTERNS[0]!,
    (env) => {
      latenciesUs[received++] =
        (performance.now() - (env.payload as { publishedMs: number }).publishedMs) * 1000;
      return undefined;
    },
    { component: 'bench.latency', qos: 'realtime' },
  );
  const intervalNs = BigInt(Math.round((1e9 / ratePerS) * burst));
  const start = process.hrtime.bigint();
  let late = 0;
  for (let sent = 0, b = 0; sent < total; b++) {
    const due = start + BigInt(b) * intervalNs;
    let now = process.hrtime.bigint();
    if (now > due + intervalNs) late++;
    while (now < due) now = process.hrtime.bigint();
    for (let k = 0; k < burst && sent < total; k++, sent++) {
      bus.publish(TOPIC as 'rpc/x', { publishedMs: performance.now() });
    }
    await null; // the bus drains on this microtask turn
  }
  await bus.drain(10_000);
  const elapsedS = Number(process.hrtime.bigint() - start) / 1e9;
  const dropped = bus.stats().reduce((a, s) => a + s.dropped.queue_full, 0);
  const sorted = latenciesUs.subarray(0, received).sort();
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return {
    latency_rate_events_per_s: Math.round(total / elapsedS),
    p50_latency_us: round2(at(0.5)),
    p99_latency_us: round2(at(0.99)),
    p999_latency_us: round2(at(0.999)),
    latency_late_bursts: late,
    latency_dropped: dropped,
  };
}

/**
 * Overload: publish 10 000 events/s to a realtime subscriber whose handler takes ≥ 1 ms (10x slower
 * than the publish interval of 0.1 ms). The queue bound (drop-oldest) must keep memory flat.
 */
async function overload(quick: boolean): Promise<Record<string, number>> {
  const ratePerS = 10_000;
  const warmupMs = quick ? 1000 : 1500;
  const measureMs = quick ? 2500 : 5000;
  const bus = scratchBus({ clock: new SystemClock(), logger: silentLogger() });
  const sub = bus.subscribe('device/+/sensor/#', () => new Promise<void>((r) => setTimeout(r, 1)), {
    component: 'bench.slow',
    qos: 'realtime',
  });
  const rssSamples: { atMs: number; rss: number }[] = [];
  const t0 = performance.now();
  let sent = 0;
  let nextSampleMs = 0;
  await new Promise<void>((resolve) => {
    const tick = (): void => {
      const elapsedMs = performance.now() - t0;
      const due = Math.min(Math.floor((elapsedMs * ratePerS) / 1000), sent + 1000);
      for (; sent < due; sent++) {
        bus.publish(TOPIC as 'rpc/x', { seq: sent, samples: new Float64Array(64) });
      }
      if (elapsedMs >= nextSampleMs) {
        rssSamples.push({ atMs: elapsedMs, rss: process.memoryUsage.rss() });
        nextSampleMs += 250;
      }
      if (elapsedMs >= warmupMs + measureMs) resolve();
      else setImmediate(tick);
    };
    tick();
  });
  const after = rssSamples.filter((s) => s.atMs >= warmupMs);
  const mean = (xs: { rss: number }[]): number => xs.reduce((a, s) => a + s.rss, 0) / xs.length;
  const baseRss = mean(after.slice(0, 3));
  const endRss = mean(after.slice(-3));
  const s = sub.stats();
  await bus.close(1000);
  return {
    overload_published: sent,
    overload_delivered: s.delivered,
    overload_dropped: s.dropped.queue_full,
    overload_max_queue_depth: s.maxQueueDepth,
    /** Publish rate over handler throughput: how much slower the subscriber was (target ≥ 10). */
    overload_slowdown_x: round2(sent / Math.max(1, s.delivered)),
    overload_rss_start_mb: round2(baseRss / 2 ** 20),
    overload_rss_end_mb: round2(endRss / 2 ** 20),
    overload_rss_growth_pct: round2(((endRss - baseRss) / baseRss) * 100),
  };
}

function round2(x: number): number {
  return Math.round(x * 100) / 100;
}

export async function bench({
  quick,
}: {
  quick: boolean;
}): Promise<Record<string, number | string | boolean>> {
  const t = await throughput(quick);
  const l = await latency(quick);
  const o = await overload(quick);
  return {
    ...t,
    ...l,
    ...o,
    target_ratio_vs_mqemitter: 1.5,
    target_p99_latency_us: 50,
    target_rss_growth_pct: 5,
    meets_targets: t.ratio_vs_mqemitter! >= 1.5 && l.p99_latency_us! <= 50 && o.overload_rss_growth_pct! < 5,
  };
}
