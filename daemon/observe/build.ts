/**
 * How a person and a supervisor see the daemon: the stats collector (events/s, drops, queue
 * depths, model latency, routing, outbox, memory, CPU, temperature), the memory guard that sheds
 * load near the budget, the HTTP server (/metrics, /healthz, dashboard, display page), and the
 * retained MQTT `stats` message. Everything here runs on wall time, even during a replay.
 */

import type { MqttClientSink } from '../actions/mqtt-client.js';
import type { StageLatency } from '../actions/stage-latency.js';
import type { TtsActuator } from '../actions/tts.js';
import type { MotionFilter, MotionState } from '../agents/motion.js';
import type { AgentRuntime } from '../agents/runtime.js';
import type { EventBus } from '../bus/types.js';
import type { Component } from '../component.js';
import { configSources, type EdgeloomConfig, redactConfig } from '../config/index.js';
import type { Controller } from '../controller.js';
import { componentLogger, type Logger } from '../log.js';
import type { Mcp } from '../mcp/build.js';
import type { ModelManager } from '../models/manager.js';
import type { FaceStage } from '../pipeline/face/face-stage.js';
import type { WakeModeStats } from '../pipeline/wake/build-wake.js';
import type { PluginHost } from '../plugins/plugin-host.js';
import type { ReplaySource } from '../replay/replay-source.js';
import type { AuditLog } from '../router/audit-log.js';
import type { PrivacyTiers } from '../router/privacy.js';
import type { RouterStage } from '../router/router.js';
import { countsSensorEvents } from '../sensors/counters.js';
import type { StorageComponent } from '../storage/component.js';
import { type Clock, SystemClock, type TimerHandle } from '../util/clock.js';
import type { LatencyHistograms } from '../util/latency-histogram.js';
import type { LoopDelaySampler } from '../util/loop-delay.js';
import { findSocZone, readZoneCelsius } from '../util/thermal.js';
import { EgressToday } from './egress-today.js';
import { CameraView } from './http/camera-view.js';
import { MicLevels, type VadProbabilities } from './http/mic-levels.js';
import { HttpServer } from './http/server.js';
import { MemoryGuard } from './memory-guard.js';
import { StatsCollector } from './stats.js';
import type { MotionStatsView, StatsProviders } from './stats-snapshot.js';

export interface ObservabilityOptions {
  readonly config: EdgeloomConfig;
  readonly bus: EventBus;
  readonly controller: Controller;
  readonly logger: Logger;
  readonly router: RouterStage;
  readonly storage?: StorageComponent;
  /** The wake modes' counters (pipeline/wake/build-wake.ts), absent in mode `always`. */
  readonly wake?: () => WakeModeStats;
  readonly replay?: ReplaySource;
  readonly agents?: AgentRuntime;
  readonly mqtt?: MqttClientSink;
  /** Speech output: utterances spoken, failed, interrupted, dropped (actions/tts.ts). */
  readonly tts?: TtsActuator;
  readonly face?: FaceStage;
  /** Its per-frame speech probabilities go on the hearing view's timeline. */
  readonly vad?: VadProbabilities;
  /** The pipeline's models: the guard unloads idle ones under pressure; stats show them. */
  readonly models?: ModelManager;
  /** The configured plugins' hosts: their counters in the stats. */
  readonly plugins?: readonly PluginHost[];
  /** MCP: the tool servers' and the clients' counters in the stats; /mcp on the HTTP server. */
  readonly mcp?: Mcp;
  /** The tiers in force now (they change at run time: read on each snapshot). */
  readonly privacy?: () => PrivacyTiers;
  /** The audit log: the dashboard's "left the device today" is tallied from it. */
  readonly audit?: AuditLog;
  /** Period of the retained `stats` message, ms (default config `mqtt.stats_interval_ms`). */
  readonly statsPeriodMs?: number;
  /** The sensor sources (live or the replay): their frame and drop counters on /metrics. */
  readonly sources?: readonly Component[];
  /** Session run latency by model (pipeline/build.ts), for /metrics. */
  readonly modelLatency?: LatencyHistograms;
  /** End-to-end latency of the user-facing paths (actions/stage-latency.ts): /metrics and the dashboard. */
  readonly stageLatency?: StageLatency;
  /** The process's event-loop delay sampler (the `run` command's, its watchdog reads it too). */
  readonly loopDelay?: LoopDelaySampler;
}

export function buildObservability(o: ObservabilityOptions): Component[] {
  const clock = new SystemClock();
  const { config, bus, controller, logger } = o;
  const guard = new MemoryGuard({
    clock,
    logger: componentLogger(logger, 'system.memory'),
    budgetMb: config.budget.memory_mb,
    bus,
    // Shed the most expensive optional work first: face analysis at a quarter of its rate; then
    // give back the memory of models nobody is using (they reload on their next use). Soft
    // pressure spares models used in the last minute (a conversation in progress); hard pressure
    // takes every model not running right now.
    onPressure: async (level) => {
      o.face?.scaleRate(0.25);
      const unloaded = (await o.models?.unloadIdle(level === 'hard' ? 0 : 60_000)) ?? [];
      if (unloaded.length > 0) logger.warn({ unloaded, level }, 'memory pressure: idle models unloaded');
    },
    onRelief: () => o.face?.scaleRate(1),
  });
  // The SoC's thermal zone (util/thermal.ts), found once; absent on boards and VMs without one.
  const zone = findSocZone();
  const egressToday = o.audit === undefined ? undefined : new EgressToday({ audit: o.audit });
  const enabledSensors = (['camera', 'mic', 'imu'] as const).filter((k) => config.sensors[k].enabled);
  const providers: StatsProviders = {
    ...(zone === undefined ? {} : { temperatureC: () => readZoneCelsius(zone) }),
    bus: () => bus.stats(),
    health: () => controller.health(),
    routing: () => o.router.snapshot(),
    ...(o.agents === undefined ? {} : { motion: () => motionViews(o.agents!) }),
    ...(o.privacy === undefined
      ? {}
      : { privacy: () => ({ sensors: o.privacy!().tiersBySensor(enabledSensors) }) }),
    ...(egressToday === undefined ? {} : { egressToday: () => egressToday.view() }),
    memory: () => guard.status(),
    ...(o.plugins === undefined || o.plugins.length === 0
      ? {}
      : { plugins: () => o.plugins!.map((h) => h.stats()) }),
    ...(o.mcp === undefined ? {} : { mcp: () => o.mcp!.stats() }),
    ...(o.tts === undefined ? {} : { tts: () => o.tts!.stats() }),
    ...(o.storage === undefined ? {} : { storage: () => o.storage!.stats() }),
    ...(o.wake === undefined ? {} : { wake: o.wake }),
    ...(o.stageLatency === undefined ? {} : { stages: () => o.stageLatency!.view() }),
    ...(o.agents === undefined
      ? {}
      : {
          agents: () =>
            o.agents!.list().map((a) => ({
              agent: a.id,
              inputs: a.counters.inputs,
              events: a.counters.events,
              persistErrors: a.counters.persistErrors,
              workingErrors: a.counters.workingErrors,
            })),
        }),
    ...(o.replay === undefined
      ? {}
      : {
          replay: () => {
            const p = o.replay!.progress;
            return { passes: p.passes, playedMs: p.playedMs, published: p.published };
          },
        }),
    ...(o.models === undefined
      ? {}
      : {
          models: () => {
            const m = o.models!;
            const st = m.status();
            return {
              budgetMb: st.budgetMb,
              usedMb: st.usedMb,
              models: st.models.map((x) => ({ id: x.id, state: x.state, memoryMb: x.memoryMb })),
              latency: m
                .latency()
                .map((l) => ({ model: l.modelId, p50Ms: l.p50Ms, p99Ms: l.p99Ms, runs: l.runs })),
              events: st.events,
            };
          },
        }),
    ...(o.mqtt === undefined
      ? {}
      : {
          outbox: () => {
            const s = o.mqtt!.stats().outbox;
            return {
              depth: s.size,
              capacity: s.maxMessages,
              dropped: s.droppedOldest,
              writeErrors: s.writeErrors,
              unstored: s.unstored,
              writesElided: s.writesElided,
              batches: s.batches,
            };
          },
          broker: () => ({
            connected: o.mqtt!.isConnected(),
            ...(o.mqtt!.destination() === undefined ? {} : { destination: o.mqtt!.destination() }),
            withheld: o.mqtt!.stats().withheld,
          }),
        }),
  };
  const counting = (o.sources ?? []).filter(countsSensorEvents);
  const stats = new StatsCollector({
    clock,
    logger: componentLogger(logger, 'system.stats'),
    providers,
    bus,
    // One sampler for the dashboard's loop delay and /metrics' (util/loop-delay.ts: why one).
    loopDelay: o.loopDelay,
    metricsSources: {
      modelLatency: o.modelLatency,
      stageLatency: o.stageLatency?.histograms,
      cloudLatency: () => o.router.cloudLatency(),
      sensors: () => counting.flatMap((c) => c.sensorCounters()),
    },
  });
  const out: Component[] = [
    guard,
    ...(egressToday === undefined ? [] : [egressToday]),
    stats,
    new StatsPublisher(bus, stats, clock, o.statsPeriodMs ?? config.mqtt.stats_interval_ms),
  ];
  if (config.http.enabled) {
    // The dashboard's camera view keeps a few frames per camera; started before the server.
    const cameras = new CameraView({ bus });
    const micLevels = new MicLevels({ bus, ...(o.vad === undefined ? {} : { vad: o.vad }) });
    out.push(
      cameras,
      micLevels,
      new HttpServer({
        bus,
        stats,
        clock,
        logger: componentLogger(logger, 'http'),
        host: config.http.host,
        port: config.http.port,
        ...(config.http.token === '' ? {} : { token: config.http.token }),
        allowedHosts: config.http.allowed_hosts,
        maxConnectionsPerClient: config.http.max_connections_per_client,
        cameras,
        micLevels,
        ...(o.mcp === undefined ? {} : { mcp: (req, res) => o.mcp!.service.handleHttp(req, res) }),
        // Read-only, secrets masked: what runs and where each value came from.
        configView: () => ({
          config: redactConfig(config),
          sources: Object.fromEntries(configSources(config) ?? []),
        }),
      }),
    );
  }
  return out;
}

/** Each motion agent's activity and learned rest orientation (its working memory), for the dashboard. */
function motionViews(agents: AgentRuntime): MotionStatsView[] {
  const deg = (rad: number): number => Math.round(((rad * 180) / Math.PI) * 10) / 10;
  return agents.find({ capability: 'motion' }).map((a) => {
    const state = a.state() as Partial<MotionState>;
    const rest = (a.working() as Partial<MotionFilter> | undefined)?.rest ?? null;
    const round = (v: number): number => Math.round(v * 1000) / 1000;
    return {
      agent: a.id,
      activity: String(state.activity ?? 'unknown'),
      rest: rest === null ? null : [round(rest[0]), round(rest[1]), round(rest[2])],
      ...(rest === null
        ? {}
        : {
            restPitchDeg: deg(Math.atan2(-rest[0], Math.hypot(rest[1], rest[2]))),
            restRollDeg: deg(Math.atan2(rest[1], rest[2])),
          }),
    };
  });
}

/**
 * Publishes the stats snapshot on `system/stats` (→ retained MQTT `stats`) every period, and once
 * soon after start: a dashboard or Home Assistant subscribing after a restart should not wait a
 * whole period for the retained message to reflect the new process.
 */
class StatsPublisher implements Component {
  readonly name = 'system.stats-publisher';
  private timer: TimerHandle | undefined;
  private first: TimerHandle | undefined;

  constructor(
    private readonly bus: EventBus,
    private readonly stats: StatsCollector,
    private readonly clock: Clock,
    private readonly periodMs: number,
  ) {}

  async start(): Promise<void> {
    // 5 s: enough for the collector's first rate window and the broker connection.
    this.first = this.clock.setTimeout(() => this.publish(), Math.min(this.periodMs, 5000));
    this.timer = this.clock.setInterval(() => this.publish(), this.periodMs);
  }

  async stop(): Promise<void> {
    this.first?.cancel();
    this.timer?.cancel();
  }

  private publish(): void {
    try {
      this.bus
        .publish('system/stats', this.stats.snapshot() as unknown as Record<string, unknown>, {
          source: this.name,
        })
        ?.catch(() => {});
    } catch {
      // closed bus during shutdown
    }
  }
}
