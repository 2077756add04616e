/**
 * The README's timed pause (`cmd/sensor/<id>/pause` with `{"duration_s": …}`, "Commands") end to
 * end, through the real parts: the compiled daemon replays the demo fixture in a loop into a real
 * Mosquitto, a broker client sends the command, and the sensor's own source answers it
 * (sensors/pauses.ts). The sensor reports `paused` on the retained `<base>/sensor/<id>/status`,
 * then `running` again by itself once the duration has passed on the daemon's clock (fixture
 * time in a replay), and its data flows again. The test waits for those messages, never for time.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliChild } from '../helpers/cli-process.js';
import { BASE, DEMO, startDaemon, stopCleanly, writeDaemonConfig } from '../helpers/daemon-mqtt.js';
import { Mosquitto, mosquittoAvailable } from '../helpers/mosquitto.js';
import { type Received, Subscriber, waitFor } from '../helpers/mqtt.js';
import { roundTrip } from '../helpers/privacy-daemon.js';

type Payload = Record<string, unknown>;
/** Short, so the resume comes within the same loop pass of the 20 s demo (speed 2). */
const DURATION_S = 1;

describe.runIf(mosquittoAvailable())('a timed pause resumes by itself (MQTT command → sensor source)', () => {
  let broker: Mosquitto;
  let dir: string;
  let sub: Subscriber;
  let daemon: CliChild;

  const on = (rel: string): Received[] => sub.on(`${BASE}/${rel}`);
  const states = (sensor: string): Payload[] =>
    on(`sensor/${sensor}/status`).map((m) => m.payload as Payload);
  const faceDecisions = (): number =>
    on('router/decision').filter((m) => (m.payload as Payload).kind === 'face').length;

  beforeAll(async () => {
    broker = await Mosquitto.start();
    dir = mkdtempSync(join(tmpdir(), 'edgeloom-timed-pause-'));
    const config = writeDaemonConfig({
      dir,
      brokerUrl: broker.url,
      fixture: DEMO,
      speed: 2,
      extra: { source: { replay: { fixture: DEMO, speed: 2, loop: true } } },
    });
    sub = await Subscriber.connect(broker.url, [`${BASE}/#`]);
    daemon = startDaemon(config, 120_000);
    await daemon.waitForLog('edgeloom running', 'stdout', 60_000);
  });

  afterAll(async () => {
    if (daemon !== undefined) await stopCleanly(daemon).catch(() => daemon.kill());
    await sub?.close();
    await broker?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('cam0 paused for 1 s reports paused, then running after 1 s of its clock, and its frames flow again', async () => {
    // The camera is producing before the pause: face decisions arrive.
    await waitFor(() => faceDecisions() > 0, 'a face decision before the pause', 30_000);
    const result = await roundTrip(sub, BASE, 'timed', () =>
      sub.client
        .publishAsync(
          `${BASE}/cmd/sensor/cam0/pause`,
          JSON.stringify({ duration_s: DURATION_S, id: 'timed' }),
          {
            qos: 1,
          },
        )
        .then(() => undefined),
    );
    expect(result).toMatchObject({
      ok: true,
      command: 'sensor/cam0/pause',
      result: { sensor: 'cam0', state: 'paused', resumes_in_s: DURATION_S },
    });

    await waitFor(() => states('cam0').some((s) => s.state === 'paused'), 'cam0 status paused', 30_000);
    const paused = states('cam0').find((s) => s.state === 'paused')!;
    await waitFor(
      () => states('cam0').some((s) => s.state === 'running' && (s.ts as number) >= (paused.ts as number)),
      'cam0 status running again, without a resume command',
      30_000,
    );
    const running = states('cam0').find(
      (s) => s.state === 'running' && (s.ts as number) >= (paused.ts as number),
    )!;
    expect(running).toMatchObject({ kind: 'camera' });
    // Resumed by the timer on the daemon's clock: not before the duration (fixture ms on the bus).
    expect((running.ts as number) - (paused.ts as number)).toBeGreaterThanOrEqual(DURATION_S * 1000);
    // Nobody sent a resume: the only command answered is the pause.
    expect(on('cmd/result').map((m) => (m.payload as Payload).command)).toEqual(['sensor/cam0/pause']);

    // And the camera's data flows again.
    const facesAtResume = faceDecisions();
    await waitFor(() => faceDecisions() > facesAtResume, 'a face decision after the pause ended', 30_000);
  });
});
