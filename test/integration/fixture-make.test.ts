/**
 * `fixture make` with real ffmpeg/sox: a 44.1 kHz stereo WAV becomes 16 kHz mono, a folder of
 * images and a video become MJPEG frames at the requested rate, IMU CSV becomes imu.jsonl.
 */
import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeFixture } from '../../daemon/recording/make.js';
import { openFixture } from '../../daemon/recording/reader.js';
import { needs } from '../helpers/tools.js';

let root: string;

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'edgeloom-fxmake-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe.runIf(needs({ tools: ['ffmpeg', 'sox'] }))('makeFixture', () => {
  it('converts a 44.1 kHz stereo WAV, a folder of images and an IMU CSV', async () => {
    // 1.5 s: 440 Hz on the left channel only, made by sox.
    const wav = join(root, 'in.wav');
    const r = spawnSync('sox', [
      '-n',
      '-r',
      '44100',
      '-c',
      '2',
      '-b',
      '16',
      wav,
      'synth',
      '1.5',
      'sine',
      '440',
      'remix',
      '1',
      '0',
    ]);
    expect(r.status).toBe(0);
    const images = join(root, 'images');
    await mkdir(images);
    // Names sort as 01, 02, 10 (not 1, 10, 2): the widths tell the order back.
    for (const [name, width] of [
      ['10.png', 30],
      ['02.jpg', 20],
      ['01.png', 10],
    ] as const) {
      const img = sharp({ create: { width, height: 8, channels: 3, background: '#808080' } });
      await (name.endsWith('.png') ? img.png() : img.jpeg()).toFile(join(images, name));
    }
    await writeFile(join(images, 'notes.txt'), 'not an image');
    const csv = join(root, 'imu.csv');
    await writeFile(csv, 't_ms, ax, ay, az, gx, gy, gz, mx\n0,0,0,1,0,0,0,12.5\n10,0.1,0,0.9,5,0,0,\n');

    const out = join(root, 'made');
    const result = await makeFixture({
      out,
      audio: wav,
      images,
      fps: 4,
      imu: csv,
      description: 'made',
      startTime: new Date(0),
    });
    expect(result).toEqual({ frames: 3, audioSamples: 24000, imuSamples: 2 });

    const fx = await openFixture(out, { strict: true });
    expect(fx.warnings).toEqual([]);
    expect(fx.sensors).toEqual(['camera', 'mic', 'imu']);
    const frames = await collect(fx.cameraFrames());
    expect(frames.map((f) => [f.tMs, f.width])).toEqual([
      [0, 10],
      [250, 20],
      [500, 30],
    ]);
    // Mono mix of a one-sided sine: ~half amplitude, and 440 Hz survives the resampling.
    const audio = await collect(fx.micFrames(16000, { lastFrame: 'drop' }));
    const second = audio[0]!.samples;
    let crossings = 0;
    for (let i = 1; i < second.length; i++) if (second[i - 1]! < 0 && second[i]! >= 0) crossings++;
    expect(crossings).toBeGreaterThanOrEqual(438);
    expect(crossings).toBeLessThanOrEqual(442);
    const peak = second.reduce((m, s) => Math.max(m, Math.abs(s)), 0);
    expect(peak).toBeGreaterThan(1000);
    const imu = await collect(fx.imuSamples());
    expect(imu).toEqual([
      { tMs: 0, ax: 0, ay: 0, az: 1, gx: 0, gy: 0, gz: 0, mx: 12.5 },
      { tMs: 10, ax: 0.1, ay: 0, az: 0.9, gx: 5, gy: 0, gz: 0 },
    ]);
  });

  it('splits a video into MJPEG frames at the requested fps', async () => {
    const video = join(root, 'in.mp4');
    const r = spawnSync('ffmpeg', [
      '-nostdin',
      '-v',
      'error',
      '-f',
      'lavfi',
      '-i',
      'testsrc=size=160x120:rate=25:duration=2',
      '-pix_fmt',
      'yuv420p',
      video,
    ]);
    expect(r.status).toBe(0);
    const out = join(root, 'video');
    const result = await makeFixture({ out, video, fps: 5, frameWidth: 64, frameHeight: 48 });
    expect(result.frames).toBe(10);
    const fx = await openFixture(out, { strict: true });
    const frames = await collect(fx.cameraFrames());
    expect(frames.map((f) => f.tMs)).toEqual([0, 200, 400, 600, 800, 1000, 1200, 1400, 1600, 1800]);
    expect(frames.every((f) => f.width === 64 && f.height === 48)).toBe(true);
    // Each frame decodes on its own (the splitter cut at the true EOI).
    for (const f of frames) expect((await sharp(f.jpeg).metadata()).width).toBe(64);
  });

  it('names the input file and line on bad IMU data, and the file when ffmpeg fails', async () => {
    const csv = join(root, 'bad.csv');
    await writeFile(csv, 't_ms,ax,ay,az,gx,gy,gz\n0,0,0,1,0,0,0\n10,0,zero,1,0,0,0\n');
    await expect(makeFixture({ out: join(root, 'bad1'), imu: csv })).rejects.toThrow(
      /bad\.csv:3: field "ay"/,
    );
    const notAudio = join(root, 'not-audio.wav');
    await writeFile(notAudio, 'hello');
    await expect(makeFixture({ out: join(root, 'bad2'), audio: notAudio })).rejects.toMatchObject({
      code: 'E_FIXTURE_MAKE',
      message: expect.stringContaining('not-audio.wav'),
    });
  });
});
