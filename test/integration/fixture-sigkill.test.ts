/**
 * A recorder killed with SIGKILL mid-write leaves a fixture the reader opens: every sensor
 * readable up to its last whole record, the unpatched WAV header repaired from the file length.
 * Runs the compiled writer (dist/) in a child process, as `edgeloom record` would.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openFixture } from '../../daemon/recording/reader.js';
import { REPO_ROOT } from '../helpers/tools.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'edgeloom-fxkill-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Writes all three sensors as fast as it can and prints READY once some records are down. */
const CHILD = `
const { FixtureWriter } = await import(${JSON.stringify(`${REPO_ROOT}dist/daemon/recording/writer.js`)});
const sharp = (await import('sharp')).default;
const jpeg = await sharp({ create: { width: 320, height: 240, channels: 3, background: '#336699' } }).jpeg().toBuffer();
const w = await FixtureWriter.create(process.argv[1], { sensors: ['camera', 'mic', 'imu'], startTime: new Date(0) });
const audio = Int16Array.from({ length: 512 }, (_, i) => i);
for (let i = 0; ; i++) {
  const t = i * 32;
  await Promise.all([
    w.writeFrame(t, jpeg),
    w.writeAudio(t, audio),
    w.writeImu({ tMs: t, ax: 0, ay: 0, az: 1, gx: i, gy: 0, gz: 0 }),
  ]);
  if (i === 50) {
    await w.flush();
    process.stdout.write('READY\\n');
  }
}
`;

describe('FixtureWriter killed with SIGKILL', () => {
  it.each([0, 7, 23])('leaves a readable fixture (kill %i ms after ready)', async (delayMs) => {
    const dir = join(root, `k${delayMs}`);
    const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD, dir], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve, reject) => {
      child.on('error', reject);
      child.on('exit', (code) => reject(new Error(`writer exited early (${code})`)));
      child.stdout.on('data', (d: Buffer) => {
        if (d.toString().includes('READY')) resolve();
      });
    });
    await new Promise((r) => setTimeout(r, delayMs));
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGKILL');
    await exited;

    const fx = await openFixture(dir, { strict: true });
    expect(fx.cameraFrameCount).toBeGreaterThan(50);
    expect(fx.imuSampleCount).toBeGreaterThan(50);
    expect(fx.micSampleCount).toBeGreaterThan(50 * 512);
    expect(fx.counters.micHeaderRepaired).toBe(1); // close() never ran
    let frames = 0;
    for await (const f of fx.cameraFrames()) {
      expect([f.tMs, f.width, f.height]).toEqual([frames * 32, 320, 240]);
      frames++;
    }
    let imu = 0;
    for await (const s of fx.imuSamples()) expect(s.gx).toBe(imu++);
    let sample = 0;
    for await (const a of fx.micFrames(512, { lastFrame: 'short' })) {
      for (const v of a.samples) expect(v).toBe(sample++ % 512);
    }
    expect(sample).toBe(fx.micSampleCount);
  });
});
