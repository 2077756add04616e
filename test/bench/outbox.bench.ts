/**
 * MQTT benchmark: what the "lose nothing" outbox costs. Against one broker in the same run
 * (a real Mosquitto when installed, else the embedded aedes broker):
 * - outbox writes/s to LevelDB: a burst (group-committed into few batches) and one-at-a-time
 *   (awaiting each write, which is how the MQTT bridge calls the sink);
 * - the sink's QoS 1 path (persist → publish → PUBACK → delete) for N messages, burst and
 *   bridge-style, against raw mqtt.js QoS 1 publishing the same N messages (the baseline).
 * overhead_ratio = raw msgs/s ÷ sink msgs/s (burst): how many times slower durability makes it.
 *
 * Where the sink's extra time goes (`node --cpu-prof` over this benchmark, 20,000 messages, Mosquitto):
 * the LevelDB batch of the outbox (classic-level `_batch`, abstract-level's array batch and the
 * sublevel's key prefixing) ~17 % of all samples, the outbox's batch completion (resolving one
 * waiter per message) ~8 %, then mqtt-packet's encode and socket write, which raw mqtt.js pays too.
 * The target (≤ 1.2×) is not met yet: the outbox's write path is what to make cheaper.
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
import type { BenchTarget } from './run.js';

export const name = 'mqtt';

export const targets: readonly BenchTarget[] = [
  {
    figure: 'overhead_ratio',
    max: 1.2,
    quick: 'skip',
    why: "raw mqtt.js msgs/s ÷ the sink's (QoS 1, outbox write included), same broker, same run",
  },
];

/** Printed with the figures: where a profile of this benchmark found the sink's extra time. */
const WHERE_TIME_GOES =
  'profiled: outbox LevelDB batch ~17 %, outbox batch completion ~8 %, mqtt-packet encode/write (shared with raw)';

const TOPIC = 'edgeloom/bench/voice/transcript';

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

async function sinkRun(url: string, dir: string, n: number, burst: boolean): Promise<number> {
  const store = new Level<string, unknown>(join(dir, burst ? 'sink-burst' : 'sink-seq'), {
    valueEncoding: 'json',
  });
  const sink = new MqttClientSink({
    config: mqttTestConfig(url, {
      base_topic: 'edgeloom/bench',
      client_id: `edgeloom-bench-${burst ? 'burst' : 'seq'}`,
      discovery: { enabled: false, prefix: 'homeassistant', configuration_url: '', image_interval_s: 0 },
      outbox: { max_messages: n + 1, policy: 'refuse' },
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
  if (burst) {
    await Promise.all(Array.from({ length: n }, (_, i) => sink.publish(TOPIC, msg(i), 0)));
  } else {
    for (let i = 0; i < n; i++) await sink.publish(TOPIC, msg(i), 0);
  }
  await sink.whenDrained();
  const ms = performance.now() - t0;
  if (sink.stats().qos1Acked !== n) throw new Error(`sink acknowledged ${sink.stats().qos1Acked} of ${n}`);
  await sink.stop();
  await store.close();
  return perSecond(n, ms);
}

async function rawRun(url: string, n: number): Promise<number> {
  const client = await mqtt.connectAsync(url, {
    protocolVersion: 4,
    clientId: 'edgeloom-bench-raw',
    clean: false,
  });
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: n }, (_, i) => client.publishAsync(TOPIC, JSON.stringify(payloadOf(i)), { qos: 1 })),
  );
  const ms = performance.now() - t0;
  await client.endAsync();
  return perSecond(n, ms);
}

export async function bench({
  quick,
}: {
  quick: boolean;
}): Promise<Record<string, number | string | boolean>> {
  const n = quick ? 2_000 : 20_000;
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
    const outboxBurst = await outboxWrites(dir, n, true);
    const outboxSeq = await outboxWrites(dir, Math.min(n, 5_000), false);
    // Raw first and last, averaged, so broker warm-up does not favour either side.
    const raw1 = await rawRun(url, n);
    const sinkBurst = await sinkRun(url, dir, n, true);
    const sinkSeq = await sinkRun(url, dir, Math.min(n, 5_000), false);
    const raw2 = await rawRun(url, n);
    const raw = Math.round((raw1 + raw2) / 2);
    return {
      broker: useMosquitto ? 'mosquitto' : 'embedded-aedes',
      messages: n,
      outbox_writes_per_s: outboxBurst,
      outbox_sequential_writes_per_s: outboxSeq,
      sink_msgs_per_s: sinkBurst,
      sink_bridge_style_msgs_per_s: sinkSeq,
      raw_mqtt_msgs_per_s: raw,
      overhead_ratio: Math.round((raw / sinkBurst) * 100) / 100,
      where_time_goes: WHERE_TIME_GOES,
    };
  } finally {
    await mosquitto?.stop();
    await embedded?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
