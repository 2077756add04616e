/**
 * `sensors.<kind>.qos`, `.queue_capacity` and `.sampling` set how each sensor's events reach the
 * stage that analyses them (README, "Sensors"): the face stage for camera frames, the VAD for
 * microphone frames, the motion agent for IMU windows. The compiled daemon (`edgeloom run`)
 * replays the demo fixture twice — with the defaults and with every knob changed — and the
 * subscriptions it reports on /api/stats must carry what the config says, with the thinning
 * counted where sampling is on. (The broker is down on purpose: nothing here needs one.)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { get } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { SubscriptionStats } from '../../daemon/bus/types.js';
import { parseLogLines } from '../helpers/cli-process.js';
import { DEMO, startDaemon, stopCleanly, writeDaemonConfig } from '../helpers/daemon-mqtt.js';
import { freePort } from '../helpers/mosquitto.js';

function getJson(url: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    get(url, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (s: string) => {
        body += s;
      });
      res.on('end', () => {
        try {
          resolve(JSON.parse(body));
        } catch (err) {
          reject(err);
        }
      });
    }).on('error', reject);
  });
}

interface Subs {
  face: SubscriptionStats;
  vad: SubscriptionStats;
  motion: SubscriptionStats;
}

const dir = mkdtempSync(join(tmpdir(), 'edgeloom-knobs-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Replay the demo with `sensors` merged over the defaults; the analysing subscriptions at the end. */
async function replay(name: string, sensors: Record<string, unknown>): Promise<Subs> {
  const config = writeDaemonConfig({
    dir: join(dir, name),
    brokerUrl: `mqtt://127.0.0.1:${await freePort()}`,
    fixture: DEMO,
    speed: 0,
    extra: { http: { enabled: true, port: 0 }, sensors },
  });
  const d = startDaemon(config);
  try {
    await d.waitForLog('replay finished', 'stdout', 60_000);
    const url = parseLogLines(d.stdout).find((l) => l.msg === 'http listening')?.url as string;
    const stats = (
      (await getJson(`${url}/api/stats`)) as { snapshot: { subscriptions: SubscriptionStats[] } }
    ).snapshot;
    const find = (pattern: string, component: RegExp): SubscriptionStats => {
      const s = stats.subscriptions.filter((x) => x.pattern === pattern && component.test(x.component));
      expect(s, `${pattern} ${component}`).toHaveLength(1);
      return s[0]!;
    };
    const subs = {
      face: find('sensor/camera/+/frame', /face/),
      vad: find('sensor/mic/+/frame', /vad/),
      motion: find('sensor/imu/+/window', /motion/),
    };
    await stopCleanly(d);
    return subs;
  } finally {
    d.kill();
  }
}

describe('sensors.<kind>.qos / queue_capacity / sampling reach the analysing subscriptions', () => {
  it('the defaults: realtime, the schema bounds, nothing sampled', async () => {
    const s = await replay('defaults', {});
    expect([s.face.qos, s.face.queueCapacity]).toEqual(['realtime', 2]);
    expect([s.vad.qos, s.vad.queueCapacity]).toEqual(['realtime', 64]);
    expect([s.motion.qos, s.motion.queueCapacity]).toEqual(['realtime', 256]);
    // The face stage keeps the latest frame of each camera (aggregate by topic): with one camera
    // its queue never holds two frames, so a newer frame is never a queue_full drop.
    expect(s.face.dropped.queue_full).toBe(0);
    for (const x of [s.face, s.vad, s.motion]) {
      expect(x.published).toBeGreaterThan(10);
      expect(x.dropped.sampled).toBe(0);
    }
  });

  it('every knob changed: the class, the bound, and the sampling counted as `sampled`', async () => {
    const s = await replay('changed', {
      camera: { qos: 'background', queue_capacity: 5, sampling: { every_nth: 4 } },
      mic: { qos: 'background', queue_capacity: 48 },
      imu: { qos: 'background', queue_capacity: 9, sampling: { every_nth: 3 } },
    });
    expect([s.face.qos, s.face.queueCapacity]).toEqual(['background', 5]);
    expect([s.vad.qos, s.vad.queueCapacity]).toEqual(['background', 48]);
    expect([s.motion.qos, s.motion.queueCapacity]).toEqual(['background', 9]);
    // Every 4th frame and every 3rd window is admitted; the rest is thinned before the queue.
    expect(s.face.published).toBeGreaterThan(10);
    expect(s.face.dropped.sampled).toBeGreaterThanOrEqual(Math.floor((s.face.published * 3) / 4));
    expect(s.face.dropped.sampled).toBeLessThanOrEqual(Math.ceil((s.face.published * 3) / 4));
    expect(s.motion.published).toBeGreaterThan(10);
    expect(s.motion.dropped.sampled).toBeGreaterThanOrEqual(Math.floor((s.motion.published * 2) / 3));
    expect(s.motion.dropped.sampled).toBeLessThanOrEqual(Math.ceil((s.motion.published * 2) / 3));
    expect(s.vad.dropped.sampled).toBe(0);
  });
});
