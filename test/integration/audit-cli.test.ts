/**
 * Finding 7 through the real parts: the audit log of a `run` daemon that replays the demo fixture
 * (virtual clock in January 2024) into a real Mosquitto with the cloud enabled (microphone public,
 * so audio does leave) and a command and a privacy change from a broker client.
 *
 * - `edgeloom audit --since 2h` finds every record: they carry wall-clock time (the replay's
 *   fixture time is kept as eventTsMs); egress to the cloud, MQTT egress by topic, tier and
 *   destination, the privacy change and the commands are all there.
 * - `edgeloom audit --verify` passes, then fails (exit 1) naming the record after each kind of
 *   tampering with the stopped daemon's store: an edited, a deleted, a reordered record, and the
 *   newest record removed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuditLog } from '../../daemon/router/audit-log.js';
import { openStore } from '../../daemon/storage/store.js';
import {
  BASE,
  DEMO,
  replayFinished,
  startDaemon,
  stopCleanly,
  writeDaemonConfig,
} from '../helpers/daemon-mqtt.js';
import { FakeOpenAIServer } from '../helpers/fake-openai-server.js';
import { Mosquitto, mosquittoAvailable } from '../helpers/mosquitto.js';
import { Subscriber } from '../helpers/mqtt.js';
import { cli, jsonLines, roundTrip } from '../helpers/privacy-daemon.js';

type Rec = Record<string, unknown> & { seq: number; tsMs: number; kind: string };
const key = (seq: number): string => `r!${String(seq).padStart(16, '0')}`;

describe.runIf(mosquittoAvailable())('the audit log: complete, in wall time, tamper-evident', () => {
  let broker: Mosquitto;
  let cloud: FakeOpenAIServer;
  let dir: string;
  let config: string;
  let startedAt: number;

  beforeAll(async () => {
    broker = await Mosquitto.start();
    cloud = await FakeOpenAIServer.start();
    dir = mkdtempSync(join(tmpdir(), 'edgeloom-audit-cli-'));
    config = writeDaemonConfig({
      dir,
      brokerUrl: broker.url,
      fixture: DEMO,
      speed: 0,
      extra: {
        sensors: { mic: { privacy: 'public' } },
        cloud: { enabled: true, base_url: cloud.baseUrl, api_key: 'sk-test', retries: 0 },
        router: { thresholds: { 'reference-transcript': 1 } },
      },
    });
    startedAt = Date.now();
    const sub = await Subscriber.connect(broker.url, [`${BASE}/cmd/result`]);
    const daemon = startDaemon(config);
    try {
      await daemon.waitForLog('edgeloom running', 'stdout', 60_000);
      await roundTrip(sub, BASE, 'c1', () =>
        sub.client
          .publishAsync(`${BASE}/cmd/privacy`, '{"tier":"local_only","scope":"cam0","id":"c1"}')
          .then(() => undefined),
      );
      await roundTrip(sub, BASE, 'c2', () =>
        sub.client.publishAsync(`${BASE}/cmd/sensor/nope/resume`, '{"id":"c2"}').then(() => undefined),
      );
      await replayFinished(daemon);
      await stopCleanly(daemon);
    } finally {
      daemon.kill();
      await sub.close();
    }
  });

  afterAll(async () => {
    await broker?.stop();
    await cloud?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('--since 2h lists what a 2024 replay did: cloud and MQTT egress, the privacy change and the commands', async () => {
    const records = jsonLines<Rec>(await cli(['audit', '--json', '--since', '2h', '--config', config]));
    for (const r of records) expect(r.tsMs).toBeGreaterThanOrEqual(startedAt - 1000);
    const egress = records.filter((r) => r.kind === 'egress');
    expect(cloud.requests.length).toBeGreaterThan(0);
    expect(egress.length).toBe(cloud.requests.length);
    for (const e of egress) {
      expect(e).toMatchObject({
        outcome: 'sent',
        tier: 'public',
        host: expect.stringContaining('127.0.0.1'),
      });
      expect(new Date(e.eventTsMs as number).getUTCFullYear()).toBe(2024); // the replay's own time
    }
    const mqtt = records.filter((r) => r.kind === 'mqtt_egress');
    expect(mqtt.length).toBeGreaterThan(0);
    const topics = Object.assign({}, ...mqtt.map((r) => r.topics as object)) as Record<
      string,
      Record<string, unknown>
    >;
    expect(mqtt[0]).toMatchObject({ destination: 'device', host: '127.0.0.1' });
    expect(topics[`${BASE}/voice/transcript`]).toMatchObject({ tier: 'public', data: 'derived' });
    expect(topics[`${BASE}/face/emotion`]).toMatchObject({ tier: 'local_only', withheld: 0 });
    expect(records.filter((r) => r.kind === 'privacy')).toMatchObject([
      { outcome: 'applied', scope: 'sensor:camera', to: 'local_only', channel: 'mqtt' },
    ]);
    expect(records.filter((r) => r.kind === 'command')).toMatchObject([
      { command: 'privacy', outcome: 'ok', id: 'c1' },
      { command: 'sensor/nope/resume', outcome: 'E_CMD_UNKNOWN_SENSOR', id: 'c2' },
    ]);
    expect(await cli(['audit', '--since', '2h', '--config', config])).toContain('cloud egress:');
  });

  it('--verify passes, and names an edited record (exit 1); deleted, reordered and truncated ones too', async () => {
    expect(await cli(['audit', '--verify', '--config', config])).toMatch(/^audit chain ok: \d+ records/);
    const records = jsonLines<Rec>(await cli(['audit', '--json', '--config', config]));
    expect(records.length).toBeGreaterThanOrEqual(6);
    const [a, b, c] = [records[1]!, records[2]!, records[3]!];
    const last = records.at(-1)!;
    const store = await openStore(join(dir, 'state'));
    const sub = store.sublevel<string, Rec>('audit', { valueEncoding: 'json' });
    const restore = () =>
      sub.batch(records.map((r) => ({ type: 'put' as const, key: key(r.seq), value: r })));
    const problems = async () =>
      (await new AuditLog(store).verify()).problems.map((p) => `record ${p.seq}: ${p.problem}`);
    try {
      await sub.del(key(b.seq));
      expect(await problems()).toEqual([
        `record ${b.seq + 1}: records ${b.seq}..${b.seq} are missing (deleted)`,
      ]);
      await restore();
      await sub.batch([
        { type: 'put', key: key(b.seq), value: c },
        { type: 'put', key: key(c.seq), value: b },
      ]);
      expect(await problems()).toContain(
        `record ${b.seq}: record under key ${b.seq} says it is record ${c.seq} (moved or reordered)`,
      );
      await restore();
      await sub.del(key(last.seq));
      expect(await problems()).toEqual([
        `record ${last.seq}: records ${last.seq}..${last.seq} are missing (deleted at the end)`,
      ]);
      await restore();
      expect(await problems()).toEqual([]);
      await sub.put(key(a.seq), { ...a, outcome: 'nothing to see' });
    } finally {
      await store.close();
    }
    // The stopped daemon's store, checked by the CLI: exit 1 and the record named.
    const broken = await cli(['audit', '--verify', '--config', config], {}, 1);
    expect(broken).toContain(`record ${a.seq}: content does not match its hash (edited)`);
  });
});
