/**
 * The whole daemon against a real Mosquitto, seen by a separate mqtt.js subscriber: the compiled
 * CLI (`run`) replays the bundled demo fixture into the broker; every contract message the same
 * replay's `--emit jsonl` lists arrives, with the content the fixture's ground truth predicts; the
 * display follows the face stream with its hysteresis; malformed commands get an error on
 * `cmd/result` while the daemon keeps serving; the retained `stats` appears; SIGTERM leaves a
 * retained offline status.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliChild } from '../helpers/cli-process.js';
import {
  BASE,
  byTopic,
  DEMO,
  DEVICE_ID,
  demoBaseline,
  type Emitted,
  firstOccurrences,
  replayFinished,
  STATS_INTERVAL_MS,
  startDaemon,
  stopCleanly,
  waitForQos1,
} from '../helpers/daemon-mqtt.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { type Received, Subscriber, waitFor } from '../helpers/mqtt.js';
import { needs } from '../helpers/tools.js';

const truth = JSON.parse(readFileSync(join(DEMO, 'fixture.json'), 'utf8')) as {
  start_time: string;
  truth: {
    speech: { start_ms: number; end_ms: number; text: string }[];
    faces: { start_ms: number; end_ms: number; face: boolean }[];
    imu: { kind: string; t_ms: number }[];
  };
};
const T0 = Date.parse(truth.start_time);
/** The emotion display's schema defaults (agents.emotion_display). */
const K_FRAMES = 3;
const MIN_MS = 1500;
const NO_FACE_TIMEOUT_MS = 3000;

type Payload = Record<string, unknown>;
const payloads = (list: readonly Received[]): Payload[] => list.map((m) => m.payload as Payload);

/**
 * What the display must show, derived from the face stream alone: a new top emotion is shown once
 * it has been top for K frames spanning MIN_MS; `no_face` once no face was seen for the timeout.
 */
function expectedDisplay(frames: readonly Payload[], endMs: number): { ts: number; emotion: string }[] {
  const out: { ts: number; emotion: string }[] = [];
  let shown = 'no_face';
  let candidate: string | null = null;
  let streak = 0;
  let streakStart = 0;
  let lastFace: number | null = null;
  const noFaceCheck = (untilMs: number): void => {
    if (shown !== 'no_face' && lastFace !== null && lastFace + NO_FACE_TIMEOUT_MS <= untilMs) {
      shown = 'no_face';
      out.push({ ts: lastFace + NO_FACE_TIMEOUT_MS, emotion: 'no_face' });
    }
  };
  for (const f of frames) {
    const ts = f.ts as number;
    noFaceCheck(ts);
    const e = f.emotion as string | null;
    if (e === null) {
      candidate = null;
      streak = 0;
      continue;
    }
    lastFace = ts;
    if (e === candidate) streak++;
    else [candidate, streak, streakStart] = [e, 1, ts];
    if (e !== shown && streak >= K_FRAMES && ts - streakStart >= MIN_MS) {
      shown = e;
      out.push({ ts, emotion: e });
    }
  }
  noFaceCheck(endMs);
  return out;
}

describe.runIf(needs({ tools: ['mosquitto'] }))('the daemon against Mosquitto: the demo end to end', () => {
  let broker: Mosquitto;
  let dir: string;
  let sub: Subscriber;
  let daemon: CliChild;
  let baseline: Emitted[];

  beforeAll(async () => {
    broker = await Mosquitto.start();
    dir = mkdtempSync(join(tmpdir(), 'edgeloom-daemon-e2e-'));
    // A short stats period, so the retained stats are there without waiting the default 30 s.
    const demo = await demoBaseline({
      dir,
      brokerUrl: broker.url,
      extra: { mqtt: { stats_interval_ms: STATS_INTERVAL_MS } },
    });
    baseline = demo.baseline;
    sub = await Subscriber.connect(broker.url, [`${BASE}/#`, 'homeassistant/#', 'home/#']);
    daemon = startDaemon(demo.config);
    await replayFinished(daemon);
    await waitForQos1(sub, demo.qos1, 20_000);
  });

  afterAll(async () => {
    daemon?.kill();
    await sub?.close();
    await broker?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  const on = (rel: string): Received[] => sub.on(`${BASE}/${rel}`);

  it('every message --emit jsonl lists arrives, per topic in the same order', () => {
    const expected = byTopic(baseline);
    const got = byTopic(sub.messages.filter((m) => m.topic !== `${BASE}/status`));
    expect([...expected.keys()].sort()).toEqual(
      expect.arrayContaining(
        ['face/emotion', 'display/set', 'voice/speech', 'imu/motion'].map((t) => `${BASE}/${t}`),
      ),
    );
    // QoS 0 included: the replay starts only once the broker has answered (daemon/actions/broker-gate.ts),
    // and nothing is lost on loopback after that.
    for (const [topic, list] of expected) expect(firstOccurrences(got.get(topic) ?? []), topic).toEqual(list);
  });

  it('face/emotion: happy on every astronaut frame, no face on the coffee frames', () => {
    const frames = payloads(on('face/emotion'));
    expect(frames.length).toBeGreaterThan(30);
    for (const f of frames) {
      const t = (f.ts as number) - T0;
      const range = truth.truth.faces.find((r) => t >= r.start_ms && t <= r.end_ms);
      expect(range, `frame at ${t} ms`).toBeDefined();
      expect(f.emotion, `frame at ${t} ms`).toBe(range?.face ? 'happy' : null);
    }
    expect(on('face/emotion').every((m) => m.qos === 0)).toBe(true);
  });

  it('display/set changes only after K frames spanning min_ms, and to no_face after the timeout', () => {
    const frames = payloads(on('face/emotion'));
    const shown = payloads(on('display/set')).map((p) => ({
      ts: p.ts as number,
      emotion: p.emotion as string,
    }));
    const lastTs = Math.max(...shown.map((s) => s.ts));
    expect(shown).toEqual(expectedDisplay(frames, lastTs));
    // The first happy frames (before K frames / min_ms) did not change the display.
    const firstHappy = frames.find((f) => f.emotion === 'happy')?.ts as number;
    expect(shown[0]).toEqual({ ts: firstHappy + MIN_MS, emotion: 'happy' });
    expect(shown.map((s) => s.emotion)).toEqual(['happy', 'no_face', 'happy', 'no_face']);
    expect(on('display/set').every((m) => m.qos === 1)).toBe(true);
  });

  it('voice: speech start/end around each spoken sentence, a transcript and an intent per utterance', () => {
    const speech = payloads(on('voice/speech'));
    const starts = speech.filter((s) => s.state === 'start');
    const ends = speech.filter((s) => s.state === 'end');
    expect(starts).toHaveLength(truth.truth.speech.length);
    expect(ends).toHaveLength(truth.truth.speech.length);
    truth.truth.speech.forEach((t, i) => {
      // VAD frames are 32 ms and the end needs a silence run: a few frames of slack each side.
      expect(Math.abs((ends[i]?.start_ms as number) - T0 - t.start_ms)).toBeLessThan(300);
      expect(Math.abs((ends[i]?.end_ms as number) - T0 - t.end_ms)).toBeLessThan(300);
    });
    const transcripts = payloads(on('voice/transcript'));
    expect(transcripts.map((t) => t.ts)).toEqual(ends.map((e) => e.ts));
    for (const t of transcripts) expect(String(t.text).length).toBeGreaterThan(0);
    expect(transcripts.map((t) => t.text)).toEqual(truth.truth.speech.map((s) => s.text));
    const intents = payloads(on('voice/intent'));
    expect(intents.map((i) => i.text)).toEqual(transcripts.map((t) => t.text));
  });

  it('"turn on the kitchen light": the light_on intent and ON on home/kitchen/light/set', () => {
    expect(payloads(on('voice/intent'))[0]).toMatchObject({
      intent: 'light_on',
      slots: { room: 'kitchen' },
      source: 'local',
    });
    // The bare value on the foreign topic, as a Home Assistant light expects.
    expect(sub.on('home/kitchen/light/set')).toMatchObject([{ payload: 'ON', qos: 1 }]);
  });

  it('imu/motion: the fall of the trace, within a second of its truth', () => {
    const fall = truth.truth.imu.find((e) => e.kind === 'fall');
    const falls = payloads(on('imu/motion')).filter((m) => m.kind === 'fall');
    expect(falls).toHaveLength(1);
    const t = (falls[0]?.ts as number) - T0;
    expect(t).toBeGreaterThanOrEqual(fall?.t_ms ?? Number.NaN);
    expect(t).toBeLessThan((fall?.t_ms ?? 0) + 1000);
    expect(falls[0]?.impact_g as number).toBeGreaterThan(2.5);
  });

  it('router/decision for every face and speech inference', () => {
    const decisions = payloads(on('router/decision'));
    const kinds = new Set(decisions.map((d) => d.kind));
    expect(kinds).toContain('face');
    const expectedKinds = new Set(
      baseline.filter((m) => m.topic === `${BASE}/router/decision`).map((m) => m.payload.kind),
    );
    expect(kinds).toEqual(expectedKinds);
    // Each face/emotion frame that arrived was routed: a decision with the same event time.
    const faceTs = new Set(decisions.filter((d) => d.kind === 'face').map((d) => d.ts));
    for (const f of payloads(on('face/emotion'))) expect(faceTs.has(f.ts), `frame at ${f.ts}`).toBe(true);
    for (const d of decisions) expect(d).toMatchObject({ ts: expect.any(Number), route: 'local' });
  });

  it('a late subscriber gets the retained online status, display and Home Assistant discovery', async () => {
    const late = await Subscriber.connect(broker.url, [
      `${BASE}/status`,
      `${BASE}/display/set`,
      'homeassistant/#',
    ]);
    try {
      // Status, display and the status sensor's config: the retained configs arrive with it.
      await waitFor(
        () =>
          late.messages.length >= 6 &&
          late.messages.some((m) => m.topic.startsWith('homeassistant/binary_sensor/')) &&
          late.messages.some((m) => m.topic.endsWith('/transcript/config')),
        'retained messages',
      );
      expect(late.on(`${BASE}/status`)[0]).toMatchObject({ retain: true, payload: { state: 'online' } });
      const lastShown = on('display/set').at(-1)?.payload as Payload;
      expect(late.on(`${BASE}/display/set`)[0]).toMatchObject({ retain: true, payload: lastShown });
      const configs = late.messages.filter((m) => m.topic.startsWith('homeassistant/'));
      // Every entity this configuration enables (test/integration/ha-discovery.test.ts checks
      // each against HA's documented options); here, that the four of old are still among them.
      expect(configs.map((c) => c.topic)).toEqual(
        expect.arrayContaining(
          ['binary_sensor/%/status', 'sensor/%/emotion', 'sensor/%/motion', 'sensor/%/transcript'].map(
            (t) => `homeassistant/${t.replace('%', `edgeloom_${DEVICE_ID}`)}/config`,
          ),
        ),
      );
      for (const c of configs) {
        expect(c.retain).toBe(true);
        // The status sensor reads the status topic itself; the others use it as availability.
        if (!c.topic.includes('/status/')) {
          expect(c.payload).toMatchObject({ availability: [{ topic: `${BASE}/status` }] });
        }
      }
    } finally {
      await late.close();
    }
  });

  it('malformed commands get an error on cmd/result; the daemon keeps serving valid ones', async () => {
    const results = (): Payload[] => payloads(on('cmd/result'));
    const send = async (rel: string, body: string | Buffer): Promise<Payload> => {
      const before = results().length;
      await sub.client.publishAsync(`${BASE}/cmd/${rel}`, body, { qos: 1 });
      await waitFor(() => results().length > before, `result for cmd/${rel}`);
      return results()[before] as Payload;
    };
    const bad: [string, string | Buffer, string][] = [
      ['privacy', '{"tier": ', 'E_CMD_BAD_JSON'],
      ['privacy', '{"tier":"secret"}', 'E_CMD_INVALID'],
      ['privacy', '{"tier":1}', 'E_CMD_INVALID'],
      ['sensor/cam0/pause', '{"duration_s":"ten"}', 'E_CMD_INVALID'],
      ['sensor/lidar0/pause', '', 'E_CMD_UNKNOWN_SENSOR'],
      ['tool/no.such.tool', '{}', 'E_TOOL_UNKNOWN'],
      ['tool/log', '{"level":"loud","message":7}', 'E_TOOL_INVALID_ARGS'],
      ['reboot', '{}', 'E_CMD_UNKNOWN'],
      ['privacy', Buffer.alloc(70 * 1024, 0x20), 'E_CMD_TOO_LARGE'],
    ];
    for (const [rel, body, code] of bad) {
      const r = await send(rel, body);
      expect(r, `cmd/${rel}`).toMatchObject({ ok: false, error: { code } });
    }
    expect(daemon.process.exitCode).toBeNull();
    expect(await send('privacy', '{"tier":"private","id":"c1"}')).toMatchObject({
      ok: true,
      id: 'c1',
      result: { tier: 'private' },
    });
    expect(await send('tool/log', '{"level":"info","message":"hello"}')).toMatchObject({
      ok: true,
      result: { logged: true },
    });
    // A tool call from the network reaches the home broker through the allow-list.
    expect(
      await send('tool/mqtt.publish', '{"topic":"home/kitchen/light/set","payload":"ON"}'),
    ).toMatchObject({
      ok: true,
    });
    await waitFor(() => sub.on('home/kitchen/light/set').length === 2, 'home/kitchen/light/set');
    expect(sub.on('home/kitchen/light/set')[1]?.payload).toBe('ON');
  });

  it('publishes the retained stats, and SIGTERM leaves a retained offline status', async () => {
    // The first stats go out STATS_INTERVAL_MS after start-up (wall time), long before this test runs.
    await waitFor(() => on('stats').length > 0, 'stats', 3 * STATS_INTERVAL_MS);
    const late = await Subscriber.connect(broker.url, [`${BASE}/stats`]);
    try {
      await waitFor(() => late.messages.length > 0, 'retained stats');
      expect(late.messages[0]).toMatchObject({ retain: true, payload: { ts: expect.any(Number) } });
    } finally {
      await late.close();
    }
    await stopCleanly(daemon);
    await waitFor(() => (on('status').at(-1)?.payload as Payload)?.state === 'offline', 'offline status');
    expect(on('status').at(-1)?.payload).toMatchObject({ reason: 'shutdown' });
  });
});
