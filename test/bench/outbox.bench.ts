/**
 * MQTT benchmark: what the "lose nothing" outbox costs, against raw mqtt.js QoS 1 publishing the
 * same messages to the same broker in the same run (a real Mosquitto when installed, else the
 * embedded aedes broker).
 *
 * The workload users have: a daemon publishes a steady stream (a few messages per event-loop turn,
 * far below what the broker takes), so the figure that matters is the CPU each message costs the
 * process, not a saturated burst. `overhead_ratio` = the sink's CPU µs per message ÷ raw mqtt.js's,
 * both paced at `RATE_PER_S` with QoS 1 and the outbox on as configured by default (write-behind:
 * a message the broker acknowledges within `mqtt.outbox.write_delay_ms` is never written).
 * `overhead_ratio_write_included` is the same run with `write_delay_ms: 0`: every message is put
 * into LevelDB and deleted on its PUBACK. Rounds alternate raw / sink / sink-with-writes so drift
 * on this shared machine hits all three alike; medians are reported.
 *
 * Also reported (no target): a saturated burst of N messages (msgs/s, whose ratio is mostly the
 * in-flight window and the writes: a burst far beyond the window is a backlog, and a backlog is
 * written), and the outbox's own LevelDB write rates.
 *
 * Where the time goes (`node --cpu-prof` of the paced sink, write-behind on): mqtt.js's own
 * publish, PUBACK handling and mqtt-packet's encode and socket writes (what raw pays too) are most
 * of it; the sink's own share is the outbox's map and sender bookkeeping, the bridge-facing
 * promise per message, and Home Assistant's last-state memory. With writes (`write_delay_ms: 0`)
 * the LevelDB batch (abstract-level's per-operation encoding and sublevel prefixing,
 * classic-level's `_batch`) and its completion were ~25 % of all samples: that is what
 * write-behind removes from the steady state.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import mqtt from 'mqtt';
import { EmbeddedBroker } from '../../daemon/actions/embedded-broker.js';
import { MqttClientSink } from '../../daemon/actions/mqtt-client.js';
import type { MqttMessage } from '../../daemon/actions/mqtt-contract.js';
import { Outbox } from '../../daemon/actions/outbox.js';
import { silentLogger } from '../../daemon/log.js';
import { SystemClock } from '../../daemon/util/clock.js';
import { Mosquitto, mosquittoPath } from '../helpers/mosquitto.js';
import { mqttTestConfig } from '../helpers/mqtt.js';
import type { BenchOptions, BenchTarget, Figures } from './run.js';
import { median } from './stats.js';

export const name = 'mqtt';
/** In `.ci/run`'s quick subset: a ratio of CPU times, measured side by side. */
export const quick = true;

export const targets: readonly BenchTarget[] = [
  {
    figure: 'overhead_ratio',
    max: 1.2,
    quick: { max: 1.6 },
    why: "the sink's CPU per QoS 1 message ÷ raw mqtt.js's, paced, outbox on (write-behind), same broker, same run",
  },
  {
    figure: 'steady_writes_elided_pct',
    min: 90,
    quick: { min: 50 },
    why: 'share of the paced messages acknowledged before their outbox write was due (write-behind at work)',
  },
];

/** Printed with the figures: where a profile of this benchmark found the sink's extra time. */
const WHERE_TIME_GOES =
  'profiled (paced, write-behind): mqtt.js publish/PUBACK/encode/socket shared with raw; sink: outbox map + sender, a promise per message, HA last-state; with writes: LevelDB batch + completion ~25 % of samples';

const TOPIC = 'edgeloom/bench/voice/transcript';
/** The paced rate: far above what a daemon publishes (tens per second), far below the broker's limit. */
const RATE_PER_S = 5_000;

function payloadOf(i: number): Record<string, unknown> {
  return {
    ts: 1_700_000_000_000 + i,
    text: 'turn on the kitchen light please',
    language: 'en',
    confidence: 0.91,
    seq: i,
  };
}

const perSecond = (n: number, ms: number): number => Math.round((n / ms) * 1000);
const round2 = (x: number): number => Math.round(x * 100) / 100;

/** Process CPU µs (user + system) used while `work` runs. */
async function cpuMicros(work: () => Promise<void>): Promise<number> {
  const before = process.cpuUsage();
  await work();
  const used = process.cpuUsage(before);
  return used.user + used.system;
}

/**
 * Publish `n` messages at `ratePerS`: every millisecond timer turn publishes what the rate allows
 * by then (a few per turn, like the daemon's bridge), and waits for every publish to settle.
 */
async function paced(
  n: number,
  ratePerS: number,
  publishOne: (i: number) => Promise<unknown>,
): Promise<void> {
  const settled: Promise<unknown>[] = [];
  const t0 = performance.now();
  let i = 0;
  while (i < n) {
    const due = Math.min(n, Math.floor(((performance.now() - t0) * ratePerS) / 1000) + 1);
    while (i < due) settled.push(publishOne(i++));
    await new Promise((r) => setTimeout(r, 1));
  }
  await Promise.all(settled);
}

interface Side {
  /** CPU µs per message. */
  readonly cpuUsPerMsg: number;
  readonly msgsPerS: number;
  readonly writesElided?: number;
  readonly batches?: number;
}

async function sinkSide(
  url: string,
  dir: string,
  label: string,
  n: number,
  mode: 'paced' | 'burst',
  writeDelayMs: number,
): Promise<Side> {
  const store = new Level<string, unknown>(join(dir, label), { valueEncoding: 'json' });
  const sink = new MqttClientSink({
    config: mqttTestConfig(url, {
      base_topic: 'edgeloom/bench',
      client_id: `edgeloom-bench-${label}`,
      discovery: { enabled: false, prefix: 'homeassistant', configuration_url: '', image_interval_s: 0 },
      outbox: { max_messages: n + 1, policy: 'refuse', write_delay_ms: writeDelayMs },
    }),
    deviceId: 'bench',
    logger: silentLogger(),
    clock: new SystemClock(),
    storage: store,
  });
  await sink.start(new AbortController().signal);
  await sink.whenConnected();
  const msg = (i: number): MqttMessage => ({
    topic: 'voice/transcript',
    qos: 1,
    retain: false,
    payload: payloadOf(i),
  });
  const t0 = performance.now();
  const cpu = await cpuMicros(async () => {
    if (mode === 'paced') await paced(n, RATE_PER_S, (i) => sink.publish(TOPIC, msg(i), 0));
    else await Promise.all(Array.from({ length: n }, (_, i) => sink.publish(TOPIC, msg(i), 0)));
    await sink.whenDrained();
  });
  const ms = performance.now() - t0;
  const stats = sink.stats();
  if (stats.qos1Acked !== n) throw new Error(`sink acknowledged ${stats.qos1Acked} of ${n}`);
  await sink.stop();
  await store.close();
  return {
    cpuUsPerMsg: cpu / n,
    msgsPerS: perSecond(n, ms),
    writesElided: stats.outbox.writesElided,
    batches: stats.outbox.batches,
  };
}

async function rawSide(url: string, label: string, n: number, mode: 'paced' | 'burst'): Promise<Side> {
  const client = await mqtt.connectAsync(url, {
    protocolVersion: 4,
    clientId: `edgeloom-bench-${label}`,
    clean: false,
  });
  const publishOne = (i: number): Promise<unknown> =>
    client.publishAsync(TOPIC, JSON.stringify(payloadOf(i)), { qos: 1 });
  const t0 = performance.now();
  const cpu = await cpuMicros(async () => {
    if (mode === 'paced') await paced(n, RATE_PER_S, publishOne);
    else await Promise.all(Array.from({ length: n }, (_, i) => publishOne(i)));
  });
  const ms = performance.now() - t0;
  await client.endAsync();
  return { cpuUsPerMsg: cpu / n, msgsPerS: perSecond(n, ms) };
}

async function outboxWrites(dir: string, n: number, burst: boolean): Promise<number> {
  const db = new Level<string, unknown>(join(dir, burst ? 'ob-burst' : 'ob-seq'), { valueEncoding: 'json' });
  const outbox = new Outbox({
    store: db,
    clock: new SystemClock(),
    logger: silentLogger(),
    maxMessages: n + 1,
    policy: 'refuse',
  });
  await outbox.open();
  const t0 = performance.now();
  if (burst) {
    await Promise.all(
      Array.from({ length: n }, (_, i) => outbox.add(TOPIC, JSON.stringify(payloadOf(i)), false).persisted),
    );
  } else {
    for (let i = 0; i < n; i++) await outbox.add(TOPIC, JSON.stringify(payloadOf(i)), false).persisted;
  }
  const ms = performance.now() - t0;
  await db.close();
  return perSecond(n, ms);
}

export async function bench(options: BenchOptions): Promise<Figures> {
  const rounds = options.quick ? 3 : 5;
  const pacedN = options.quick ? 4_000 : 10_000; // 0.8 s / 2 s per side at RATE_PER_S
  const burstN = options.quick ? 5_000 : 20_000;
  const dir = mkdtempSync(join(tmpdir(), 'edgeloom-bench-mqtt-'));
  const useMosquitto = mosquittoPath() !== undefined;
  const mosquitto = useMosquitto ? await Mosquitto.start() : undefined;
  const embedded = useMosquitto
    ? undefined
    : // A bench broker on loopback, open like the Mosquitto it stands in for.
      new EmbeddedBroker({
        host: '127.0.0.1',
        port: 0,
        logger: silentLogger(),
        auth: { users: [], allowAnonymous: true },
      });
  await embedded?.start(new AbortController().signal);
  const url = mosquitto?.url ?? embedded?.url() ?? '';
  try {
    const raw: Side[] = [];
    const sink: Side[] = [];
    const sinkWrites: Side[] = [];
    // A warm-up round of each, not counted: the first connection and JIT favour whoever goes second.
    await rawSide(url, 'warm-raw', 1_000, 'paced');
    await sinkSide(url, dir, 'warm-sink', 1_000, 'paced', 50);
    for (let r = 0; r < rounds; r++) {
      raw.push(await rawSide(url, `raw-${r}`, pacedN, 'paced'));
      sink.push(await sinkSide(url, dir, `sink-${r}`, pacedN, 'paced', 50));
      sinkWrites.push(await sinkSide(url, dir, `sinkw-${r}`, pacedN, 'paced', 0));
    }
    const rawCpu = median(raw.map((s) => s.cpuUsPerMsg));
    const sinkCpu = median(sink.map((s) => s.cpuUsPerMsg));
    const writesCpu = median(sinkWrites.map((s) => s.cpuUsPerMsg));
    const elidedPct = median(sink.map((s) => (100 * (s.writesElided ?? 0)) / pacedN));

    const rawBurst = await rawSide(url, 'raw-burst', burstN, 'burst');
    const sinkBurst = await sinkSide(url, dir, 'sink-burst', burstN, 'burst', 50);
    const sinkBurstWrites = await sinkSide(url, dir, 'sinkw-burst', burstN, 'burst', 0);
    const rawBurst2 = await rawSide(url, 'raw-burst2', burstN, 'burst');
    const rawBurstRate = (rawBurst.msgsPerS + rawBurst2.msgsPerS) / 2;
    return {
      broker: useMosquitto ? 'mosquitto' : 'embedded-aedes',
      paced_rate_per_s: RATE_PER_S,
      paced_messages: pacedN,
      rounds,
      raw_cpu_us_per_msg: round2(rawCpu),
      sink_cpu_us_per_msg: round2(sinkCpu),
      sink_write_included_cpu_us_per_msg: round2(writesCpu),
      overhead_ratio: round2(sinkCpu / rawCpu),
      overhead_ratio_write_included: round2(writesCpu / rawCpu),
      steady_writes_elided_pct: Math.round(elidedPct * 10) / 10,
      burst_messages: burstN,
      burst_raw_msgs_per_s: Math.round(rawBurstRate),
      burst_sink_msgs_per_s: sinkBurst.msgsPerS,
      burst_sink_write_included_msgs_per_s: sinkBurstWrites.msgsPerS,
      burst_ratio: round2(rawBurstRate / sinkBurst.msgsPerS),
      burst_ratio_write_included: round2(rawBurstRate / sinkBurstWrites.msgsPerS),
      burst_writes_elided_pct: Math.round((1000 * (sinkBurst.writesElided ?? 0)) / burstN) / 10,
      outbox_writes_per_s: await outboxWrites(dir, burstN, true),
      outbox_sequential_writes_per_s: await outboxWrites(dir, Math.min(burstN, 5_000), false),
      where_time_goes: WHERE_TIME_GOES,
    };
  } finally {
    await mosquitto?.stop();
    await embedded?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
