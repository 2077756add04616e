/**
 * Finding 6 through the real parts: `forget` while the daemon runs, and the bytes left on disk.
 * The compiled daemon replays the demo fixture (two spoken sentences); then forget runs and the
 * test searches every file of the LevelDB directory for the sentences' text.
 *
 * - Broker up: an unsigned `cmd/forget` is refused; the owner's signed one erases agent memory,
 *   clears the retained `display/set`, leaves one audit record, and after the compaction no file
 *   of the store holds either sentence (before it, the search does find them).
 * - Broker down, so the outbox holds the transcripts and intents: `edgeloom forget --yes` reaches
 *   the running daemon, deletes them from the outbox (device state stays), and again no file
 *   holds the sentences. It reports only stores that exist.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Outbox } from '../../daemon/actions/outbox.js';
import { silentLogger } from '../../daemon/log.js';
import { openStore } from '../../daemon/storage/store.js';
import { SystemClock } from '../../daemon/util/clock.js';
import {
  BASE,
  DEMO,
  replayFinished,
  startDaemon,
  stopCleanly,
  waitForQos1,
  writeDaemonConfig,
} from '../helpers/daemon-mqtt.js';
import { freePort, Mosquitto, mosquittoAvailable } from '../helpers/mosquitto.js';
import { Subscriber, waitFor } from '../helpers/mqtt.js';
import {
  COMMAND_KEY,
  cli,
  filesContaining,
  jsonLines,
  roundTrip,
  signed,
} from '../helpers/privacy-daemon.js';

const truth = JSON.parse(readFileSync(join(DEMO, 'fixture.json'), 'utf8')) as {
  truth: { speech: { text: string }[] };
};
const SENTENCES = truth.truth.speech.map((s) => s.text);

/** The sentences found in the store's files, as `file: sentence`. */
function sentencesOnDisk(storageDir: string): string[] {
  return SENTENCES.flatMap((s) => filesContaining(storageDir, s).map((f) => `${f}: ${s}`));
}

describe.runIf(mosquittoAvailable())('forget while the daemon runs', () => {
  let broker: Mosquitto;
  let dir: string;

  beforeAll(async () => {
    broker = await Mosquitto.start();
    dir = mkdtempSync(join(tmpdir(), 'edgeloom-forget-'));
    expect(SENTENCES).toEqual(['turn on the kitchen light', 'what time is it']);
  });

  afterAll(async () => {
    await broker?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("the owner's signed cmd/forget erases agent memory and retained state, and the bytes leave the store", async () => {
    const config = writeDaemonConfig({
      dir: join(dir, 'mqtt'),
      brokerUrl: broker.url,
      fixture: DEMO,
      speed: 0,
      extra: { control: { command_key: COMMAND_KEY } },
    });
    const storageDir = join(dir, 'mqtt', 'state');
    const sub = await Subscriber.connect(broker.url, [`${BASE}/#`]);
    const daemon = startDaemon(config);
    try {
      await replayFinished(daemon);
      await waitForQos1(sub, 10, 20_000);
      await waitFor(() => sub.on(`${BASE}/display/set`).length > 0, 'display state');
      // The search works: before forget, the agents' logs hold both sentences.
      expect(sentencesOnDisk(storageDir).length).toBeGreaterThan(0);

      const refused = await roundTrip(sub, BASE, 'f1', () =>
        sub.client.publishAsync(`${BASE}/cmd/forget`, '{"id":"f1"}').then(() => undefined),
      );
      expect(refused).toMatchObject({ ok: false, error: { code: 'E_CMD_AUTH' } });

      const payload = signed('cmd/forget', { id: 'f2' });
      const done = await roundTrip(sub, BASE, 'f2', () =>
        sub.client.publishAsync(`${BASE}/cmd/forget`, payload).then(() => undefined),
      );
      expect(done).toMatchObject({ ok: true, result: { dryRun: false } });
      const deleted = (done.result as { deleted: Record<string, number> }).deleted;
      expect(Object.keys(deleted).sort()).toEqual(['agents', 'audit', 'outbox', 'retained']);
      expect(deleted.agents).toBeGreaterThan(0);
      expect(deleted.retained).toBe(1);
      // The retained display state is cleared with an empty retained message.
      await waitFor(() => sub.on(`${BASE}/display/set`).some((m) => m.payload === ''), 'empty display/set');

      const audit = jsonLines(await cli(['audit', '--json', '--config', config]));
      expect(audit[0]).toMatchObject({
        kind: 'forget',
        outcome: 'done',
        channel: 'mqtt',
        authenticated: true,
      });
      expect(audit.filter((r) => r.kind === 'forget')).toHaveLength(1);
      await stopCleanly(daemon);
    } finally {
      daemon.kill();
      await sub.close();
    }
    expect(sentencesOnDisk(storageDir)).toEqual([]);
    // A subscriber arriving later gets no display state (display/set is listed before status, so
    // a retained display/set would arrive first).
    const late = await Subscriber.connect(broker.url, [`${BASE}/display/set`, `${BASE}/status`]);
    await waitFor(() => late.on(`${BASE}/status`).length > 0, 'retained status');
    expect(late.on(`${BASE}/display/set`)).toEqual([]);
    await late.close();
  });

  it('edgeloom forget reaches the running daemon: the outbox loses the queued transcripts, the files the sentences', async () => {
    const down = `mqtt://127.0.0.1:${await freePort()}`;
    const config = writeDaemonConfig({ dir: join(dir, 'down'), brokerUrl: down, fixture: DEMO, speed: 0 });
    const storageDir = join(dir, 'down', 'state');
    const daemon = startDaemon(config);
    try {
      await replayFinished(daemon);
      const dry = await cli(['forget', '--config', config]);
      expect(dry).toMatch(/would delete \d+ outbox entries/);
      const out = await cli(['forget', '--yes', '--config', config]);
      expect(out).toContain('store compacted (daemon running)');
      expect(out).not.toContain('transcripts');
      const outbox = Number(/deleted (\d+) outbox entries/.exec(out)?.[1]);
      expect(outbox).toBeGreaterThanOrEqual(8); // two utterances: speech ×2, transcript, intent each
      await stopCleanly(daemon);
    } finally {
      daemon.kill();
    }
    expect(sentencesOnDisk(storageDir)).toEqual([]);
    const store = await openStore(storageDir);
    try {
      const box = new Outbox({
        store,
        clock: new SystemClock(),
        logger: silentLogger(),
        maxMessages: 10_000,
        policy: 'drop-oldest',
      });
      await box.open();
      const topics = [...box.values()].map((e) => e.topic);
      expect(topics.filter((t) => /voice|face|imu\/motion/.test(t))).toEqual([]);
      // What forget queued itself: the empty retained display state, for when the broker is back.
      expect(
        [...box.values()].filter((e) => e.topic === `${BASE}/display/set` && e.payload === ''),
      ).toHaveLength(1);
    } finally {
      await store.close();
    }
  });
});
