/**
 * `/api/camera/<id>/stream.mjpg`: the camera's frames as an MJPEG stream, read by a real consumer
 * (ffmpeg's mpjpeg demuxer, as VLC or Home Assistant's MJPEG camera would read it). The frames
 * arrive byte for byte; only with the token; at most `maxStreams` at once; ended on stop.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CameraFrame } from '../../daemon/bus/topics.js';
import { CameraView } from '../../daemon/observe/http/camera-view.js';
import { type PageRig, pageBus, startPageRig } from '../helpers/page-rig.js';
import { needs } from '../helpers/tools.js';

const TOKEN = 'camera-stream-test-token';

async function jpegOf(r: number, g: number, b: number): Promise<Buffer> {
  return sharp({ create: { width: 160, height: 120, channels: 3, background: { r, g, b } } })
    .jpeg({ quality: 90 })
    .toBuffer();
}

/** Status code of a GET, and the response left open (destroyed by the caller). */
function open(url: string): Promise<{ status: number; close: () => void }> {
  return new Promise((resolve, reject) => {
    const req = request(url, (res) => resolve({ status: res.statusCode ?? 0, close: () => req.destroy() }));
    req.on('error', reject);
    req.end();
  });
}

describe.runIf(needs({ tools: ['ffmpeg', 'chromium'] }))('camera MJPEG stream', () => {
  const bus = pageBus();
  const cameras = new CameraView({ bus, maxStreams: 2 });
  let rig: PageRig;
  const frames: Buffer[] = [];
  let seq = 0;
  let pump: NodeJS.Timeout | undefined;

  beforeAll(async () => {
    rig = await startPageRig(bus, { parts: [cameras], server: { token: TOKEN, cameras } });
    frames.push(await jpegOf(200, 30, 30), await jpegOf(30, 200, 30), await jpegOf(30, 30, 200));
    // The camera: 10 frames a second cycling over three colours, for as long as the test runs.
    pump = setInterval(() => {
      const frame: CameraFrame = { seq, tsMs: Date.now(), width: 160, height: 120, jpeg: frames[seq % 3]! };
      seq++;
      bus.publish('sensor/camera/cam0/frame', frame);
    }, 100);
  });
  afterAll(async () => {
    clearInterval(pump);
    await rig?.close();
  });

  it('ffmpeg reads the frames byte for byte, with the token only; the stream count is bounded', async () => {
    const base = `${rig.server.url()}/api/camera/cam0/stream.mjpg`;
    expect((await open(base)).status).toBe(401);

    const dir = mkdtempSync(join(tmpdir(), 'edgeloom-mjpeg-'));
    try {
      // Copy, not re-encode: the JPEGs ffmpeg writes are the parts exactly as the server sent them.
      const ff = spawn(
        'ffmpeg',
        [
          '-v',
          'error',
          '-f',
          'mpjpeg',
          '-i',
          `${base}?token=${TOKEN}`,
          '-frames:v',
          '6',
          '-c',
          'copy',
          join(dir, 'f%02d.jpg'),
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      let stderr = '';
      ff.stderr.on('data', (d: Buffer) => {
        stderr += d.toString();
      });
      const code = await new Promise<number | null>((resolve) => ff.on('close', resolve));
      expect(code, stderr).toBe(0);
      const got = readdirSync(dir)
        .sort()
        .map((f) => readFileSync(join(dir, f)));
      expect(got).toHaveLength(6);
      for (const jpeg of got) expect(frames.some((f) => f.equals(jpeg))).toBe(true);
      // Consecutive frames, in camera order: each part follows the one before in the cycle.
      const order = got.map((jpeg) => frames.findIndex((f) => f.equals(jpeg)));
      for (let i = 1; i < order.length; i++) expect(order[i]).toBe((order[i - 1]! + 1) % 3);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }

    // Two streams at most (maxStreams): a third is refused, and a slot frees when one closes.
    const a = await open(`${base}?token=${TOKEN}`);
    const b = await open(`${base}?token=${TOKEN}`);
    expect([a.status, b.status]).toEqual([200, 200]);
    await expect.poll(() => cameras.stats().streams).toBe(2);
    expect((await open(`${base}?token=${TOKEN}`)).status).toBe(503);
    a.close();
    await expect.poll(() => cameras.stats().streams).toBe(1);
    const c = await open(`${base}?token=${TOKEN}`);
    expect(c.status).toBe(200);
    b.close();
    c.close();
    await expect.poll(() => cameras.stats().streams).toBe(0);
    expect(cameras.stats().streamed).toBeGreaterThanOrEqual(6);
    // An id that is not a camera id is refused before anything is written.
    expect((await open(`${rig.server.url()}/api/camera/..%2Fx/stream.mjpg?token=${TOKEN}`)).status).toBe(503);
  });
});
