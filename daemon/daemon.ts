/**
 * The composition root: config in, a started graph of components out. Data flows one way —
 * sources (live sensors or a fixture replay) → bus → pipeline stages → router → agents → MQTT —
 * and the controller starts components in that order and stops them in reverse.
 * Nothing here is a singleton: every component gets its config slice, the bus, the clock and a
 * child logger through its constructor.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { BrokerGate } from './actions/broker-gate.js';
import { haDeviceFromConfig } from './actions/ha-config.js';
import { HaImagePublisher } from './actions/ha-image.js';
import { JsonlSink } from './actions/jsonl-sink.js';
import { MqttBridge, type MqttSink } from './actions/mqtt-bridge.js';
import { MqttClientSink } from './actions/mqtt-client.js';
import { destinationFor, MqttEgressGate } from './actions/mqtt-egress.js';
import { StageLatency } from './actions/stage-latency.js';
import { ttsFromConfig } from './actions/tts.js';
import { createAgents } from './agents/build.js';
import { commandExists } from './agents/builtin-tools.js';
import { Bus } from './bus/bus.js';
import type { EventBus } from './bus/types.js';
import type { Component } from './component.js';
import type { EdgeloomConfig } from './config/index.js';
import { ControlServer } from './control/control-server.js';
import { controlSocketPath } from './control/protocol.js';
import { Controller } from './controller.js';
import { componentLogger, type Logger } from './log.js';
import { buildMcp, type Mcp } from './mcp/build.js';
import type { ModelManager } from './models/manager.js';
import { buildObservability, type ObservabilityOptions } from './observe/build.js';
import { BusTap } from './observe/bus-tap.js';
import { buildPipeline } from './pipeline/build.js';
import { buildPlugins } from './plugins/build.js';
import type { PluginHost } from './plugins/plugin-host.js';
import { ForgetService } from './privacy/forget.js';
import { PrivacyControl } from './privacy/privacy-control.js';
import { ReplaySource } from './replay/replay-source.js';
import { AuditLog } from './router/audit-log.js';
import { RouterStage } from './router/router.js';
import { buildLiveSensors } from './sensors/build.js';
import type { PauseSettings } from './sensors/pauses.js';
import { StorageComponent } from './storage/component.js';
import { openCheckedStore } from './storage/quarantine.js';
import { type Clock, SystemClock } from './util/clock.js';
import { packageVersion } from './util/package-root.js';
import { findSocZone } from './util/thermal.js';
import { VirtualClock } from './util/virtual-clock.js';

export interface DaemonOptions {
  readonly config: EdgeloomConfig;
  readonly logger: Logger;
  /** Relative paths in the config (fixture, models, storage) resolve against this directory. */
  readonly baseDir: string;
  /** Replace the config's source with a replay of this fixture (the `replay` command). */
  readonly replay?: { readonly fixtureDir: string; readonly speed: number; readonly loop: boolean };
  /**
   * Where MQTT messages go. `jsonl` writes them to a stream (`replay --emit jsonl`); a sink object
   * is used as is; absent: no MQTT output.
   */
  readonly mqtt?:
    | { readonly kind: 'jsonl'; readonly out: Writable }
    | { readonly kind: 'sink'; readonly sink: MqttSink }
    /** The configured broker (`mqtt.url`), or the embedded one when the url is empty. */
    | { readonly kind: 'broker' };
  /** `replay --emit-bus PATTERN`: internal events matching the pattern as JSON lines. */
  readonly busTap?: { readonly pattern: string; readonly out: Writable };
  /**
   * Keep agent state, audit log and outbox in a fresh temporary store that is deleted on stop
   * (the `replay` command: a replay must not depend on, or change, the device's state).
   */
  readonly ephemeralStorage?: boolean;
  /** Stats, memory guard, HTTP dashboard/metrics and the retained `stats` message (the `run` command). */
  readonly observability?: Pick<ObservabilityOptions, 'loopDelay'>;
  /**
   * Aborts the building (a shutdown signal before the controller exists): the store's start-up
   * check stops and buildDaemon rejects with the abort reason.
   */
  readonly signal?: AbortSignal;
}

export interface Daemon {
  readonly bus: EventBus;
  readonly clock: Clock;
  readonly controller: Controller;
  /** Present when the daemon replays a fixture. */
  readonly replay: ReplaySource | undefined;
  /** The MQTT client, when the daemon talks to a broker. */
  readonly mqtt: MqttClientSink | undefined;
  /** The pipeline's models (absent when no stage is enabled). */
  readonly models: ModelManager | undefined;
  /** The configured plugins' hosts (counters, tools). */
  readonly plugins: readonly PluginHost[];
  /** MCP: the tool servers and the service MCP clients reach. */
  readonly mcp: Mcp;
  /** The shared LevelDB store's owner (size, open sublevels, a quarantine at this start). */
  readonly storage: StorageComponent;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Resolve a path from the config against the base directory. */
export function resolvePath(baseDir: string, p: string): string {
  return isAbsolute(p) ? p : resolve(baseDir, p);
}

export async function buildDaemon(options: DaemonOptions): Promise<Daemon> {
  const { config, logger, baseDir } = options;
  const replayWanted =
    options.replay ??
    (config.source.mode === 'replay'
      ? {
          fixtureDir: resolvePath(baseDir, config.source.replay.fixture),
          speed: config.source.replay.speed,
          loop: config.source.replay.loop,
        }
      : undefined);

  // Replays run on a virtual clock so every timer downstream follows fixture time.
  const virtualClock = replayWanted === undefined ? undefined : new VirtualClock(0);
  const clock: Clock = virtualClock ?? new SystemClock();
  const bus = new Bus({ clock, logger: componentLogger(logger, 'bus') });
  const controller = new Controller({ bus, logger: componentLogger(logger, 'controller') });

  // Each source answers its own sensors' pauses (sensors/pauses.ts); safety pauses are audited.
  const pauses: PauseSettings = {
    pauseMaxS: config.control.pause_max_s,
    safetyPauseMaxS: config.control.safety_pause_max_s,
    onSafetyPause: (record) => audit.append(record),
  };
  let replay: ReplaySource | undefined;
  const sources: Component[] = [];
  if (replayWanted !== undefined && virtualClock !== undefined) {
    replay = new ReplaySource({
      fixtureDir: replayWanted.fixtureDir,
      speed: replayWanted.speed,
      loop: replayWanted.loop,
      clock: virtualClock,
      bus,
      logger: componentLogger(logger, 'source.replay'),
      ids: { camera: config.sensors.camera.id, mic: config.sensors.mic.id, imu: config.sensors.imu.id },
      imuEventRateHz: config.sensors.imu.event_rate_hz,
      micFrameSamples: config.sensors.mic.frame_samples,
      components: () => controller.list(),
      pauses,
    });
    sources.push(replay);
  } else {
    sources.push(...buildLiveSensors({ config: config.sensors, bus, clock, logger, pauses }));
  }

  // Latencies are measured in real time, except in a speed-0 replay where output must not vary.
  const latencyClock =
    replayWanted?.speed === 0 && virtualClock !== undefined ? virtualClock : new SystemClock();
  const pipeline = buildPipeline({
    config,
    bus,
    clock: latencyClock,
    logger,
    baseDir,
    ...(replayWanted === undefined
      ? {}
      : { replay: { fixtureDir: replayWanted.fixtureDir, loop: replayWanted.loop } }),
  });
  const models = pipeline.models;

  const storageDir = options.ephemeralStorage
    ? await mkdtemp(join(tmpdir(), 'edgeloom-replay-'))
    : resolvePath(baseDir, config.storage.dir);
  // Opened and read back once with each sublevel owner's check (storage/sublevels.ts): a damaged
  // store is moved aside and replaced before anything uses it, not failing every start (quarantine.ts).
  const opened = await openCheckedStore({
    dir: storageDir,
    logger: componentLogger(logger, 'storage'),
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  const store = opened.store;
  const storage = new StorageComponent(
    store,
    storageDir,
    options.ephemeralStorage === true,
    opened.quarantined,
  );
  // One audit chain for the whole daemon, stamped in wall time even when a replay drives the clock.
  const audit = new AuditLog(store, { maxRecords: config.storage.audit_max_records });
  const wallClock = new SystemClock();
  // The privacy tiers in force: config + persisted run-time changes; read by the router and MQTT.
  const privacy = new PrivacyControl({
    bus,
    store,
    audit,
    config: { privacy: config.router.privacy, sensors: config.sensors },
    logger: componentLogger(logger, 'privacy'),
  });
  const router = new RouterStage({
    bus,
    clock,
    logger: componentLogger(logger, 'router'),
    config: { router: config.router, cloud: config.cloud, sensors: config.sensors },
    storage: store,
    privacy: privacy.tiers,
    audit,
  });
  const agents = createAgents({
    config,
    bus,
    clock,
    logger,
    storage: store,
    // Unmatched utterances may go to the cloud LLM as text: the router answers
    // rpc/router/cloud-assist through its gateway (policy, breaker, cost cap, egress).
    cloudAssist: true,
    audit: (entry) => audit.append(entry),
    // Wake mode `wake_word` without its model files: the phrase stands in (pipeline/wake/build-wake.ts).
    ...(pipeline.wakePhrase === undefined ? {} : { wakePhrase: pipeline.wakePhrase }),
  });

  // Consumers first, producers last: every stage is subscribed before the first event flows.
  // Storage first, so it is closed last; the privacy settings next, before anything reads them.
  controller.add(storage);
  controller.add(privacy);
  // t_ms in emitted lines is relative to the fixture's start, known once the replay opened it.
  const origin = (): number => replay?.originMs ?? 0;
  if (options.busTap !== undefined) {
    controller.add(
      new BusTap({ bus, pattern: options.busTap.pattern, out: options.busTap.out, originMs: origin }),
    );
  }
  // Speech output (agents.voice.tts): a consumer of the agents' action/say, started before them.
  const tts = ttsFromConfig(config.agents.voice, bus, componentLogger(logger, 'actions.tts'));
  if (tts !== undefined) controller.add(tts);
  let mqttClient: MqttClientSink | undefined;
  // Frame → face/emotion, speech end → transcript, impact → fall; on the bus clock (the inputs' own).
  const stageLatency = new StageLatency(clock);
  if (options.mqtt !== undefined) {
    // What this broker may receive under each tier (also for --emit jsonl: it prints what would be sent).
    const target = destinationFor(config.mqtt);
    const gate = new MqttEgressGate({
      destination: target.destination,
      host: target.host,
      privacy,
      audit,
      clock: wallClock,
      logger: componentLogger(logger, 'actions.mqtt-egress'),
    });
    logger.info(
      { destination: target.destination, host: target.host, derived: target.derived },
      'mqtt: broker destination (decides what each privacy tier may publish there)',
    );
    controller.add(gate);
    let sink: MqttSink;
    if (options.mqtt.kind === 'jsonl') sink = new JsonlSink(options.mqtt.out, origin);
    else if (options.mqtt.kind === 'sink') sink = options.mqtt.sink;
    else {
      // The client owns its outbox (in the shared store) and, with no url, the embedded broker.
      const client = new MqttClientSink({
        config: config.mqtt,
        deviceId: config.device.id,
        homeAssistant: haDeviceFromConfig(config, {
          swVersion: packageVersion(),
          speakAvailable: tts !== undefined && commandExists(config.agents.voice.tts.command[0] ?? ''),
          temperature: findSocZone() !== undefined,
          // Falls are detected from the IMU: Home Assistant gets no pause button for it.
          safetySensors: new Set([config.sensors.imu.id]),
        }),
        logger: componentLogger(logger, 'mqtt'),
        clock: wallClock, // reconnects and keep-alives are wall time, even in a replay
        storage: store,
        bus,
        watch: agents.skills.watch, // the voice skills' device and weather topics
        gate,
        privacy,
        audit,
        commandKey: { key: config.control.command_key, maxSkewMs: config.control.max_clock_skew_s * 1000 },
        credentialsDir: storageDir,
      });
      controller.add(client);
      mqttClient = client;
      sink = client;
    }
    controller.add(
      new MqttBridge({
        bus,
        logger: componentLogger(logger, 'actions.mqtt-bridge'),
        sink,
        baseTopic: config.mqtt.base_topic,
        gate,
        stageLatency,
      }),
    );
    const image = config.mqtt.discovery.image_interval_s;
    if (image > 0 && (replay !== undefined || config.sensors.camera.enabled)) {
      controller.add(
        new HaImagePublisher({
          bus,
          sink,
          baseTopic: config.mqtt.base_topic,
          sensorId: config.sensors.camera.id,
          intervalS: image,
          gate,
          logger: componentLogger(logger, 'actions.ha-image'),
        }),
      );
    }
  }
  // Plugins (README, "Write a plugin") and MCP (README, "MCP"): added to the controller below.
  const ext = { bus, logger, registry: agents.tools, tiers: privacy.tiers, storageDir, cwd: baseDir };
  // A speed-0 replay waits for each plugin's `synced` after a record.
  const plugins = buildPlugins({ ...ext, plugins: config.plugins, settle: replayWanted?.speed === 0 });
  const mcp = buildMcp({ ...ext, config: config.mcp, audit: (record) => audit.append(record) });
  if (options.observability) {
    const face = pipeline.face;
    for (const c of buildObservability({
      config,
      bus,
      controller,
      logger,
      router,
      storage,
      audit,
      privacy: () => privacy.tiers,
      agents: agents.runtime,
      ...(replay === undefined ? {} : { replay }),
      ...(mqttClient === undefined ? {} : { mqtt: mqttClient }),
      ...(tts === undefined ? {} : { tts }),
      ...(face === undefined ? {} : { face }),
      ...(pipeline.vad === undefined ? {} : { vad: pipeline.vad }),
      ...(pipeline.wakeStats === undefined ? {} : { wake: pipeline.wakeStats }),
      ...(models === undefined ? {} : { models }),
      plugins,
      mcp,
      sources,
      modelLatency: pipeline.modelLatency,
      stageLatency,
      ...options.observability,
    })) {
      controller.add(c);
    }
  }
  // The tool registry answers `cmd/tool/<name>` (rpc/tool/call).
  controller.add(agents.tools);
  const forget = new ForgetService(bus, {
    store,
    audit,
    logger: componentLogger(logger, 'privacy.forget'),
    baseTopic: config.mqtt.base_topic,
    outbox: config.mqtt.outbox,
    agents: agents.runtime,
    ...(mqttClient === undefined ? {} : { mqtt: mqttClient }),
  });
  controller.add(forget);
  // `edgeloom privacy|forget|audit` reach the running daemon here (not for a throw-away replay store).
  if (config.control.socket && options.ephemeralStorage !== true) {
    controller.add(
      new ControlServer({
        path: controlSocketPath(storageDir),
        bus,
        privacy,
        forget,
        audit,
        logger: componentLogger(logger, 'control'),
        mcp: (socket, head) => mcp.service.openSocket(socket, head),
      }),
    );
  }
  // The router before the agents: agents stop first, so transcripts they drain at shutdown still
  // get a cloud answer.
  controller.add(router);
  controller.add(agents.runtime);
  for (const c of pipeline.components) controller.add(c);
  if (replay !== undefined && mqttClient !== undefined) {
    const client = mqttClient;
    controller.add(
      new BrokerGate({
        whenConnected: () => client.whenConnected(),
        logger: componentLogger(logger, 'actions.broker-gate'),
      }),
    );
  }
  // MCP tool servers and plugins after every consumer, before the sources: with their tools listed
  // and hellos said (bounded waits), a replay hands plugins the same events every time.
  for (const c of [...mcp.components, ...plugins, ...sources]) controller.add(c);

  return {
    bus,
    clock,
    controller,
    replay,
    mqtt: mqttClient,
    models,
    plugins,
    mcp,
    storage,
    async start() {
      await controller.start();
    },
    async stop() {
      await controller.stop();
      // The store was opened when the daemon was built: closed here too when a stop came before
      // the controller started the storage component (a no-op once it has stopped it).
      await storage.stop();
      // close() counts its deadline on the bus clock, which a replay's virtual clock never moves
      // on its own: bound it in wall time too.
      const wall = new Promise<void>((r) => setTimeout(r, 5_000).unref());
      await Promise.race([bus.close(5_000).catch(() => {}), wall]);
    },
  };
}
