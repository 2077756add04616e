import { type ChildProcess, spawn } from 'node:child_process';
import {
  closeSync,
  constants,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Bus } from '../../daemon/bus/bus.js';
import type { ImuEvent } from '../../daemon/bus/topics.js';
import { silentLogger } from '../../daemon/log.js';
import { type Fixture, openFixture } from '../../daemon/recording/reader.js';
import { ReplaySource } from '../../daemon/replay/replay-source.js';
import { ImuAggregator } from '../../daemon/sensors/imu/aggregator.js';
import { VirtualClock } from '../../daemon/util/virtual-clock.js';
import { type CliResult, runCli } from '../helpers/cli-process.js';
import { needs, REPO_ROOT } from '../helpers/tools.js';
import { until } from '../helpers/wait.js';

/**
 * Record → replay round trip (README, "Replay") with real producers: ffmpeg's test source as the camera
 * (320x240 at 10 fps), a WAV played at real-time pace as the microphone, CSV lines at 100 Hz over
 * a socat pty pair as the IMU. `edgeloom record` writes a fixture; `edgeloom replay` of it must
 * yield exactly what was recorded: the same frames, the same samples, the same IMU aggregates.
 */

const EVENT_RATE_HZ = 10;
const MIC_FRAME_SAMPLES = 512;
const SOURCE_WAV = join(REPO_ROOT, 'fixtures/speech/mic.wav');

/** PCM samples of a 16-bit mono WAV (the `data` chunk). */
function wavSamples(file: string): Int16Array {
  const buf = readFileSync(file);
  let at = 12;
  while (at + 8 <= buf.length) {
    const id = buf.toString('ascii', at, at + 4);
    const size = buf.readUInt32LE(at + 4);
    if (id === 'data') {
      const bytes = buf.subarray(at + 8, Math.min(buf.length, at + 8 + size));
      const out = new Int16Array(Math.floor(bytes.length / 2));
      for (let i = 0; i < out.length; i++) out[i] = bytes.readInt16LE(i * 2);
      return out;
    }
    at += 8 + size + (size % 2);
  }
  throw new Error(`${file}: no data chunk`);
}

interface BusLine {
  t_ms: number;
  topic: string;
  payload: Record<string, unknown>;
}

describe.runIf(needs({ tools: ['ffmpeg', 'sox', 'socat'] }))('edgeloom record → replay', () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgeloom-rec-'));
  const rec = join(dir, 'rec');
  const devPath = join(dir, 'imu-dev');
  const feedPath = join(dir, 'imu-feed');
  let socat: ChildProcess | undefined;
  let record: CliResult;
  let replay: CliResult;
  let fixture: Fixture;
  /** IMU lines the test wrote, as numbers. */
  let imuWritten = 0;

  beforeAll(async () => {
    socat = spawn(
      'socat',
      ['-d', '-d', `pty,raw,echo=0,link=${devPath}`, `pty,raw,echo=0,link=${feedPath}`],
      {
        stdio: 'ignore',
      },
    );
    await until('socat to create the pty links', () => existsSync(devPath) && existsSync(feedPath));
    const cfg = join(dir, 'record.yaml');
    writeFileSync(
      cfg,
      [
        'device:',
        '  id: record-test',
        'log:',
        '  level: info',
        'source:',
        '  mode: live',
        'sensors:',
        '  camera:',
        '    preset: testsrc',
        '    width: 320',
        '    height: 240',
        '    fps: 10',
        '    max_fps: 10',
        '  mic:',
        '    recorder: custom',
        `    command: [sh, ${JSON.stringify(join(REPO_ROOT, 'test/helpers/paced-wav.sh'))}, ${JSON.stringify(SOURCE_WAV)}]`,
        `    frame_samples: ${MIC_FRAME_SAMPLES}`,
        '  imu:',
        `    path: ${JSON.stringify(devPath)}`,
        '    format: csv',
        '    raw_rate_hz: 100',
        `    event_rate_hz: ${EVENT_RATE_HZ}`,
        'mqtt:',
        '  embedded:',
        '    port: 0',
        'http:',
        '  enabled: false',
        'storage:',
        `  dir: ${JSON.stringify(join(dir, 'state'))}`,
        '',
      ].join('\n'),
    );

    // The microcontroller: 100 Hz CSV (ax,ay,az,gx,gy,gz), a slow wobble so windows differ.
    const fd = openSync(feedPath, constants.O_WRONLY | constants.O_NOCTTY);
    const feeder = setInterval(() => {
      let s = '';
      for (let k = 0; k < 2; k++) {
        const i = imuWritten++;
        const ax = (Math.sin(i / 15) * 0.5).toFixed(4);
        const gz = (Math.cos(i / 7) * 40).toFixed(2);
        s += `${ax},0.0100,1.0000,0.50,-0.25,${gz}\n`;
      }
      writeSync(fd, s);
    }, 20);
    try {
      record = await runCli(['record', '--out', rec, '--duration', '3', '--config', cfg], {
        timeoutMs: 30_000,
      });
    } finally {
      clearInterval(feeder);
      closeSync(fd);
    }
    fixture = await openFixture(rec);
    replay = await runCli(['replay', rec, '--emit-bus', 'sensor/#'], { timeoutMs: 30_000 });
  }, 90_000);

  afterAll(async () => {
    if (socat !== undefined && socat.exitCode === null) {
      const exited = new Promise((r) => socat!.once('exit', r));
      socat.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('records a fixture with camera frames, audio and IMU samples', () => {
    expect(record.code, record.stderr).toBe(0);
    expect(record.stdout).toBe(''); // record logs to stderr
    expect([...fixture.sensors].sort()).toEqual(['camera', 'imu', 'mic']);
    expect(fixture.warnings).toEqual([]);
    // About 3 s of each sensor; loose bounds, the machine is shared.
    expect(fixture.cameraFrameCount).toBeGreaterThanOrEqual(10);
    expect(fixture.cameraFrameCount).toBeLessThanOrEqual(40);
    expect(fixture.micSampleCount).toBeGreaterThanOrEqual(16_000);
    expect(fixture.micSampleCount).toBeLessThanOrEqual(16_000 * 4);
    expect(fixture.imuSampleCount).toBeGreaterThanOrEqual(100);
    expect(fixture.imuSampleCount).toBeLessThanOrEqual(imuWritten);
  });

  it('the recorded audio is the microphone input, sample for sample', () => {
    const recorded = wavSamples(join(rec, 'mic.wav'));
    const source = wavSamples(SOURCE_WAV);
    expect(recorded.length).toBe(fixture.micSampleCount);
    // The recorder joined the stream from its first frame: mic.wav is a prefix of the input.
    expect(Buffer.from(recorded.buffer).equals(Buffer.from(source.buffer, 0, recorded.byteLength))).toBe(
      true,
    );
    expect(recorded.length % MIC_FRAME_SAMPLES).toBe(0); // whole frames, as the source published them
  });

  it('replay yields the recorded camera frames: same count, same JPEG sizes, in order', async () => {
    expect(replay.code, replay.stderr).toBe(0);
    const events = replay.stdout
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as BusLine);
    const frames = events.filter((e) => e.topic === 'sensor/camera/cam0/frame');
    const index = readFileSync(join(rec, 'camera.index.jsonl'), 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((l) => JSON.parse(l) as { t_ms: number; length: number });
    expect(frames.length).toBe(fixture.cameraFrameCount);
    expect(frames.length).toBe(index.length);
    frames.forEach((f, i) => {
      expect(f.payload.jpeg).toEqual({ bytes: index[i]!.length });
      expect(f.payload.width).toBe(320);
      expect(f.payload.height).toBe(240);
      expect(f.t_ms).toBe(index[i]!.t_ms);
      expect(f.payload.seq).toBe(i);
    });

    // Mic frames: the recorded samples cut into 512-sample frames.
    const mic = events.filter((e) => e.topic === 'sensor/mic/mic0/frame');
    expect(mic.length).toBe(Math.ceil(fixture.micSampleCount / MIC_FRAME_SAMPLES));
    for (const m of mic) expect(m.payload.samples).toEqual({ samples: MIC_FRAME_SAMPLES });

    // IMU: re-aggregating imu.jsonl at the configured rate gives the replayed events.
    const imu = events
      .filter((e) => e.topic === 'sensor/imu/imu0/window')
      .map((e) => e.payload as unknown as ImuEvent);
    const agg = new ImuAggregator({ eventRateHz: EVENT_RATE_HZ });
    const expected: ImuEvent[] = [];
    for await (const s of fixture.imuSamples()) {
      const ev = agg.add({ ...s, tMs: fixture.startTimeMs + s.tMs });
      if (ev !== undefined) expected.push(ev);
    }
    const last = agg.flush();
    if (last !== undefined) expected.push(last);
    expect(imu.length).toBe(expected.length);
    expect(imu.reduce((n, e) => n + e.sampleCount, 0)).toBe(fixture.imuSampleCount);
    imu.forEach((e, i) => {
      const x = expected[i]!;
      expect(e.tsMs).toBe(x.tsMs);
      expect(e.sampleCount).toBe(x.sampleCount);
      for (const axis of ['ax', 'ay', 'az', 'gx', 'gy', 'gz'] as const) {
        expect(e.mean[axis]).toBeCloseTo(x.mean[axis], 9);
      }
    });
    // And they carry what the test sent: az ≈ 1 g, gx 0.5 deg/s on every window.
    for (const e of imu) {
      expect(e.mean.az).toBeCloseTo(1, 6);
      expect(e.mean.gx).toBeCloseTo(0.5, 6);
    }
  });

  it('replayed mic frames concatenate to mic.wav exactly', async () => {
    const clock = new VirtualClock(0);
    const bus = new Bus({ clock, logger: silentLogger() });
    const chunks: Int16Array[] = [];
    bus.subscribe('sensor/mic/+/frame', (env) => void chunks.push(env.payload.samples), {
      component: 'test',
      qos: 'batched',
    });
    const source = new ReplaySource({
      fixtureDir: rec,
      speed: 0,
      loop: false,
      clock,
      bus,
      logger: silentLogger(),
      ids: { camera: 'cam0', mic: 'mic0', imu: 'imu0' },
      imuEventRateHz: EVENT_RATE_HZ,
      micFrameSamples: MIC_FRAME_SAMPLES,
      tailMs: 0,
    });
    await source.start();
    await source.done;
    await source.stop();
    await bus.drain(1000);
    const replayed = new Int16Array(chunks.reduce((n, c) => n + c.length, 0));
    let at = 0;
    for (const c of chunks) {
      replayed.set(c, at);
      at += c.length;
    }
    const recorded = wavSamples(join(rec, 'mic.wav'));
    expect(replayed.length).toBe(Math.ceil(recorded.length / MIC_FRAME_SAMPLES) * MIC_FRAME_SAMPLES);
    expect(Buffer.from(replayed.buffer, 0, recorded.byteLength).equals(Buffer.from(recorded.buffer))).toBe(
      true,
    );
    expect(replayed.subarray(recorded.length).every((v) => v === 0)).toBe(true); // padding only
  });
});
