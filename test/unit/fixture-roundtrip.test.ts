import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImuSample } from '../../daemon/bus/topics.js';
import { openFixture } from '../../daemon/recording/reader.js';
import { FixtureWriter } from '../../daemon/recording/writer.js';

let root: string;
const jpegs: Buffer[] = [];

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'edgeloom-fx-'));
  for (const [w, h, r] of [
    [64, 48, 255],
    [32, 24, 0],
    [80, 60, 128],
  ] as const) {
    jpegs.push(
      await sharp({ create: { width: w, height: h, channels: 3, background: { r, g: 40, b: 90 } } })
        .jpeg()
        .toBuffer(),
    );
  }
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

function imu(tMs: number, k: number): ImuSample {
  return {
    tMs,
    ax: k * 0.01,
    ay: 0 - k * 0.02,
    az: 1 + k / 1000,
    gx: k,
    gy: 0 - k / 3,
    gz: 0.5,
    ...(k % 2 ? { mx: 20, my: -3.5, mz: 41 } : {}),
  };
}

describe('FixtureWriter → openFixture round trip', () => {
  it('reads back exactly what was written, for every sensor', async () => {
    const dir = join(root, 'rt');
    const w = await FixtureWriter.create(dir, {
      sensors: ['imu', 'mic', 'camera'],
      description: 'rt',
      startTime: new Date('2024-05-01T10:00:00Z'),
    });
    const audio = Int16Array.from({ length: 1600 }, (_, i) => Math.round(Math.sin(i / 7) * 12000) - (i % 3));
    await w.writeFrame(0, jpegs[0]!);
    await w.writeAudio(0, audio.subarray(0, 1000));
    await w.writeAudio(62.5, audio.subarray(1000));
    await w.writeFrame(40, jpegs[1]!);
    await w.writeFrame(80, jpegs[2]!);
    const samples = Array.from({ length: 25 }, (_, k) => imu(k * 4, k));
    for (const s of samples) await w.writeImu(s);
    await w.close();

    const fx = await openFixture(dir, { strict: true });
    expect(fx.warnings).toEqual([]);
    expect(fx.sensors).toEqual(['camera', 'mic', 'imu']);
    expect(fx.manifest.description).toBe('rt');
    expect(fx.startTimeMs).toBe(Date.parse('2024-05-01T10:00:00Z'));
    const frames = await collect(fx.cameraFrames());
    expect(frames.map((f) => f.tMs)).toEqual([0, 40, 80]);
    expect(frames.map((f) => [f.width, f.height])).toEqual([
      [64, 48],
      [32, 24],
      [80, 60],
    ]);
    expect(frames.map((f, i) => f.jpeg.equals(jpegs[i]!))).toEqual([true, true, true]);
    const back = await collect(fx.imuSamples());
    expect(back).toEqual(samples);
    const mic = await collect(fx.micFrames(512, { lastFrame: 'short' }));
    expect(mic.map((m) => m.tMs)).toEqual([0, 32, 64, 96]);
    const joined = new Int16Array(mic.reduce((n, m) => n + m.samples.length, 0));
    let at = 0;
    for (const m of mic) {
      joined.set(m.samples, at);
      at += m.samples.length;
    }
    expect(joined).toEqual(audio);
    expect(fx.durationMs).toBe(100); // 1600 samples at 16 kHz
    // The header was patched on close: the declared data size matches the file.
    const wav = await readFile(join(dir, 'mic.wav'));
    expect(wav.readUInt32LE(40)).toBe(wav.length - 44);
  });

  it('pads or drops the short last mic frame as asked', async () => {
    const dir = join(root, 'pad');
    const w = await FixtureWriter.create(dir, { sensors: ['mic'], startTime: new Date(0) });
    await w.writeAudio(0, new Int16Array(700).fill(7));
    await w.close();
    const fx = await openFixture(dir);
    const padded = await collect(fx.micFrames());
    expect(padded.map((f) => f.samples.length)).toEqual([512, 512]);
    expect(padded[1]!.samples[187]).toBe(7);
    expect(padded[1]!.samples[188]).toBe(0);
    expect((await collect(fx.micFrames(512, { lastFrame: 'drop' }))).length).toBe(1);
  });

  it('records mic.start_t_ms and fills audio gaps with silence on the timeline', async () => {
    const dir = join(root, 'gap');
    const w = await FixtureWriter.create(dir, { sensors: ['mic'], startTime: new Date(0) });
    await w.writeAudio(1000, new Int16Array(160).fill(1)); // 10 ms at t=1000
    await w.writeAudio(1110, new Int16Array(160).fill(2)); // 100 ms gap
    await w.close();
    expect(w.stats.audioGapSamples).toBe(1600);
    const fx = await openFixture(dir);
    expect(fx.micStartTMs).toBe(1000);
    const all = await collect(fx.micFrames(160, { lastFrame: 'short' }));
    const two = all.find((f) => f.samples[0] === 2)!;
    expect(two.tMs).toBe(1110);
  });

  it('refuses to overwrite an existing fixture and frames that are not JPEG', async () => {
    const dir = join(root, 'once');
    const w = await FixtureWriter.create(dir, { sensors: ['camera'], startTime: new Date(0) });
    await expect(w.writeFrame(0, Buffer.from('nope'))).rejects.toMatchObject({ code: 'E_FIXTURE_WRITE' });
    await expect(w.writeImu(imu(0, 0))).rejects.toMatchObject({ code: 'E_FIXTURE_WRITE' });
    await w.close();
    await expect(
      FixtureWriter.create(dir, { sensors: ['camera'], startTime: new Date(0) }),
    ).rejects.toMatchObject({
      code: 'E_FIXTURE_WRITE',
    });
  });

  it('applies backpressure: writes wait when the queue is full but all arrive in order', async () => {
    const dir = join(root, 'bp');
    const w = await FixtureWriter.create(dir, {
      sensors: ['camera'],
      startTime: new Date(0),
      maxQueuedBytes: 1,
    });
    await Promise.all(Array.from({ length: 30 }, (_, i) => w.writeFrame(i * 10, jpegs[i % 3]!)));
    await w.close();
    const fx = await openFixture(dir, { strict: true });
    const frames = await collect(fx.cameraFrames());
    expect(frames.map((f) => f.tMs)).toEqual(Array.from({ length: 30 }, (_, i) => i * 10));
    expect(frames.map((f, i) => f.jpeg.equals(jpegs[i % 3]!))).not.toContain(false);
  });

  it('reads a hand-written fixture (CRLF lines, blank lines, no trailing newline)', async () => {
    const dir = join(root, 'hand');
    await rm(dir, { recursive: true, force: true });
    await import('node:fs/promises').then((fs) => fs.mkdir(dir));
    await writeFile(
      join(dir, 'fixture.json'),
      JSON.stringify({
        format: 'edgeloom-fixture',
        version: 1,
        sensors: ['imu'],
        start_time: '2024-01-01T00:00:00Z',
        truth: { imu: [{ kind: 'fall', t_ms: 10 }] },
      }),
    );
    await writeFile(
      join(dir, 'imu.jsonl'),
      '{"t_ms":0,"ax":0,"ay":0,"az":1,"gx":0,"gy":0,"gz":0}\r\n\n{"t_ms":10,"ax":0,"ay":0,"az":1,"gx":0,"gy":0,"gz":0}',
    );
    const fx = await openFixture(dir, { strict: true });
    expect(fx.manifest.description).toBe('');
    expect(fx.manifest.truth?.imu?.[0]?.kind).toBe('fall');
    expect((await collect(fx.imuSamples())).map((s) => s.tMs)).toEqual([0, 10]);
    expect(fx.durationMs).toBe(10);
  });
});
