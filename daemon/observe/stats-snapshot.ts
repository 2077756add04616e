/**
 * The stats snapshot: what /metrics, /healthz, the dashboard, the display page and the retained
 * MQTT `stats` message read (StatsCollector in stats.ts assembles it), and the providers the
 * daemon's components answer it from.
 */

import type { StageLatencyView } from '../actions/stage-latency.js';
import type { TtsStats } from '../actions/tts.js';
import type { SensorStatus } from '../bus/topics.js';
import type { SubscriptionStats } from '../bus/types.js';
import type { ComponentHealth } from '../component.js';
import type { McpStats } from '../mcp/build.js';
import type { WakeModeStats } from '../pipeline/wake/build-wake.js';
import type { PluginStats } from '../plugins/plugin-host.js';
import type { SensorCounters } from '../sensors/counters.js';
import type { HistogramSnapshot, LatencyHistograms } from '../util/latency-histogram.js';
import type { LoopDelaySampler } from '../util/loop-delay.js';
import type { EgressTodayView } from './egress-today.js';
import type { MemoryGuardStatus } from './memory-guard.js';

/** Models as the stats message sees them (a subset of ModelManager.status() plus session latencies). */
export interface ModelsStats {
  readonly budgetMb?: number;
  readonly usedMb?: number;
  readonly models?: readonly { readonly id: string; readonly state?: string; readonly memoryMb?: number }[];
  /** Per-model inference latency over each session's recent window (OnnxModel.stats()). */
  readonly latency?: readonly {
    readonly model: string;
    readonly p50Ms: number;
    readonly p99Ms: number;
    readonly runs?: number;
  }[];
  /** Recent loads and unloads, oldest first (models/model-events.ts). */
  readonly events?: readonly {
    readonly tsMs: number;
    readonly model: string;
    readonly kind: string;
    readonly loadMs?: number;
    readonly why?: string;
  }[];
}

/** Routing as the stats message sees it (structurally a subset of RouterTelemetrySnapshot). */
export interface RoutingStats {
  readonly decisions: Readonly<Record<string, number>>;
  /** Share of decisions per route, 0..1. */
  readonly rates?: Readonly<Record<string, number>>;
  readonly cloudCalls?: number;
  readonly cloudFailures?: number;
  readonly cloudLatencyP50Ms?: number | undefined;
  readonly cloudLatencyP99Ms?: number | undefined;
  readonly costTodayUsd?: number;
  /** The day's cost cap (router.cost.daily_cap_usd); 0 = no cloud spending allowed. */
  readonly costCapUsd?: number;
  /** The cloud circuit breaker: `open` while the cloud is treated as down. */
  readonly breaker?: 'closed' | 'open' | 'half_open';
}

/** Per motion agent: whether the device is still, and the rest orientation it has learned. */
export interface MotionStatsView {
  readonly agent: string;
  readonly activity: string;
  /** The learned rest gravity vector, g (x, y, z); null until the device has been still. */
  readonly rest: readonly [number, number, number] | null;
  /** That orientation as pitch and roll, degrees (0, 0 = lying flat, z up). */
  readonly restPitchDeg?: number;
  readonly restRollDeg?: number;
}

/** The privacy tier in force per sensor id (config, persisted changes and overrides applied). */
export interface PrivacyStatsView {
  readonly sensors: Readonly<Record<string, { readonly kind: string; readonly tier: string }>>;
}

export interface OutboxStatsView {
  /** Messages waiting for the broker. */
  readonly depth: number;
  readonly capacity?: number;
  readonly dropped?: number;
  /** Outbox batches whose write failed (a full disk). */
  readonly writeErrors?: number;
  /** Messages refused because their write failed (never accepted). */
  readonly unstored?: number;
  /** Messages acknowledged before their write was due, never written (write-behind). */
  readonly writesElided?: number;
  /** LevelDB batches written. */
  readonly batches?: number;
}

/** The shared LevelDB store (storage/component.ts). */
export interface StorageStatsView {
  /** Bytes of the LevelDB files in storage.dir. */
  readonly sizeBytes: number;
  /** Sublevels open on the store (one per owner; constant while the daemon runs). */
  readonly openSublevels: number;
  /** Sublevels created since start. */
  readonly createdSublevels: number;
  /** Damaged stores moved aside by this process. */
  readonly quarantines: number;
  /** Quarantined stores kept on disk. */
  readonly quarantinedStores: number;
}

/** One agent's counters (agents/runtime.ts AgentCounters). */
export interface AgentStatsView {
  readonly agent: string;
  readonly inputs: number;
  readonly events: number;
  /** Inputs whose events could not be written (a full disk): dropped. */
  readonly persistErrors: number;
  readonly workingErrors: number;
}

/** A fixture replay's progress (replay/replay-source.ts). */
export interface ReplayStatsView {
  /** Passes over the fixture completed. */
  readonly passes: number;
  /** Fixture time replayed since start (all passes), ms. */
  readonly playedMs: number;
  /** Records published. */
  readonly published: number;
}

export interface BrokerStatus {
  readonly connected: boolean;
  readonly reason?: string;
  /** How far the broker is (device, lan, cloud): what each privacy tier may publish there. */
  readonly destination?: string;
  /** Messages the privacy gate withheld from the broker, by reason. */
  readonly withheld?: Readonly<Record<string, number>>;
}

/**
 * What the lead wires from the composition root. Every function is optional: the snapshot,
 * /metrics and the dashboard render whatever is provided. A provider that throws is logged and
 * its section left out of that snapshot.
 */
export interface StatsProviders {
  bus?(): readonly SubscriptionStats[];
  /** Controller.health(). */
  health?(): Readonly<Record<string, ComponentHealth>>;
  models?(): ModelsStats;
  routing?(): RoutingStats;
  privacy?(): PrivacyStatsView;
  motion?(): readonly MotionStatsView[];
  /** What left the device today, by destination, from the audit (observe/egress-today.ts). */
  egressToday?(): EgressTodayView;
  outbox?(): OutboxStatsView;
  broker?(): BrokerStatus;
  sensors?(): readonly SensorStatus[];
  memory?(): MemoryGuardStatus;
  storage?(): StorageStatsView;
  replay?(): ReplayStatsView;
  agents?(): readonly AgentStatsView[];
  /** Per plugin: process, restarts, lines, events, publishes, tool calls (plugins/plugin-host.ts). */
  plugins?(): readonly PluginStats[];
  /** MCP tool servers (calls, restarts, tools) and MCP clients of this daemon (mcp/build.ts). */
  mcp?(): McpStats;
  /** Speech output (actions/tts.ts): utterances by outcome, the queue. */
  tts?(): TtsStats;
  /** The wake modes: segments let through or kept from STT, windows, wake words (issue #14). */
  wake?(): WakeModeStats;
  /** End-to-end latency per path (actions/stage-latency.ts): exact p50/p99 of recent messages. */
  stages?(): readonly StageLatencyView[];
  /** SoC temperature, °C, or undefined where the board has no sensor; called at most every tempIntervalMs. */
  temperatureC?(): Promise<number | undefined>;
}

export interface TopicRate {
  readonly topic: string;
  /** Events seen since start. */
  readonly total: number;
  /** Over the last collection period. */
  readonly perSecond: number;
}

export interface SubscriptionView extends SubscriptionStats {
  /** Matching events per second over the last collection period. */
  readonly perSecond: number;
}

export interface ProcessStats {
  readonly rssBytes: number;
  readonly heapUsedBytes: number;
  readonly heapTotalBytes: number;
  readonly externalBytes: number;
  /** User + system CPU time since start, s. */
  readonly cpuSecondsTotal: number;
  /** CPU used over the last period as a fraction of one core (may exceed 1 on several cores). */
  readonly cpuRatio: number;
  readonly loadAverage: readonly [number, number, number];
  readonly uptimeS: number;
  /** Open file descriptors (/proc/self/fd; absent where there is no /proc). */
  readonly openFds?: number;
  /**
   * Resources keeping the event loop alive, by type (process.getActiveResourcesInfo(): `Timeout`,
   * `TCPSocketWrap`, `FSReqCallback`, ...). Constant in a healthy long run.
   */
  readonly activeResources: Readonly<Record<string, number>>;
  /** Event-loop delay over the last collection period, ms (util/loop-delay.ts). */
  readonly eventLoopDelayMs: { readonly p50: number; readonly p99: number; readonly max: number };
}

/** One stats snapshot: the retained MQTT `stats` message, /api/stats and the dashboard's source. */
export interface StatsSnapshot {
  readonly tsMs: number;
  readonly periodMs: number;
  readonly process: ProcessStats;
  readonly temperatureC?: number;
  readonly topics: readonly TopicRate[];
  /** Events on topics past the topic cap, folded together. */
  readonly otherTopics: { readonly total: number; readonly perSecond: number };
  readonly subscriptions: readonly SubscriptionView[];
  readonly health?: Readonly<Record<string, ComponentHealth>>;
  readonly models?: ModelsStats;
  readonly routing?: RoutingStats;
  readonly privacy?: PrivacyStatsView;
  readonly motion?: readonly MotionStatsView[];
  readonly egressToday?: EgressTodayView;
  readonly outbox?: OutboxStatsView;
  readonly broker?: BrokerStatus;
  readonly sensors?: readonly SensorStatus[];
  readonly memory?: MemoryGuardStatus;
  readonly storage?: StorageStatsView;
  readonly replay?: ReplayStatsView;
  readonly agents?: readonly AgentStatsView[];
  readonly plugins?: readonly PluginStats[];
  readonly mcp?: McpStats;
  readonly tts?: TtsStats;
  readonly wake?: WakeModeStats;
  readonly stages?: readonly StageLatencyView[];
}

/** Histograms and counters read at each scrape from the components that keep them. */
export interface MetricsSources {
  /** Per ONNX session run, by model id (pipeline/build.ts). */
  readonly modelLatency?: LatencyHistograms;
  /** Per cloud call (the router's telemetry). */
  readonly cloudLatency?: () => HistogramSnapshot;
  /** The end-to-end paths the MQTT bridge measures (actions/stage-latency.ts). */
  readonly stageLatency?: LatencyHistograms;
  /** Per sensor: frames handed to the bus and dropped (the live sources, or the replay). */
  readonly sensors?: () => readonly SensorCounters[];
  /** The event-loop delay sampler (the stats collector's): nodejs_eventloop_lag_*. */
  readonly loopDelay?: LoopDelaySampler;
}
