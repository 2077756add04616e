/**
 * The metric families of the pipeline's stages (sensors, models, router, agents, MQTT, replay);
 * see metrics-core.ts for the daemon as a whole.
 */
import type { SensorCounters } from '../../sensors/counters.js';
import type { OutboxStatsView, StatsSnapshot } from '../stats-snapshot.js';
import type { DefineFamily } from './metrics-core.js';

export function modelFamilies(family: DefineFamily): void {
  // Inference latency is the histogram edgeloom_model_latency_seconds (metrics.ts); its `_count`
  // is the number of successful runs.
  family(
    'gauge',
    'edgeloom_model_memory_bytes',
    'Planned memory per loaded model, bytes.',
    ['model'],
    (s, set) => {
      for (const m of s.models?.models ?? [])
        if (m.memoryMb !== undefined) set(m.memoryMb * 2 ** 20, { model: m.id });
    },
  );
  family(
    'gauge',
    'edgeloom_models_memory_used_bytes',
    'Baseline plus loaded models, bytes.',
    ['pool'],
    (s, set) => {
      if (s.models?.usedMb !== undefined) set(s.models.usedMb * 2 ** 20, { pool: 'models' });
    },
  );
}

/** The wake modes (issue #14): what the listening gate kept from speech-to-text. */
export function wakeFamilies(family: DefineFamily): void {
  const c = (name: string, help: string, pick: (w: NonNullable<StatsSnapshot['wake']>) => number) =>
    family('counter', name, help, ['mode'], (s, set) => {
      if (s.wake !== undefined) set(pick(s.wake), { mode: s.wake.mode });
    });
  c(
    'edgeloom_stt_segments_skipped_total',
    'Speech segments not transcribed: no listening window was open (the CPU a wake mode saves).',
    (w) => w.skipped,
  );
  c(
    'edgeloom_stt_segments_admitted_total',
    'Speech segments the listening gate let through to STT.',
    (w) => w.admitted,
  );
  c(
    'edgeloom_listen_windows_total',
    'Listening windows opened (wake word, push-to-talk, follow-up).',
    (w) => w.windowsOpened,
  );
  c('edgeloom_wake_detections_total', 'Wake words detected.', (w) => w.wakeDetections);
}

export function routingFamilies(family: DefineFamily): void {
  family(
    'counter',
    'edgeloom_router_decisions_total',
    'Routing decisions per route.',
    ['route'],
    (s, set) => {
      for (const [route, n] of Object.entries(s.routing?.decisions ?? {})) set(n, { route });
    },
  );
  family(
    'gauge',
    'edgeloom_router_route_ratio',
    'Share of decisions per route, 0..1.',
    ['route'],
    (s, set) => {
      for (const [route, r] of Object.entries(s.routing?.rates ?? {})) set(r, { route });
    },
  );
  // Calls and failures in two families: a failure is also a call, so one family with an
  // `outcome="all"` series beside `outcome="failed"` would count it twice under sum().
  family('counter', 'edgeloom_router_cloud_calls_total', 'Cloud calls made.', [], (s, set) => {
    if (s.routing?.cloudCalls !== undefined) set(s.routing.cloudCalls);
  });
  family('counter', 'edgeloom_router_cloud_failures_total', 'Cloud calls that failed.', [], (s, set) => {
    if (s.routing?.cloudFailures !== undefined) set(s.routing.cloudFailures);
  });
  family('gauge', 'edgeloom_router_cost_today_usd', 'Cloud spend today, USD.', ['day'], (s, set) => {
    if (s.routing?.costTodayUsd !== undefined) set(s.routing.costTodayUsd, { day: 'today' });
  });
}

/** The outbox's counters, each a family labelled `outbox`: name, help, field of OutboxStatsView. */
const OUTBOX_COUNTERS: readonly (readonly [string, string, keyof OutboxStatsView])[] = [
  ['edgeloom_mqtt_outbox_dropped_total', 'Outbox messages dropped at its bound.', 'dropped'],
  [
    'edgeloom_mqtt_outbox_write_errors_total',
    'Outbox batches whose write failed (a full disk).',
    'writeErrors',
  ],
  [
    'edgeloom_mqtt_outbox_unstored_total',
    'QoS 1 messages refused because their write failed (never accepted).',
    'unstored',
  ],
  [
    'edgeloom_mqtt_outbox_writes_elided_total',
    'QoS 1 messages the broker acknowledged before their outbox write was due (never written).',
    'writesElided',
  ],
  ['edgeloom_mqtt_outbox_batches_total', 'LevelDB batches the outbox wrote.', 'batches'],
];

export function mqttFamilies(family: DefineFamily): void {
  family('gauge', 'edgeloom_mqtt_outbox_depth', 'Messages waiting for the broker.', ['outbox'], (s, set) => {
    if (s.outbox !== undefined) set(s.outbox.depth, { outbox: 'mqtt' });
  });
  for (const [name, help, key] of OUTBOX_COUNTERS) {
    family('counter', name, help, ['outbox'], (s, set) => {
      const value = s.outbox?.[key];
      if (value !== undefined) set(value, { outbox: 'mqtt' });
    });
  }
  family('gauge', 'edgeloom_mqtt_connected', '1 when connected to the broker.', ['broker'], (s, set) => {
    if (s.broker !== undefined) set(s.broker.connected ? 1 : 0, { broker: 'mqtt' });
  });
  family(
    'counter',
    'edgeloom_mqtt_withheld_total',
    'MQTT messages the privacy gate kept from the broker (its destination may not have their tier), by reason.',
    ['reason'],
    (s, set) => {
      for (const [reason, n] of Object.entries(s.broker?.withheld ?? {})) set(n, { reason });
    },
  );
}

export function sensorFamilies(family: DefineFamily): void {
  family('gauge', 'edgeloom_sensor_up', '1 while the sensor is running.', ['sensor', 'kind'], (s, set) => {
    for (const x of s.sensors ?? []) set(x.state === 'running' ? 1 : 0, { sensor: x.sensor, kind: x.kind });
  });
  family('counter', 'edgeloom_sensor_restarts_total', 'Sensor restarts.', ['sensor'], (s, set) => {
    for (const x of s.sensors ?? []) set(x.restarts, { sensor: x.sensor });
  });
}

/** Frames (windows for an IMU) each sensor handed to the bus and those it dropped, by reason. */
export function sensorCounterFamilies(family: DefineFamily, read: () => readonly SensorCounters[]): void {
  family(
    'counter',
    'edgeloom_sensor_frames_total',
    'Frames (IMU: windows) the sensor handed to the bus; from a replay, the records it replayed.',
    ['sensor', 'kind'],
    (_s, set) => {
      for (const c of read()) set(c.frames, { sensor: c.sensor, kind: c.kind });
    },
  );
  family(
    'counter',
    'edgeloom_sensor_dropped_total',
    'Frames (IMU: windows) the sensor read but did not hand to the bus, by reason; never counted in edgeloom_sensor_frames_total too.',
    ['sensor', 'kind', 'reason'],
    (_s, set) => {
      for (const c of read())
        for (const [reason, n] of Object.entries(c.dropped))
          set(n, { sensor: c.sensor, kind: c.kind, reason });
    },
  );
}

export function replayFamilies(family: DefineFamily): void {
  family('counter', 'edgeloom_replay_passes_total', 'Passes over the fixture completed.', [], (s, set) => {
    if (s.replay !== undefined) set(s.replay.passes);
  });
  family(
    'counter',
    'edgeloom_replay_fixture_seconds_total',
    'Fixture (sensor) time replayed since start, s.',
    [],
    (s, set) => {
      if (s.replay !== undefined) set(s.replay.playedMs / 1000);
    },
  );
}

export function agentFamilies(family: DefineFamily): void {
  const c = (name: string, help: string, pick: (a: NonNullable<StatsSnapshot['agents']>[number]) => number) =>
    family('counter', name, help, ['agent'], (s, set) => {
      for (const a of s.agents ?? []) set(pick(a), { agent: a.agent });
    });
  c('edgeloom_agent_inputs_total', 'Inputs an agent handled.', (a) => a.inputs);
  c('edgeloom_agent_events_total', 'Events an agent persisted.', (a) => a.events);
  c(
    'edgeloom_agent_persist_errors_total',
    'Inputs dropped because their events could not be written (a full disk).',
    (a) => a.persistErrors,
  );
  c(
    'edgeloom_agent_working_errors_total',
    'Working-memory writes that failed (kept in memory, retried).',
    (a) => a.workingErrors,
  );
}

/** Speech output (actions/tts.ts): every utterance ends in exactly one outcome. */
export function ttsFamilies(family: DefineFamily): void {
  family(
    'counter',
    'edgeloom_tts_utterances_total',
    'Utterances of the TTS actuator by outcome: spoken, failed (program missing, error, over max_utterance_ms), interrupted (silenced while playing), dropped (never played).',
    ['outcome'],
    (s, set) => {
      const t = s.tts;
      if (t === undefined) return;
      set(t.spoken, { outcome: 'spoken' });
      set(t.failed, { outcome: 'failed' });
      set(t.interrupted, { outcome: 'interrupted' });
      set(
        Object.values(t.dropped).reduce((a, b) => a + b, 0),
        { outcome: 'dropped' },
      );
    },
  );
  family(
    'counter',
    'edgeloom_tts_dropped_total',
    'Utterances never played, by reason: queue_full (agents.voice.tts.queue_size), silenced (queued when a barge-in came), stopped, invalid.',
    ['reason'],
    (s, set) => {
      for (const [reason, n] of Object.entries(s.tts?.dropped ?? {})) set(n, { reason });
    },
  );
  family('gauge', 'edgeloom_tts_queue_depth', 'Utterances waiting to be spoken now.', [], (s, set) => {
    if (s.tts !== undefined) set(s.tts.queueDepth);
  });
}
