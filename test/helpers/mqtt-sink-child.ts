/**
 * A process running the real MQTT sink, for the outbox-after-SIGKILL test (run from dist/).
 * argv[2] is JSON: { url, storageDir, mode: 'publish' | 'drain', count? }.
 * - publish: start the sink (broker down), publish `count` QoS 1 messages `{seq}`, print
 *   `persisted <n>` as each one is accepted, then `ready`, and wait to be killed.
 * - drain: start the sink, wait until the outbox is empty, print `drained <json stats>`, stop, exit 0.
 * - numbers: start the sink (url '' starts the embedded broker, aedes), publish `count` QoS 1
 *   messages, wait until every one is acknowledged, print `numbers <json>` with the state of
 *   mqtt-packet's number cache (actions/mqtt-packet-numbers.ts), stop, exit 0.
 */
import { createRequire } from 'node:module';
import { MqttClientSink } from '../../daemon/actions/mqtt-client.js';
import { silentLogger } from '../../daemon/log.js';
import { openStore } from '../../daemon/storage/store.js';
import { SystemClock } from '../../daemon/util/clock.js';
import { mqttTestConfig } from './mqtt.js';

interface Args {
  readonly url: string;
  readonly storageDir: string;
  readonly mode: 'publish' | 'drain' | 'numbers';
  readonly count?: number;
}

async function main(): Promise<void> {
  const args = JSON.parse(process.argv[2] ?? '{}') as Args;
  const config = mqttTestConfig(args.url, {
    base_topic: 'edgeloom/child',
    discovery: { enabled: false, prefix: 'homeassistant', configuration_url: '', image_interval_s: 0 },
  });
  // Opened as the daemon's storage opens it; the sink only uses it.
  const store = await openStore(args.storageDir);
  const sink = new MqttClientSink({
    config,
    deviceId: 'child',
    logger: silentLogger(),
    clock: new SystemClock(),
    storage: store,
    reconnectMinMs: 100,
    reconnectMaxMs: 500,
    credentialsDir: args.storageDir,
  });
  await sink.start(new AbortController().signal);
  /** `count` QoS 1 messages `{seq}`; `onAccepted` hears each one the sink accepted. */
  const publishAll = async (onAccepted: (n: number) => void = () => undefined): Promise<void> => {
    for (let seq = 0; seq < (args.count ?? 0); seq++) {
      await sink.publish(
        'edgeloom/child/seq',
        { topic: 'seq', qos: 1, retain: false, payload: { seq } },
        Date.now(),
      );
      onAccepted(seq + 1);
    }
  };
  if (args.mode === 'publish') {
    await publishAll((n) => process.stdout.write(`persisted ${n}\n`));
    process.stdout.write('ready\n');
    setInterval(() => undefined, 1000); // stay alive until SIGKILL
    return;
  }
  if (args.mode === 'numbers') {
    await publishAll();
    await sink.whenDrained();
    // The very module mqtt.js and aedes write with (one copy, hoisted).
    const require = createRequire(import.meta.url);
    const packet = require('mqtt-packet') as { writeToStream: { cacheNumbers: boolean } };
    const numbers = require('mqtt-packet/numbers') as { cache: Record<number, Buffer> };
    const report = {
      cacheNumbers: packet.writeToStream.cacheNumbers,
      cachedBuffers: Object.keys(numbers.cache).length,
      acked: sink.stats().qos1Acked,
    };
    process.stdout.write(`numbers ${JSON.stringify(report)}\n`);
    await sink.stop();
    await store.close();
    process.exit(0);
  }
  await sink.whenDrained();
  process.stdout.write(`drained ${JSON.stringify(sink.stats().outbox)}\n`);
  await sink.stop();
  await store.close();
  process.exit(0);
}

main().catch((err: unknown) => {
  process.stderr.write(`mqtt-sink-child: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
