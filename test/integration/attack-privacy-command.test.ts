/**
 * The attack of issue "privacy that holds against a hostile network", finding 1, through the real
 * parts: the compiled daemon replays the demo fixture in a loop into a real Mosquitto, with the
 * cloud enabled against a loopback server that records every byte and thresholds of 1 (the policy
 * wants the cloud for every utterance and every face). The attacker is `mosquitto_pub`, as anyone
 * on the broker could run it.
 *
 * - Unauthenticated `cmd/privacy` messages cannot loosen any tier (mic private, camera local_only):
 *   each is answered `E_CMD_AUTH`, audited, and no WAV or JPEG reaches the cloud afterwards.
 * - The owner's signed command does loosen the microphone (and then audio does reach the cloud:
 *   the byte search can fail); a replay of that capture and a forged signature are refused.
 * - The README's `{"scope":"mic0"}` tightens the microphone, is published retained on
 *   `<base>/privacy`, and survives a restart.
 * - `cmd/sensor/imu0/pause` can no longer silence fall detection: refused without an audited,
 *   authenticated override, bounded with it, and every pause resumes by itself.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliChild } from '../helpers/cli-process.js';
import { BASE, DEMO, startDaemon, stopCleanly, writeDaemonConfig } from '../helpers/daemon-mqtt.js';
import { FakeOpenAIServer } from '../helpers/fake-openai-server.js';
import { Mosquitto, mosquittoAvailable } from '../helpers/mosquitto.js';
import { type Received, Subscriber, waitFor } from '../helpers/mqtt.js';
import { COMMAND_KEY, cli, jsonLines, mosquittoPub, roundTrip, signed } from '../helpers/privacy-daemon.js';
import { fixtureFrames, MediaInspector, speechUtterances } from '../helpers/privacy-inspect.js';
import { toolsAvailable } from '../helpers/tools.js';

type Payload = Record<string, unknown>;
const PAUSE_MAX_S = 2;

describe.runIf(mosquittoAvailable() && toolsAvailable('mosquitto_pub'))(
  'privacy commands from the network (attacker: mosquitto_pub)',
  () => {
    let broker: Mosquitto;
    let cloud: FakeOpenAIServer;
    let dir: string;
    let config: string;
    let sub: Subscriber;
    let daemon: CliChild;
    let media: MediaInspector;

    const on = (rel: string): Received[] => sub.on(`${BASE}/${rel}`);
    const decisions = (kind: string): Payload[] =>
      on('router/decision')
        .map((m) => m.payload as Payload)
        .filter((p) => p.kind === kind);
    const attack = (id: string, body: Payload, command = 'cmd/privacy') =>
      roundTrip(sub, BASE, id, () =>
        mosquittoPub(broker.port, `${BASE}/${command}`, JSON.stringify({ ...body, id })),
      );
    const owner = (id: string, body: Payload, command = 'cmd/privacy', key = COMMAND_KEY) => {
      const payload = signed(command, { ...body, id }, key);
      return {
        payload,
        send: () =>
          roundTrip(sub, BASE, id, () =>
            sub.client.publishAsync(`${BASE}/${command}`, payload, { qos: 1 }).then(() => undefined),
          ),
      };
    };
    /** Wait until `count` more decisions of `kind` arrived than `from`, and return those. */
    const nextDecisions = async (kind: string, from: number, count: number): Promise<Payload[]> => {
      await waitFor(() => decisions(kind).length >= from + count, `${count} ${kind} decisions`, 30_000);
      return decisions(kind).slice(from);
    };

    beforeAll(async () => {
      broker = await Mosquitto.start();
      cloud = await FakeOpenAIServer.start();
      dir = mkdtempSync(join(tmpdir(), 'edgeloom-attack-privacy-'));
      media = new MediaInspector(await speechUtterances(DEMO), await fixtureFrames(DEMO));
      config = writeDaemonConfig({
        dir,
        brokerUrl: broker.url,
        fixture: DEMO,
        speed: 4,
        extra: {
          source: { replay: { fixture: DEMO, speed: 4, loop: true } },
          cloud: { enabled: true, base_url: cloud.baseUrl, api_key: 'sk-test', retries: 0 },
          // Every local result is "not confident enough": only the tier keeps data at home.
          router: { thresholds: { 'reference-transcript': 1, 'faceapi-expression': 1 } },
          control: { command_key: COMMAND_KEY, pause_max_s: PAUSE_MAX_S },
        },
      });
      sub = await Subscriber.connect(broker.url, [`${BASE}/#`]);
      daemon = startDaemon(config, 120_000);
      await daemon.waitForLog('edgeloom running', 'stdout', 60_000);
    });

    afterAll(async () => {
      daemon?.kill();
      await sub?.close();
      await broker?.stop();
      await cloud?.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it('unauthenticated messages cannot loosen any tier, and no WAV or JPEG reaches the cloud', async () => {
      const attempts: Payload[] = [
        { tier: 'public', scope: 'sensor:mic' },
        { tier: 'public', scope: 'sensor:camera' },
        { tier: 'public', scope: 'inference/face/#' },
        { tier: 'public', scope: 'mic0' },
        { tier: 'public', scope: 'cam0' },
        { tier: 'public' },
      ];
      for (const [i, body] of attempts.entries()) {
        const r = await attack(`attack-${i}`, body);
        expect(r, JSON.stringify(body)).toMatchObject({ ok: false, error: { code: 'E_CMD_AUTH' } });
      }
      // Decisions made after the attack: the policy still sees the configured tiers.
      const speech = await nextDecisions('transcript', decisions('transcript').length, 2);
      const faces = await nextDecisions('face', decisions('face').length, 10);
      for (const d of speech)
        expect(d).toMatchObject({ tier: 'private', route: 'local', reason: 'privacy_private' });
      for (const d of faces) expect(d).toMatchObject({ tier: 'local_only', route: 'local' });
      expect(media.find(cloud.allBytes())).toEqual([]);
      expect(cloud.requests).toHaveLength(0);
    });

    it("the owner's signed command loosens the microphone; a replayed capture and a forged signature are refused", async () => {
      const forged = owner(
        'forged',
        { tier: 'public', scope: 'mic0' },
        'cmd/privacy',
        'not-the-owners-key-000',
      );
      expect(await forged.send()).toMatchObject({ ok: false, error: { code: 'E_CMD_AUTH' } });
      // A signature for another command does not carry over either.
      const wrongTopic = signed('cmd/forget', { tier: 'public', scope: 'mic0', id: 'moved' });
      const moved = await roundTrip(sub, BASE, 'moved', () =>
        mosquittoPub(broker.port, `${BASE}/cmd/privacy`, wrongTopic),
      );
      expect(moved).toMatchObject({ ok: false, error: { code: 'E_CMD_AUTH' } });

      const loosen = owner('loosen', { tier: 'public', scope: 'mic0' });
      expect(await loosen.send()).toMatchObject({
        ok: true,
        result: { scope: 'sensor:mic', tier: 'public', previous: 'private', loosened: true },
      });
      // The attacker captured the owner's message and sends it again.
      const replayed = await roundTrip(sub, BASE, 'loosen', () =>
        mosquittoPub(broker.port, `${BASE}/cmd/privacy`, loosen.payload),
      );
      expect(replayed).toMatchObject({ ok: false, error: { code: 'E_CMD_AUTH' } });
      expect(String((replayed.error as Payload).message)).toContain('nonce');
      // Now the owner allows it, the audio of the next utterance does leave (the search can fail);
      // the camera is still local_only: no frame.
      await waitFor(
        () => media.find(cloud.allBytes()).includes('RIFF/WAVE header'),
        'a WAV at the cloud',
        30_000,
      );
      // (Not the 2-byte SOI search: two such bytes occur in any few seconds of audio samples.)
      const frames = media.find(cloud.allBytes()).filter((f) => f.startsWith('JPEG ') && f !== 'JPEG SOI');
      expect(frames).toEqual([]);
      expect(cloud.allBytes().includes('image_url')).toBe(false);
    });

    it('the README form {"scope":"mic0"} tightens the microphone and is published retained on <base>/privacy', async () => {
      const r = await attack('tighten', { tier: 'local_only', scope: 'mic0' });
      expect(r).toMatchObject({
        ok: true,
        result: { scope: 'sensor:mic', tier: 'local_only', loosened: false },
      });
      await waitFor(
        () =>
          (on('privacy').at(-1)?.payload as Payload | undefined)?.sensors !== undefined &&
          (on('privacy').at(-1)!.payload as { sensors: Payload }).sensors.mic0 === 'local_only',
        'privacy state with mic0 local_only',
      );
      expect(on('privacy').at(-1)).toMatchObject({
        retain: false, // live delivery to a subscriber; the broker keeps it retained (checked after the restart)
        payload: { sensors: { mic0: 'local_only', cam0: 'local_only' }, destination: 'device' },
      });
      const before = cloud.requests.length;
      const after = await nextDecisions('transcript', decisions('transcript').length, 2);
      for (const d of after) expect(d).toMatchObject({ tier: 'local_only', route: 'local' });
      expect(cloud.requests.length).toBe(before);
    });

    it('a broker client cannot silence fall detection; the owner can, briefly, and every pause ends by itself', async () => {
      const falls = () => on('imu/motion').filter((m) => (m.payload as Payload).kind === 'fall').length;
      const day = await attack('pause-day', { duration_s: 86_400 }, 'cmd/sensor/imu0/pause');
      expect(day).toMatchObject({ ok: false, error: { code: 'E_CMD_SAFETY' } });
      const forced = await attack(
        'pause-forced',
        { duration_s: 60, safety_override: true },
        'cmd/sensor/imu0/pause',
      );
      expect(forced).toMatchObject({ ok: false, error: { code: 'E_CMD_AUTH' } });
      // The next pass of the fixture still reports its fall.
      const seen = falls();
      await waitFor(() => falls() > seen, 'a fall after the refused pause', 30_000);

      const tooLong = owner(
        'pause-long',
        { duration_s: 86_400, safety_override: true },
        'cmd/sensor/imu0/pause',
      );
      expect(await tooLong.send()).toMatchObject({ ok: false, error: { code: 'E_CMD_INVALID' } });
      const brief = owner('pause-brief', { duration_s: 1, safety_override: true }, 'cmd/sensor/imu0/pause');
      expect(await brief.send()).toMatchObject({ ok: true, result: { state: 'paused', resumes_in_s: 1 } });
      // A camera pause without a duration is bounded by control.pause_max_s.
      const cam = await attack('pause-cam', {}, 'cmd/sensor/cam0/pause');
      expect(cam).toMatchObject({ ok: true, result: { resumes_in_s: PAUSE_MAX_S } });
      // Both resume by themselves: falls and face decisions come again.
      const fallsNow = falls();
      const facesNow = decisions('face').length;
      await waitFor(() => falls() > fallsNow, 'a fall after the pause ended', 30_000);
      await waitFor(
        () => decisions('face').length > facesNow,
        'a face decision after the camera pause',
        30_000,
      );
    });

    it('after a stop the changes are in the store and the audit chain; after a restart they still hold', async () => {
      await stopCleanly(daemon);
      const show = JSON.parse(await cli(['privacy', 'show', '--json', '--config', config])) as {
        via: string;
        tiers: { sensorIds: Payload };
        runtime: Record<string, Payload>;
      };
      expect(show.via).toBe('store');
      expect(show.tiers.sensorIds).toMatchObject({ mic0: 'local_only', cam0: 'local_only' });
      expect(show.runtime['sensor:mic']).toMatchObject({ tier: 'local_only', channel: 'mqtt' });

      const audit = jsonLines(await cli(['audit', '--json', '--since', '2h', '--config', config]));
      const privacy = audit.filter((r) => r.kind === 'privacy');
      const refused = privacy.filter((r) => r.outcome === 'refused');
      expect(refused.length).toBeGreaterThanOrEqual(6);
      for (const r of refused)
        expect(r).toMatchObject({ error: 'E_CMD_AUTH', authenticated: false, channel: 'mqtt' });
      expect(privacy.filter((r) => r.outcome === 'applied')).toMatchObject([
        { scope: 'sensor:mic', from: 'private', to: 'public', loosened: true, authenticated: true },
        { scope: 'sensor:mic', from: 'public', to: 'local_only', loosened: false, authenticated: false },
      ]);
      expect(audit.filter((r) => r.kind === 'sensor_pause')).toMatchObject([
        { outcome: 'applied', sensor: 'imu0', duration_s: 1, safety_override: true, authenticated: true },
      ]);
      expect(audit.filter((r) => r.kind === 'command').length).toBeGreaterThanOrEqual(12);
      expect(await cli(['audit', '--verify', '--config', config])).toContain('audit chain ok');

      const restartedAt = Date.now();
      daemon = startDaemon(config, 120_000);
      await daemon.waitForLog('edgeloom running', 'stdout', 60_000);
      const fresh = () =>
        on('privacy')
          .map((m) => m.payload as { ts: number; sensors: Payload })
          .filter((p) => p.ts >= restartedAt);
      await waitFor(() => fresh().length > 0, 'the privacy state published after the restart');
      expect(fresh()[0]!.sensors).toMatchObject({ mic0: 'local_only', cam0: 'local_only', imu0: 'public' });
      // A subscriber arriving now gets it retained.
      const late = await Subscriber.connect(broker.url, [`${BASE}/privacy`]);
      await waitFor(() => late.messages.length > 0, 'retained privacy state');
      expect(late.messages[0]).toMatchObject({ retain: true, payload: { sensors: { mic0: 'local_only' } } });
      await late.close();
      await stopCleanly(daemon);
    });
  },
);
