import { readdirSync } from 'node:fs';
import os from 'node:os';
import { TopicCounts, type TopicCountsView } from '../bus/topic-counts.js';
import type { EventBus, SubscriptionStats } from '../bus/types.js';
import type { Component } from '../component.js';
import { toError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import { type LoopDelayReader, LoopDelaySampler } from '../util/loop-delay.js';
import type { MetricsSources, StatsProviders, StatsSnapshot, TopicRate } from './stats-snapshot.js';

export interface StatsCollectorOptions {
  /** Wall time (a SystemClock in live runs): rates are per real second. */
  readonly clock: Clock;
  readonly logger: Logger;
  readonly providers: StatsProviders;
  /** When given, the per-topic counts are the bus's own (topic-counts.ts); otherwise count() feeds them. */
  readonly bus?: Pick<EventBus, 'topicCounts'>;
  /** Collection period for the rates, ms. Default 5000. */
  readonly intervalMs?: number;
  /** Distinct topics count() keeps by name, past it folded into `other` (without `bus`). Default 256. */
  readonly maxTopics?: number;
  /** Minimum gap between temperature reads, ms. Default 30000. */
  readonly tempIntervalMs?: number;
  /** What /metrics reads besides the snapshot (histograms, sensor counters); never in the JSON. */
  readonly metricsSources?: MetricsSources;
  /** The process's event-loop delay sampler (default: one of its own); /metrics reads it too. */
  readonly loopDelay?: LoopDelaySampler;
}

/** A topic's total at the last tick and its rate over the period before. */
interface TopicRateState {
  atLastTick: number;
  perSecond: number;
}

/**
 * Assembles the stats snapshot (stats-snapshot.ts) from the providers. Counters are read fresh
 * on every snapshot(); rates are computed from deltas between collection ticks on the injected
 * clock.
 */
export class StatsCollector implements Component {
  readonly name = 'system.stats';
  private readonly intervalMs: number;
  private readonly tempIntervalMs: number;
  /** Per-topic totals: the bus's, or this collector's own when it has no bus. */
  private readonly counts: TopicCountsView;
  private readonly ownCounts: TopicCounts | undefined;
  /** Rate state per counted topic: bounded as the counts are (topic-counts.ts). */
  private readonly rates = new Map<string, TopicRateState>();
  private readonly otherRate: TopicRateState = { atLastTick: 0, perSecond: 0 };
  private readonly subRates = new Map<string, { published: number; perSecond: number }>();
  private timer: TimerHandle | undefined;
  private lastTickMs: number;
  private lastCpuUs: number;
  private cpuRatio = 0;
  private temperatureC: number | undefined;
  private lastTempReadMs = Number.NEGATIVE_INFINITY;
  private tempReading = false;
  private readonly startedMs: number;
  private readonly loopDelaySampler: LoopDelaySampler;
  /** Event-loop delay since the last tick; its percentiles are kept for the snapshot. */
  private loopDelay: LoopDelayReader | undefined;
  private loopDelayMs = { p50: 0, p99: 0, max: 0 };

  constructor(private readonly options: StatsCollectorOptions) {
    this.intervalMs = options.intervalMs ?? 5_000; // 5 s
    this.loopDelaySampler = options.loopDelay ?? new LoopDelaySampler();
    if (options.bus === undefined) {
      this.ownCounts = new TopicCounts(options.maxTopics ?? 256);
      this.counts = this.ownCounts;
    } else {
      this.ownCounts = undefined;
      this.counts = options.bus.topicCounts();
    }
    this.tempIntervalMs = options.tempIntervalMs ?? 30_000; // 30 s
    this.lastTickMs = options.clock.monotonicMs();
    this.startedMs = this.lastTickMs;
    this.lastCpuUs = cpuMicros();
  }

  async start(): Promise<void> {
    this.lastTickMs = this.options.clock.monotonicMs();
    this.timer = this.options.clock.setInterval(() => this.tick(), this.intervalMs);
    this.loopDelay = this.loopDelaySampler.open();
    this.refreshTemperature();
  }

  async stop(): Promise<void> {
    this.timer?.cancel();
    this.timer = undefined;
    this.loopDelay?.close();
    this.loopDelay = undefined;
  }

  /**
   * The sources /metrics reads outside the snapshot (StatsCollectorOptions.metricsSources), and
   * this collector's event-loop delay sampler, so /metrics adds no timer of its own.
   */
  get metricsSources(): MetricsSources {
    return { ...this.options.metricsSources, loopDelay: this.loopDelaySampler };
  }

  /** Whether the lead wired this provider (sections that can never appear are not rendered). */
  provides(section: keyof StatsProviders): boolean {
    return this.options.providers[section] !== undefined;
  }

  /** Count one event, for a collector without a bus (tests, a source outside the bus); with one, a no-op. */
  count(topic: string): void {
    this.ownCounts?.count(topic);
  }

  /** Close a collection period: rates over it, CPU share, temperature refresh. */
  tick(): void {
    const now = this.options.clock.monotonicMs();
    const dtS = Math.max(1e-3, (now - this.lastTickMs) / 1000);
    this.lastTickMs = now;
    const roll = (state: TopicRateState, total: number): void => {
      state.perSecond = (total - state.atLastTick) / dtS;
      state.atLastTick = total;
    };
    for (const [topic, total] of this.counts.entries()) {
      let state = this.rates.get(topic);
      if (state === undefined) this.rates.set(topic, (state = { atLastTick: 0, perSecond: 0 }));
      roll(state, total);
    }
    roll(this.otherRate, this.counts.other);
    const subs = this.call('bus', () => this.options.providers.bus?.()) ?? [];
    const seen = new Set<string>();
    for (const s of subs) {
      const key = subKey(s);
      seen.add(key);
      const prev = this.subRates.get(key);
      const perSecond = prev === undefined ? 0 : Math.max(0, s.published - prev.published) / dtS;
      this.subRates.set(key, { published: s.published, perSecond });
    }
    for (const key of this.subRates.keys()) if (!seen.has(key)) this.subRates.delete(key);
    const h = this.loopDelay?.histogram;
    if (h !== undefined && h.count > 0) {
      this.loopDelayMs = { p50: h.percentile(50) / 1e6, p99: h.percentile(99) / 1e6, max: h.max / 1e6 };
      h.reset();
    }
    const cpu = cpuMicros();
    this.cpuRatio = (cpu - this.lastCpuUs) / 1e6 / dtS;
    this.lastCpuUs = cpu;
    this.refreshTemperature();
  }

  snapshot(): StatsSnapshot {
    const p = this.options.providers;
    const mem = process.memoryUsage();
    const topics: TopicRate[] = [...this.counts.entries()].map(([topic, total]) => ({
      topic,
      total,
      perSecond: this.rates.get(topic)?.perSecond ?? 0,
    }));
    topics.sort((a, b) => b.perSecond - a.perSecond || b.total - a.total || a.topic.localeCompare(b.topic));
    const subscriptions = (this.call('bus', () => p.bus?.()) ?? []).map((s) => ({
      ...s,
      perSecond: this.subRates.get(subKey(s))?.perSecond ?? 0,
    }));
    const snap: StatsSnapshot = {
      tsMs: this.options.clock.now(),
      periodMs: this.intervalMs,
      process: {
        rssBytes: mem.rss,
        heapUsedBytes: mem.heapUsed,
        heapTotalBytes: mem.heapTotal,
        externalBytes: mem.external,
        cpuSecondsTotal: cpuMicros() / 1e6,
        cpuRatio: this.cpuRatio,
        loadAverage: os.loadavg() as [number, number, number],
        uptimeS: (this.options.clock.monotonicMs() - this.startedMs) / 1000,
        ...optional('openFds', openFds()),
        activeResources: activeResources(),
        eventLoopDelayMs: this.loopDelayMs,
      },
      ...(this.temperatureC === undefined ? {} : { temperatureC: this.temperatureC }),
      topics,
      otherTopics: { total: this.counts.other, perSecond: this.otherRate.perSecond },
      subscriptions,
      ...optional(
        'health',
        this.call('health', () => p.health?.()),
      ),
      ...optional(
        'models',
        this.call('models', () => p.models?.()),
      ),
      ...optional(
        'routing',
        this.call('routing', () => p.routing?.()),
      ),
      ...optional(
        'motion',
        this.call('motion', () => p.motion?.()),
      ),
      ...optional(
        'privacy',
        this.call('privacy', () => p.privacy?.()),
      ),
      ...optional(
        'egressToday',
        this.call('egressToday', () => p.egressToday?.()),
      ),
      ...optional(
        'outbox',
        this.call('outbox', () => p.outbox?.()),
      ),
      ...optional(
        'broker',
        this.call('broker', () => p.broker?.()),
      ),
      ...optional(
        'sensors',
        this.call('sensors', () => p.sensors?.()),
      ),
      ...optional(
        'memory',
        this.call('memory', () => p.memory?.()),
      ),
      ...optional(
        'wake',
        this.call('wake', () => p.wake?.()),
      ),
      ...optional(
        'stages',
        this.call('stages', () => p.stages?.()),
      ),
      ...optional(
        'storage',
        this.call('storage', () => p.storage?.()),
      ),
      ...optional(
        'replay',
        this.call('replay', () => p.replay?.()),
      ),
      ...optional(
        'agents',
        this.call('agents', () => p.agents?.()),
      ),
      ...optional(
        'plugins',
        this.call('plugins', () => p.plugins?.()),
      ),
      ...optional(
        'mcp',
        this.call('mcp', () => p.mcp?.()),
      ),
      ...optional(
        'tts',
        this.call('tts', () => p.tts?.()),
      ),
    };
    return snap;
  }

  private call<T>(what: string, fn: () => T | undefined): T | undefined {
    try {
      return fn();
    } catch (err) {
      this.options.logger.warn({ err: toError(err), provider: what }, 'stats provider failed');
      return undefined;
    }
  }

  private refreshTemperature(): void {
    const read = this.options.providers.temperatureC;
    const now = this.options.clock.monotonicMs();
    if (read === undefined || this.tempReading || now - this.lastTempReadMs < this.tempIntervalMs) return;
    this.tempReading = true;
    this.lastTempReadMs = now;
    read()
      .then((c) => {
        this.temperatureC = c;
      })
      .catch((err: unknown) => {
        this.options.logger.debug({ err: toError(err) }, 'temperature read failed');
        this.temperatureC = undefined;
      })
      .finally(() => {
        this.tempReading = false;
      });
  }
}

function subKey(s: SubscriptionStats): string {
  return `${s.id}`;
}

/** Entries of /proc/self/fd (the fd readdir itself uses is counted too, consistently). */
function openFds(): number | undefined {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return undefined;
  }
}

function activeResources(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const type of process.getActiveResourcesInfo()) out[type] = (out[type] ?? 0) + 1;
  return out;
}

function cpuMicros(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
