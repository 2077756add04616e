/**
 * Interrupted recordings and corrupt fixtures: everything up to the last whole record stays
 * readable, damage is counted and named, and nothing ever crashes the reader.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EdgeloomError } from '../../daemon/errors.js';
import { openFixture } from '../../daemon/recording/reader.js';
import { FixtureWriter } from '../../daemon/recording/writer.js';

const FILES = ['fixture.json', 'camera.mjpeg', 'camera.index.jsonl', 'mic.wav', 'imu.jsonl'] as const;
type Files = Record<(typeof FILES)[number], Buffer>;

let root: string;
let original: Files;

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

/** Make `dir` hold exactly `files` (reusing the directory keeps thousands of fuzz cases fast). */
async function writeFiles(dir: string, files: Partial<Files>): Promise<void> {
  await mkdir(dir, { recursive: true });
  await Promise.all(
    FILES.map((name) => {
      const data = files[name];
      return data === undefined ? rm(join(dir, name), { force: true }) : writeFile(join(dir, name), data);
    }),
  );
}

/** Byte offsets just after each '\n' (the end of each whole line, newline included). */
function lineEnds(buf: Buffer): number[] {
  const out: number[] = [];
  for (let i = buf.indexOf(10); i >= 0; i = buf.indexOf(10, i + 1)) out.push(i + 1);
  return out;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'edgeloom-fxd-'));
  const src = join(root, 'src');
  const w = await FixtureWriter.create(src, {
    sensors: ['camera', 'mic', 'imu'],
    startTime: new Date(0),
    description: 'd',
  });
  for (let i = 0; i < 6; i++) {
    const jpeg = await sharp({
      create: { width: 16 + i, height: 8, channels: 3, background: { r: i * 40, g: 0, b: 0 } },
    })
      .jpeg({ quality: 50 })
      .toBuffer();
    await w.writeFrame(i * 100, jpeg);
  }
  await w.writeAudio(
    0,
    Int16Array.from({ length: 3000 }, (_, i) => (i * 37) % 2000),
  );
  for (let i = 0; i < 30; i++)
    await w.writeImu({ tMs: i * 20, ax: i / 10, ay: 0.5, az: 1, gx: 1, gy: 2, gz: 3 });
  await w.close();
  original = Object.fromEntries(
    await Promise.all(FILES.map(async (f) => [f, await readFile(join(src, f))])),
  ) as Files;
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('interrupted recordings: readable up to the last whole record', () => {
  it('camera.mjpeg cut anywhere: entries past the end are dropped, counted and warned', async () => {
    const index = original['camera.index.jsonl']
      .toString()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { offset: number; length: number });
    const dir = join(root, 'cut-mjpeg');
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: original['camera.mjpeg'].length }), async (cut) => {
        await writeFiles(dir, { ...original, 'camera.mjpeg': original['camera.mjpeg'].subarray(0, cut) });
        const fx = await openFixture(dir);
        const whole = index.filter((e) => e.offset + e.length <= cut).length;
        expect(fx.cameraFrameCount).toBe(whole);
        expect(fx.counters.camera.past_end).toBe(index.length - whole);
        expect((await collect(fx.cameraFrames())).length).toBe(whole);
        if (whole < index.length) expect(fx.warnings.join('\n')).toMatch(/past the end of camera\.mjpeg/);
      }),
      { numRuns: 40 },
    );
  });

  it.each(['camera.index.jsonl', 'imu.jsonl'] as const)(
    '%s cut anywhere: whole lines survive, a cut line is dropped',
    async (file) => {
      const ends = lineEnds(original[file]);
      const dir = join(root, `cut-${file}`);
      await fc.assert(
        fc.asyncProperty(fc.integer({ min: 0, max: original[file].length }), async (cut) => {
          await writeFiles(dir, { ...original, [file]: original[file].subarray(0, cut) });
          const fx = await openFixture(dir, { strict: true });
          // A line whose JSON is complete but lost only its newline still counts.
          const whole = ends.filter((e) => e - 1 <= cut).length;
          const got = file === 'imu.jsonl' ? fx.imuSampleCount : fx.cameraFrameCount;
          expect(got).toBe(whole);
          const counters = file === 'imu.jsonl' ? fx.counters.imu : fx.counters.camera;
          const partial = cut > 0 && !ends.includes(cut) && !ends.includes(cut + 1);
          expect(counters.truncated_line).toBe(partial ? 1 : 0);
          expect(counters.bad_line).toBe(0);
        }),
        { numRuns: 60 },
      );
    },
  );

  it('mic.wav cut anywhere after the header: whole samples only, header repaired', async () => {
    const dir = join(root, 'cut-wav');
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 44, max: original['mic.wav'].length }),
        fc.boolean(),
        async (cut, unpatched) => {
          const wav = Buffer.from(original['mic.wav'].subarray(0, cut));
          // A writer killed before close() never patched the sizes.
          if (unpatched) {
            wav.writeUInt32LE(0xffffffff, 4);
            wav.writeUInt32LE(0xffffffff, 40);
          }
          await writeFiles(dir, { ...original, 'mic.wav': wav });
          const fx = await openFixture(dir);
          const samples = Math.floor((cut - 44) / 2);
          expect(fx.micSampleCount).toBe(samples);
          const frames = await collect(fx.micFrames(512, { lastFrame: 'short' }));
          const all = frames.flatMap((f) => Array.from(f.samples));
          expect(all).toEqual(Array.from({ length: samples }, (_, i) => (i * 37) % 2000));
          expect(fx.counters.micHeaderRepaired).toBe(
            cut === original['mic.wav'].length && !unpatched ? 0 : 1,
          );
        },
      ),
      { numRuns: 40 },
    );
  });

  it('a WAV header whose sizes are zero uses the real file length', async () => {
    const wav = Buffer.from(original['mic.wav']);
    wav.writeUInt32LE(0, 4);
    wav.writeUInt32LE(0, 40);
    const dir = join(root, 'zero-wav');
    await writeFiles(dir, { ...original, 'mic.wav': wav });
    const fx = await openFixture(dir);
    expect(fx.micSampleCount).toBe(3000);
    expect(fx.warnings.join()).toMatch(/mic\.wav: data size in header is 0/);
  });
});

describe('corrupt content: skipped with a counter, or an error naming the file', () => {
  it('bad JSON in the middle of imu.jsonl is skipped and counted; strict mode names file:line', async () => {
    const lines = original['imu.jsonl'].toString().split('\n');
    lines[4] = '{"t_ms": 80, "ax": oops';
    const dir = join(root, 'bad-imu');
    await writeFiles(dir, { ...original, 'imu.jsonl': Buffer.from(lines.join('\n')) });
    const fx = await openFixture(dir);
    expect(fx.counters.imu.bad_line).toBe(1);
    expect(fx.imuSampleCount).toBe(29);
    expect((await collect(fx.imuSamples())).map((s) => s.tMs)).not.toContain(80);
    await expect(openFixture(dir, { strict: true })).rejects.toThrow(/imu\.jsonl:5: not valid JSON/);
  });

  it('non-monotonic t_ms is skipped and counted, so streams stay in time order', async () => {
    const lines = original['imu.jsonl'].toString().split('\n');
    lines[10] = JSON.stringify({ t_ms: 5, ax: 0, ay: 0, az: 1, gx: 0, gy: 0, gz: 0 });
    const dir = join(root, 'order-imu');
    await writeFiles(dir, { ...original, 'imu.jsonl': Buffer.from(lines.join('\n')) });
    const fx = await openFixture(dir);
    expect(fx.counters.imu.non_monotonic).toBe(1);
    const t = (await collect(fx.imuSamples())).map((s) => s.tMs);
    expect(t).toEqual([...t].sort((a, b) => a - b));
    expect(t).not.toContain(5);
  });

  it('an index entry not pointing at FFD8 is skipped and counted', async () => {
    const mjpeg = Buffer.from(original['camera.mjpeg']);
    const second = JSON.parse(original['camera.index.jsonl'].toString().split('\n')[1]!) as {
      offset: number;
    };
    mjpeg[second.offset] = 0x00;
    const dir = join(root, 'not-jpeg');
    await writeFiles(dir, { ...original, 'camera.mjpeg': mjpeg });
    const fx = await openFixture(dir);
    expect(fx.counters.camera.not_jpeg).toBe(1);
    expect((await collect(fx.cameraFrames())).map((f) => f.tMs)).toEqual([0, 200, 300, 400, 500]);
    await expect(openFixture(dir, { strict: true })).rejects.toMatchObject({ code: 'E_FIXTURE_CORRUPT' });
  });

  it.each([
    [{ format: 'other' }, 'format'],
    [{ version: 2 }, 'version'],
    [{ sensors: ['camera', 'lidar'] }, 'sensors'],
    [{ start_time: 'yesterday' }, 'start_time'],
    [{ mic: { start_t_ms: 'x' } }, 'mic.start_t_ms'],
    [{ truth: { speech: [{ start_ms: 0, end_ms: 1 }] } }, 'truth.speech[0].text'],
  ])('fixture.json %j → E_FIXTURE_MANIFEST naming field %s', async (patch, field) => {
    const manifest = { ...JSON.parse(original['fixture.json'].toString()), ...patch };
    const dir = join(root, 'manifest');
    await writeFiles(dir, { ...original, 'fixture.json': Buffer.from(JSON.stringify(manifest)) });
    const err = await openFixture(dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EdgeloomError);
    expect((err as EdgeloomError).code).toBe('E_FIXTURE_MANIFEST');
    expect((err as EdgeloomError).message).toContain('fixture.json');
    expect((err as EdgeloomError).message).toContain(`"${field}"`);
  });

  it('a sensor listed but missing its file is E_FIXTURE_MISSING naming the file', async () => {
    const { 'imu.jsonl': _gone, ...rest } = original;
    const dir = join(root, 'missing');
    await writeFiles(dir, rest);
    await expect(openFixture(dir)).rejects.toThrow(/imu\.jsonl.*not readable/);
  });
});

describe('fuzz: truncated and corrupted fixtures never crash the reader', () => {
  const mutation = fc.record({
    file: fc.constantFrom(...FILES),
    kind: fc.constantFrom('truncate', 'flip', 'insert', 'splice'),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 12 }),
  });

  function mutate(
    files: Files,
    m: { file: keyof Files; kind: string; at: number; bytes: Uint8Array },
  ): Files {
    const buf = files[m.file];
    const at = buf.length === 0 ? 0 : m.at % (buf.length + 1);
    let next: Buffer;
    if (m.kind === 'truncate') next = buf.subarray(0, at);
    else if (m.kind === 'flip') {
      next = Buffer.from(buf);
      m.bytes.forEach((b, i) => {
        if (at + i < next.length) next[at + i] = b;
      });
    } else if (m.kind === 'insert') next = Buffer.concat([buf.subarray(0, at), m.bytes, buf.subarray(at)]);
    else next = Buffer.concat([buf.subarray(0, at), Buffer.from('\n{"t_ms":-1,'), m.bytes, buf.subarray(at)]);
    return { ...files, [m.file]: next };
  }

  it('opens or fails with an EdgeloomError naming a fixture file; every stream completes', async () => {
    const dir = join(root, 'fuzz');
    let opened = 0;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(mutation, { minLength: 1, maxLength: 3 }), async (muts) => {
        const files = muts.reduce(mutate, original);
        await writeFiles(dir, files);
        let fx: Awaited<ReturnType<typeof openFixture>>;
        try {
          fx = await openFixture(dir);
        } catch (err) {
          refused += 1;
          expect(err).toBeInstanceOf(EdgeloomError);
          expect((err as EdgeloomError).message).toMatch(/fixture\.json|mic\.wav|camera\.|imu\.jsonl/);
          return;
        }
        opened += 1;
        const events = await collect(fx.events());
        const counts = { camera: 0, mic: 0, imu: 0 };
        for (const e of events) counts[e.sensor] += 1;
        // The iterators keep exactly the records the open-time scan counted.
        expect(counts.camera).toBe(fx.cameraFrameCount);
        expect(counts.imu).toBe(fx.imuSampleCount);
        for (let i = 1; i < events.length; i++)
          expect(events[i]!.tMs).toBeGreaterThanOrEqual(events[i - 1]!.tMs);
        for (const e of events)
          if (e.sensor === 'camera') expect(e.frame.jpeg.subarray(0, 2)).toEqual(Buffer.from([0xff, 0xd8]));
      }),
      { numRuns: 1000 },
    );
    // Both outcomes must actually have been exercised.
    expect(opened).toBeGreaterThan(100);
    expect(refused).toBeGreaterThan(10);
  }, 120_000);
});
