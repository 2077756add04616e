import { mkdir, mkdtemp, readdir, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeWav } from '../../daemon/media/wav.js';
import { openFixture } from '../../daemon/recording/reader.js';
import { until } from '../helpers/wait.js';

let root: string;

async function handWritten(dir: string, sensors: string[], micStartTMs: number): Promise<void> {
  await mkdir(dir, { recursive: true });
  const manifest = {
    format: 'edgeloom-fixture',
    version: 1,
    sensors,
    start_time: '2024-01-01T00:00:00Z',
    description: 'ties',
    mic: { start_t_ms: micStartTMs },
  };
  await writeFile(join(dir, 'fixture.json'), JSON.stringify(manifest));
  const jpeg = await sharp({ create: { width: 4, height: 2, channels: 3, background: '#123456' } })
    .jpeg()
    .toBuffer();
  await writeFile(join(dir, 'camera.mjpeg'), Buffer.concat([jpeg, jpeg, jpeg]));
  const index = [0, 32, 32].map((t, i) =>
    JSON.stringify({ t_ms: t, offset: i * jpeg.length, length: jpeg.length }),
  );
  await writeFile(join(dir, 'camera.index.jsonl'), `${index.join('\n')}\n`);
  // 3 frames of 512 samples at 16 kHz: t = start, start+32, start+64.
  await writeFile(
    join(dir, 'mic.wav'),
    encodeWav(
      Int16Array.from({ length: 1536 }, (_, i) => i),
      16000,
    ),
  );
  const imu = [0, 32, 32, 50].map((t, i) =>
    JSON.stringify({ t_ms: t, ax: i, ay: 0, az: 1, gx: 0, gy: 0, gz: 0 }),
  );
  await writeFile(join(dir, 'imu.jsonl'), `${imu.join('\n')}\n`);
}

async function order(dir: string): Promise<string[]> {
  const fx = await openFixture(dir, { strict: true });
  const out: string[] = [];
  for await (const e of fx.events()) {
    const n = e.sensor === 'imu' ? e.sample.ax : e.sensor === 'mic' ? e.audio.samples[0] : e.frame.width;
    out.push(`${e.tMs}:${e.sensor}:${n}`);
  }
  return out;
}

/** Files under `dir` this process holds open (Linux: the targets of /proc/self/fd). */
async function openFilesUnder(dir: string): Promise<string[]> {
  const open: string[] = [];
  for (const fd of await readdir('/proc/self/fd')) {
    const target = await readlink(`/proc/self/fd/${fd}`).catch(() => '');
    if (target.startsWith(`${dir}/`)) open.push(target);
  }
  return open.sort();
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'edgeloom-fxm-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('merged events()', () => {
  it('orders by t_ms, then camera, mic, imu, then file order', async () => {
    const dir = join(root, 'a');
    await handWritten(dir, ['camera', 'mic', 'imu'], 0);
    expect(await order(dir)).toEqual([
      '0:camera:4',
      '0:mic:0',
      '0:imu:0',
      '32:camera:4',
      '32:camera:4',
      '32:mic:512',
      '32:imu:1',
      '32:imu:2',
      '50:imu:3',
      '64:mic:1024',
    ]);
  });

  it('is the same whatever order fixture.json lists the sensors in, and on every pass', async () => {
    const a = join(root, 'b1');
    const b = join(root, 'b2');
    await handWritten(a, ['camera', 'mic', 'imu'], 10);
    await handWritten(b, ['imu', 'mic', 'camera'], 10);
    const first = await order(a);
    expect(first).toContain('42:mic:512'); // mic.start_t_ms shifts the audio
    expect(await order(b)).toEqual(first);
    expect(await order(a)).toEqual(first);
  });

  it('skips sensors not listed in fixture.json even when their files exist', async () => {
    const dir = join(root, 'c');
    await handWritten(dir, ['imu'], 0);
    const fx = await openFixture(dir);
    expect(fx.sensors).toEqual(['imu']);
    expect(await order(dir)).toEqual(['0:imu:0', '32:imu:1', '32:imu:2', '50:imu:3']);
  });

  it('stops cleanly when the consumer breaks early: every file it opened is closed', async () => {
    const dir = join(root, 'd');
    await handWritten(dir, ['camera', 'mic', 'imu'], 0);
    const fx = await openFixture(dir);
    let openWhileReading: string[] = [];
    let n = 0;
    for await (const _ of fx.events()) {
      if (++n === 2) {
        openWhileReading = await openFilesUnder(dir);
        break;
      }
    }
    // All three sensors' files were open mid-merge (so the check below can fail)...
    expect(openWhileReading).toEqual(
      ['camera.index.jsonl', 'camera.mjpeg', 'imu.jsonl', 'mic.wav'].map((f) => join(dir, f)),
    );
    // ...and the early break closed them (a stream's close completes after its destroy).
    await until('the fixture files to close', async () => (await openFilesUnder(dir)).length === 0);
    expect((await order(dir)).length).toBe(10);
  });
});
