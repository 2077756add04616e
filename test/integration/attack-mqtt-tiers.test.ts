/**
 * Finding 4 through the real parts: MQTT is an egress. The compiled daemon replays the demo
 * fixture (speech, faces, a fall) into a real Mosquitto that the config declares to be on the LAN
 * (`mqtt.destination: lan`; the derivation from a URL is unit-tested in mqtt-egress.test.ts).
 *
 * - Every tier local_only: no transcript, intent, speech event, face/emotion, display state or
 *   motion reaches a subscriber, and none is queued in the outbox; the withheld messages are
 *   counted per reason in /metrics. The same replay with a device broker does list them (the
 *   baseline), so the test can fail.
 * - Broker down, microphone private (allowed to a LAN broker): transcripts queue in the outbox;
 *   tightening the microphone to local_only (`edgeloom privacy set`, while the daemon runs)
 *   purges them, while motion (imu public) stays queued.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Outbox, type OutboxEntry } from '../../daemon/actions/outbox.js';
import { silentLogger } from '../../daemon/log.js';
import { openStore } from '../../daemon/storage/store.js';
import { SystemClock } from '../../daemon/util/clock.js';
import {
  BASE,
  DEMO,
  emitJsonl,
  replayFinished,
  startDaemon,
  stopCleanly,
  writeDaemonConfig,
} from '../helpers/daemon-mqtt.js';
import { freePort, Mosquitto, mosquittoAvailable } from '../helpers/mosquitto.js';
import { Subscriber, waitFor } from '../helpers/mqtt.js';
import { cli } from '../helpers/privacy-daemon.js';

/** Contract topics that carry personal data. */
const PERSONAL = [
  'voice/transcript',
  'voice/intent',
  'voice/speech',
  'face/emotion',
  'display/set',
  'imu/motion',
];
const LOCAL_ONLY = {
  sensors: {
    camera: { privacy: 'local_only' },
    mic: { privacy: 'local_only' },
    imu: { privacy: 'local_only' },
  },
  router: { privacy: { default_tier: 'local_only', overrides: { 'inference/face/#': 'local_only' } } },
};

async function outboxEntries(storageDir: string): Promise<OutboxEntry[]> {
  const store = await openStore(storageDir);
  try {
    const outbox = new Outbox({
      store,
      clock: new SystemClock(),
      logger: silentLogger(),
      maxMessages: 10_000,
      policy: 'drop-oldest',
    });
    await outbox.open();
    return [...outbox.values()];
  } finally {
    await store.close();
  }
}

describe.runIf(mosquittoAvailable())('MQTT is an egress: a LAN broker gets what its tiers allow', () => {
  let broker: Mosquitto;
  let dir: string;

  beforeAll(async () => {
    broker = await Mosquitto.start();
    dir = mkdtempSync(join(tmpdir(), 'edgeloom-attack-mqtt-'));
  });

  afterAll(async () => {
    await broker?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('every tier local_only: nothing personal reaches a LAN subscriber or the outbox; withheld is counted', async () => {
    const httpPort = await freePort();
    const extra = { ...LOCAL_ONLY, http: { enabled: true, port: httpPort } };
    // Baseline: the same replay to a broker on the device lists every kind of personal message.
    const device = writeDaemonConfig({
      dir: join(dir, 'device'),
      brokerUrl: broker.url,
      fixture: DEMO,
      speed: 0,
      extra: { ...extra, mqtt: { url: broker.url, destination: 'device', publish_allow: ['home/#'] } },
    });
    const baseline = new Set((await emitJsonl(DEMO, device)).map((m) => m.topic));
    for (const rel of PERSONAL) expect(baseline, rel).toContain(`${BASE}/${rel}`);

    const config = writeDaemonConfig({
      dir: join(dir, 'lan'),
      brokerUrl: broker.url,
      fixture: DEMO,
      speed: 0,
      extra: { ...extra, mqtt: { url: broker.url, destination: 'lan', publish_allow: ['home/#'] } },
    });
    const sub = await Subscriber.connect(broker.url, ['#']);
    const daemon = startDaemon(config);
    try {
      await replayFinished(daemon);
      // The kitchen-light actuation (not personal data itself) still goes out: the broker works.
      await waitFor(() => sub.on('home/kitchen/light/set').length > 0, 'the light actuation');
      const metrics = await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
      const withheld = metrics
        .split('\n')
        .find((l) => l.startsWith('edgeloom_mqtt_withheld_total{reason="local_only_derived_to_lan"}'));
      expect(Number(withheld?.split(' ').at(-1))).toBeGreaterThan(40); // 40 frames, 2 utterances, motion, display
      await stopCleanly(daemon);
    } finally {
      daemon.kill();
      await sub.close();
    }
    const leaked = sub.messages.filter((m) => PERSONAL.some((rel) => m.topic === `${BASE}/${rel}`));
    expect(leaked.map((m) => m.topic)).toEqual([]);
    expect(sub.messages.some((m) => m.topic === `${BASE}/router/decision`)).toBe(false);
    expect(sub.on(`${BASE}/privacy`).at(-1)?.payload).toMatchObject({
      destination: 'lan',
      default: 'local_only',
    });
    const queued = await outboxEntries(join(dir, 'lan', 'state'));
    expect(queued.filter((e) => PERSONAL.some((rel) => e.topic === `${BASE}/${rel}`))).toEqual([]);
  });

  it('tightening a tier purges what the outbox holds for a broker that may no longer have it', async () => {
    const down = `mqtt://127.0.0.1:${await freePort()}`; // nobody listens: everything queues
    const config = writeDaemonConfig({
      dir: join(dir, 'down'),
      brokerUrl: down,
      fixture: DEMO,
      speed: 0,
      extra: {
        // The microphone's derived data may go to a LAN broker; the motion events (imu public) too.
        sensors: { mic: { privacy: 'private' }, imu: { privacy: 'public' } },
        mqtt: { url: down, destination: 'lan', publish_allow: ['home/#'] },
      },
    });
    const daemon = startDaemon(config);
    try {
      await replayFinished(daemon);
      const out = await cli(['privacy', 'set', 'mic0', 'local_only', '--config', config]);
      expect(out).toContain('sensor:mic: private -> local_only (applies now)');
      await daemon.waitForLog('mqtt: queued messages purged after a privacy tier was tightened');
      await stopCleanly(daemon);
    } finally {
      daemon.kill();
    }
    const purgeLog = daemon.stdout
      .split('\n')
      .filter((l) => l.includes('queued messages purged'))
      .map((l) => JSON.parse(l) as { purged: number });
    // Two utterances: speech start/end, transcript and intent each.
    expect(purgeLog[0]!.purged).toBeGreaterThanOrEqual(8);
    const queued = (await outboxEntries(join(dir, 'down', 'state'))).map((e) => e.topic);
    expect(queued.filter((t) => t.startsWith(`${BASE}/voice/`))).toEqual([]);
    expect(queued).toContain(`${BASE}/imu/motion`);
  });
});
