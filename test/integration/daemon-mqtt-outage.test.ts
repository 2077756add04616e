/**
 * The whole daemon (compiled CLI, `run`) through broker outages, against a real Mosquitto:
 * - the broker is SIGKILLed in the middle of a paced replay and restarted on the same port: every
 *   QoS 1 message the daemon attempted (the same replay's `--emit jsonl`) arrives, per topic in
 *   order, duplicates bounded by what can be in flight;
 * - the daemon is SIGKILLed while its outbox holds the whole replay (broker down): the next start,
 *   on the same storage dir with the broker back, delivers every message in order.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type CliChild, parseLogLines } from '../helpers/cli-process.js';
import {
  byTopic,
  DEMO,
  demoBaseline,
  type Emitted,
  firstOccurrences,
  identity,
  receivedQos1Events,
  replayFinished,
  signalAndWait,
  startDaemon,
  stopCleanly,
  waitForQos1,
  writeDaemonConfig,
} from '../helpers/daemon-mqtt.js';
import { freePort, Mosquitto } from '../helpers/mosquitto.js';
import { Subscriber, waitFor } from '../helpers/mqtt.js';
import { needs } from '../helpers/tools.js';
import { until } from '../helpers/wait.js';

/** A fixture with one IMU sample: a daemon start that publishes (almost) nothing of its own. */
function quietFixture(dir: string): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'fixture.json'),
    JSON.stringify({
      format: 'edgeloom-fixture',
      version: 1,
      sensors: ['imu'],
      start_time: '2024-01-02T00:00:00.000Z',
    }),
  );
  writeFileSync(join(dir, 'imu.jsonl'), '{"t_ms":0,"ax":0,"ay":0,"az":1,"gx":0,"gy":0,"gz":0}\n');
  return dir;
}

/** The daemon's outbox depth from its /metrics endpoint, or undefined while it is not serving. */
async function outboxDepth(port: number): Promise<number | undefined> {
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const m = /^edgeloom_mqtt_outbox_depth\{[^}]*\} (\d+)/m.exec(text);
    return m === null ? undefined : Number(m[1]);
  } catch {
    return undefined;
  }
}

/** Per topic: the received first occurrences equal what the daemon attempted, in order. */
function expectAllInOrder(
  expected: readonly Emitted[],
  received: ReturnType<typeof receivedQos1Events>,
  { ignoreTs = false } = {},
): void {
  const want = byTopic(expected.filter((m) => m.qos === 1));
  const got = byTopic(received);
  expect([...got.keys()].sort()).toEqual([...want.keys()].sort());
  for (const [topic, list] of want) {
    // Repeats are recognised by the whole payload, ts included, before anything is stripped.
    const first = firstOccurrences(got.get(topic) ?? []);
    const ts = first.map((id) => payloadOf(topic, id).ts as number);
    expect(ts, `${topic}: ts in arrival order`).toEqual([...ts].sort((a, b) => a - b));
    // A paced replay stamps agent outputs with the clock when the agent decided, a few ms after
    // the input's event time (at speed 0 the clock stands still): then compare all but ts.
    const view = (ids: readonly string[]) =>
      ignoreTs ? ids.map((id) => JSON.stringify({ ...payloadOf(topic, id), ts: 0 })) : ids;
    expect(view(first), topic).toEqual(view(list));
  }
}

/**
 * Wait for `count` distinct QoS 1 event messages. At-least-once delivery repeats what was
 * unacknowledged at the outage, so counting arrivals could stop before the last message is in.
 */
function waitForDistinctQos1(sub: Subscriber, count: number, timeoutMs: number): Promise<void> {
  const distinct = (): number =>
    new Set(receivedQos1Events(sub.messages).map((m) => identity(m.topic, m.payload))).size;
  return waitFor(() => distinct() >= count, `${count} distinct QoS 1 messages`, timeoutMs);
}

function payloadOf(topic: string, id: string): Record<string, unknown> {
  return JSON.parse(id.slice(topic.length + 1)) as Record<string, unknown>;
}

describe.runIf(needs({ tools: ['mosquitto'] }))('the daemon through broker outages (Mosquitto)', () => {
  let dir: string;
  let baseline: Emitted[];
  let qos1: number;
  const cleanups: Array<() => Promise<void> | void> = [];

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'edgeloom-daemon-outage-'));
    // What the daemon attempts does not depend on the broker: the config's url is not used by --emit.
    ({ baseline, qos1 } = await demoBaseline({ dir, brokerUrl: 'mqtt://127.0.0.1:1' }));
    expect(qos1).toBeGreaterThan(10);
  });

  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('broker SIGKILLed mid-replay and restarted: every QoS 1 message arrives, in order', async () => {
    const broker = await Mosquitto.start();
    cleanups.push(() => broker.stop());
    const sub = await Subscriber.connect(broker.url, ['edgeloom/#', 'home/#']);
    cleanups.push(() => sub.close());
    // Paced (speed 2: the 20 s demo takes 10 s) so the outage lands in the middle of the stream.
    const httpPort = await freePort();
    const config = writeDaemonConfig({
      dir: join(dir, 'paced'),
      brokerUrl: broker.url,
      fixture: DEMO,
      speed: 2,
      extra: { http: { enabled: true, port: httpPort } },
    });
    const daemon: CliChild = startDaemon(config);
    cleanups.push(() => daemon.kill());
    await daemon.waitForLog('replaying fixture');
    // Kill after the first utterance and the first display change (~2 s of fixture time)...
    await waitForQos1(sub, 3, 20_000);
    const before = receivedQos1Events(sub.messages).length;
    await broker.kill();
    // ...until the daemon has noticed and accepted five more QoS 1 messages into its outbox while
    // the broker is down (the outage spans real traffic, however fast or slow this machine is).
    await daemon.waitForLog('mqtt: disconnected');
    const atDisconnect = parseLogLines(daemon.stdout).find((l) => l.msg === 'mqtt: disconnected')!;
    const held = Number(atDisconnect.outbox);
    await until(
      '5 QoS 1 messages held in the outbox',
      async () => ((await outboxDepth(httpPort)) ?? 0) >= held + 5,
    );
    await broker.restart();
    await replayFinished(daemon);
    await waitForDistinctQos1(sub, qos1, 30_000);

    const received = receivedQos1Events(sub.messages);
    expect(before).toBeLessThan(qos1 / 2); // the outage really was mid-stream
    expectAllInOrder(baseline, received, { ignoreTs: true });
    // At-least-once: a repeat only for what was unacknowledged when the broker died.
    expect(received.length - qos1).toBeLessThanOrEqual(64);
    // The daemon noticed the outage and said so on its status topic when it came back.
    const states = sub.messages.filter((m) => m.topic.endsWith('/status')).map((m) => m.payload);
    expect(states.filter((s) => (s as { state: string }).state === 'online').length).toBeGreaterThanOrEqual(
      2,
    );

    await stopCleanly(daemon);
  });

  it('daemon SIGKILLed with the replay in its outbox: the next start delivers it, in order', async () => {
    const port = await freePort();
    const url = `mqtt://127.0.0.1:${port}`; // nothing listens yet
    const storageDir = join(dir, 'crash-state');
    const httpPort = await freePort();
    const first = startDaemon(
      writeDaemonConfig({
        dir: join(dir, 'crash'),
        brokerUrl: url,
        fixture: DEMO,
        speed: 0,
        storageDir,
        extra: { http: { enabled: true, port: httpPort } },
      }),
    );
    cleanups.push(() => first.kill());
    await replayFinished(first);
    // Every QoS 1 message of the replay is persisted in the outbox before the kill.
    let depth: number | undefined;
    const deadline = Date.now() + 20_000;
    while ((depth = await outboxDepth(httpPort)) !== qos1) {
      if (Date.now() > deadline) throw new Error(`outbox depth ${depth}, expected ${qos1}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    await signalAndWait(first, 'SIGKILL');

    const broker = await Mosquitto.start(port);
    cleanups.push(() => broker.stop());
    const sub = await Subscriber.connect(url, ['edgeloom/#', 'home/#']);
    cleanups.push(() => sub.close());
    const second = startDaemon(
      writeDaemonConfig({
        dir: join(dir, 'crash'),
        name: 'second.yaml',
        brokerUrl: url,
        fixture: quietFixture(join(dir, 'quiet')),
        speed: 0,
        storageDir,
        // No speech truth in the quiet fixture for the reference transcriber to answer from.
        extra: { pipeline: { stt: { engine: 'whisper', model: 'whisper-synthetic-tiny' } } },
      }),
    );
    cleanups.push(() => second.kill());
    await second.waitForLog('edgeloom running');
    await waitForDistinctQos1(sub, qos1, 20_000);
    expectAllInOrder(baseline, receivedQos1Events(sub.messages));
    await stopCleanly(second);
  });
});
