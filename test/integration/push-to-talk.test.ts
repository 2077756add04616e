/**
 * Wake mode `push_to_talk` through real parts: the daemon in-process replays a recording (paced,
 * speed 2) into a real Mosquitto on a loopback port; a separate MQTT client presses the button
 * (`<base>/cmd/voice/listen`, as Home Assistant's Listen button does) after the first utterance.
 * The utterance before the press is segmented but never transcribed; the ones after it, inside
 * the window, are. Home Assistant's discovery announces the Listen button on that command topic.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Envelope } from '../../daemon/bus/envelope.js';
import type { ListenWindow, SpeechEvent, Transcript } from '../../daemon/bus/topics.js';
import { loadConfig } from '../../daemon/config/index.js';
import { buildDaemon, type Daemon } from '../../daemon/daemon.js';
import { silentLogger } from '../../daemon/log.js';
import { Mosquitto, mosquittoAvailable } from '../helpers/mosquitto.js';
import { Subscriber, waitFor } from '../helpers/mqtt.js';
import { REPO_ROOT } from '../helpers/tools.js';
import { type WakeFixtureTruth, writeWakeFixture } from '../helpers/wake-fixture.js';

const DEVICE = 'ptt-dev';
const BASE = `edgeloom/${DEVICE}`;

describe.runIf(mosquittoAvailable())('push-to-talk over MQTT (real Mosquitto)', () => {
  let broker: Mosquitto;
  let dir: string;
  let truth: WakeFixtureTruth;

  beforeAll(async () => {
    broker = await Mosquitto.start();
    dir = mkdtempSync(join(tmpdir(), 'edgeloom-ptt-'));
    truth = writeWakeFixture(join(dir), {}).truth;
  });
  afterAll(async () => {
    await broker?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('cmd/voice/listen opens a window: speech before it is skipped, speech inside it is transcribed', async () => {
    const config = loadConfig({
      file: join(REPO_ROOT, 'config', 'default.yaml'),
      env: {},
      hostname: 'ptt-test',
      overrides: {
        device: { id: DEVICE },
        storage: { dir: join(dir, 'state') },
        control: { socket: false },
        mqtt: { url: broker.url },
        pipeline: { face: { enabled: false }, stt: { engine: 'reference' } },
        agents: { voice: { wake: { mode: 'push_to_talk', window_s: 8 } } },
      },
    });
    const daemon: Daemon = await buildDaemon({
      config,
      logger: silentLogger(),
      baseDir: REPO_ROOT,
      ephemeralStorage: true,
      mqtt: { kind: 'broker' },
      replay: { fixtureDir: dir, speed: 2, loop: false },
    });
    const ends: Envelope<SpeechEvent>[] = [];
    const transcripts: Envelope<Transcript>[] = [];
    const listens: Envelope<ListenWindow>[] = [];
    daemon.bus.subscribe('inference/vad/+', (e) => void (e.payload.kind === 'end' && ends.push(e)), {
      component: 'test',
      qos: 'batched',
    });
    daemon.bus.subscribe('inference/stt/+', (e) => void transcripts.push(e), {
      component: 'test',
      qos: 'batched',
    });
    daemon.bus.subscribe('action/listen', (e) => void listens.push(e), { component: 'test', qos: 'batched' });
    const client = await Subscriber.connect(broker.url, [`${BASE}/cmd/result`, 'homeassistant/button/#']);
    await daemon.start();
    try {
      // The first utterance ends, unheard: no window is open.
      await waitFor(() => ends.some((e) => e.payload.audio !== undefined), 'the first segment', 20_000);
      await client.client.publishAsync(
        `${BASE}/cmd/voice/listen`,
        JSON.stringify({ id: 'ptt-1', seconds: 6 }),
        {
          qos: 1,
        },
      );
      await waitFor(() => client.on(`${BASE}/cmd/result`).length > 0, 'the command result');
      const result = client.on(`${BASE}/cmd/result`)[0]!.payload as Record<string, unknown>;
      expect(result).toMatchObject({
        command: 'voice/listen',
        id: 'ptt-1',
        ok: true,
        result: { listening: true },
      });
      expect(listens).toHaveLength(1);
      expect(listens[0]!.payload.reason).toBe('push_to_talk');
      expect(listens[0]!.payload.untilMs - listens[0]!.tsMs).toBe(6000);
      // The two utterances after the press, inside the 6 s window, are transcribed.
      await waitFor(() => transcripts.length >= 2, 'two transcripts', 30_000);
      expect(transcripts.map((t) => t.payload.text.trim().toLowerCase())).toEqual([
        truth.speech[1]!.text,
        truth.speech[2]!.text,
      ]);
      // Discovery offered the button that sends this very command.
      const button = client.messages.find((m) => m.topic.endsWith('/listen/config'));
      expect(button?.payload).toMatchObject({
        command_topic: `${BASE}/cmd/voice/listen`,
        payload_press: '{}',
      });
      await daemon.replay?.done;
      // The last utterance comes after the window closed: segmented, not transcribed.
      expect(ends.filter((e) => e.payload.audio !== undefined)).toHaveLength(truth.speech.length);
      expect(transcripts).toHaveLength(2);
    } finally {
      await client.close();
      await daemon.stop();
    }
  }, 60_000);
});
