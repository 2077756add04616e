import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Bus } from '../../daemon/bus/bus.js';
import type { AudioFrame, SensorStatus } from '../../daemon/bus/topics.js';
import { silentLogger } from '../../daemon/log.js';
import { MicSource, type MicSourceOptions } from '../../daemon/sensors/mic/mic.js';
import { type Clock, SystemClock } from '../../daemon/util/clock.js';
import { VirtualClock } from '../../daemon/util/virtual-clock.js';
import { needs, REPO_ROOT } from '../helpers/tools.js';
import { until } from '../helpers/wait.js';

const PACED = join(REPO_ROOT, 'test/helpers/paced-wav.sh');
let dir = '';
let wav = '';
/** The WAV's samples, decoded independently of the source (sox to raw s16le). */
let pcm: Int16Array = new Int16Array(0);

const live: MicSource[] = [];
afterEach(async () => {
  await Promise.all(live.splice(0).map((m) => m.stop()));
});

interface Rig {
  readonly mic: MicSource;
  readonly frames: AudioFrame[];
  readonly statuses: SensorStatus[];
}

function rig(
  options: Pick<MicSourceOptions, 'recorder'> & Partial<MicSourceOptions>,
  clock: Clock = new SystemClock(),
): Rig {
  const logger = silentLogger();
  const bus = new Bus({ clock, logger });
  const frames: AudioFrame[] = [];
  const statuses: SensorStatus[] = [];
  const sub = { component: 'test', qos: 'realtime', queueCapacity: 512 } as const;
  bus.subscribe('sensor/mic/+/frame', (env) => void frames.push(env.payload as AudioFrame), sub);
  bus.subscribe('sensor/mic/+/status', (env) => void statuses.push(env.payload as SensorStatus), sub);
  const mic = new MicSource({
    id: 'mic0',
    clock,
    logger,
    bus,
    backoff: { initialMs: 100, maxMs: 400 },
    ...options,
  });
  live.push(mic);
  return { mic, frames, statuses };
}

function samplesOf(frames: readonly AudioFrame[]): number[] {
  return frames.flatMap((f) => Array.from(f.samples));
}

describe.runIf(needs({ tools: ['sox', 'ffmpeg'] }))('mic source (real recorder processes)', () => {
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'edgeloom-mic-'));
    wav = join(dir, 'sweep.wav');
    // A 1 s sweep: every frame differs, so a frame shifted by a byte or a sample cannot match.
    const made = spawnSync('sox', [
      '-n',
      '-r',
      '16000',
      '-c',
      '1',
      '-b',
      '16',
      wav,
      'synth',
      '1',
      'sine',
      '300-3000',
    ]);
    expect(made.status).toBe(0);
    const raw = spawnSync('sox', [wav, '-t', 'raw', '-e', 'signed', '-b', '16', '-L', '-']).stdout as Buffer;
    pcm = new Int16Array(raw.length / 2);
    for (let i = 0; i < pcm.length; i++) pcm[i] = raw.readInt16LE(i * 2);
    expect(pcm.length).toBe(16_000);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('publishes exact 512-sample frames equal to the recording, 32 ms apart, and restarts when it ends', async () => {
    const { mic, frames, statuses } = rig({ recorder: { kind: 'custom', command: [PACED, wav] } });
    await mic.start(new AbortController().signal);
    const perRun = Math.floor(pcm.length / 512); // 31; the last 128 samples never fill a frame
    await until('the whole first run and a second run', () => frames.length >= perRun + 3);
    for (const f of frames) {
      expect(f.samples.length).toBe(512);
      expect(f.sampleRateHz).toBe(16_000);
    }
    const first = frames.slice(0, perRun);
    expect(samplesOf(first)).toEqual(Array.from(pcm.subarray(0, perRun * 512)));
    for (let i = 1; i < first.length; i++) expect(first[i]!.tsMs - first[i - 1]!.tsMs).toBe(32);
    // The first frame's time is its first sample's, so it lies before the first frame was seen.
    expect(first[0]!.tsMs).toBeLessThanOrEqual(Date.now());
    // The recorder exited at end of file: restarted, the partial frame dropped, the next run starts over.
    expect(statuses.some((s) => s.state === 'restarting' && /exited with code 0/.test(s.reason ?? ''))).toBe(
      true,
    );
    expect(mic.stats().droppedSamples).toBe(pcm.length - perRun * 512);
    expect(samplesOf(frames.slice(perRun, perRun + 2))).toEqual(Array.from(pcm.subarray(0, 1024)));
    expect(frames.map((f) => f.seq)).toEqual(frames.map((_, i) => i));
  });

  // Fake recorders first on PATH: each checks the argv (and AUDIODEV) the mic gives its program,
  // then plays the WAV; a wrong flag exits 2 and no frame arrives. The flags are the programs'
  // own (arecord(1), sox(1)); the real binaries are not used because they would need a sound card.
  const RECORDER_CASES = [
    { kind: 'arecord', argv: '-D hw:9 -q -r 16000 -c 1 -t raw -f S16_LE -', audiodev: '' },
    {
      kind: 'sox',
      argv: '--default-device --no-show-progress --rate 16000 --channels 1 --encoding signed-integer --bits 16 --type raw -',
      audiodev: 'hw:9',
    },
    { kind: 'rec', argv: '-q -r 16000 -c 1 -e signed-integer -b 16 -t raw -', audiodev: 'hw:9' },
  ] as const;
  for (const c of RECORDER_CASES) {
    it(`starts ${c.kind} with the flags for raw s16le mono and its device`, async () => {
      const bin = join(dir, `bin-${c.kind}`);
      spawnSync('mkdir', ['-p', bin]);
      const fake = join(bin, c.kind);
      writeFileSync(
        fake,
        `#!/bin/sh\n[ "$*" = "${c.argv}" ] || { echo "bad args: $*" >&2; exit 2; }\n` +
          `[ "\${AUDIODEV:-}" = "${c.audiodev}" ] || { echo "bad AUDIODEV: \${AUDIODEV:-}" >&2; exit 2; }\n` +
          `exec ${PACED} ${wav}\n`,
      );
      chmodSync(fake, 0o755);
      const savedPath = process.env.PATH;
      process.env.PATH = `${bin}:${savedPath}`;
      try {
        const { mic, frames, statuses } = rig({ recorder: { kind: c.kind, device: 'hw:9' } });
        await mic.start(new AbortController().signal);
        await until('frames', () => frames.length >= 4 || statuses.some((s) => s.state === 'restarting'));
        expect(statuses.find((s) => s.state === 'restarting')?.reason).toBeUndefined();
        expect(samplesOf(frames.slice(0, 4))).toEqual(Array.from(pcm.subarray(0, 4 * 512)));
        expect(mic.health()).toEqual({ status: 'ok' });
      } finally {
        process.env.PATH = savedPath;
      }
    });
  }

  it('reports a missing recorder binary as failed, naming it, without throwing', async () => {
    const { mic, statuses } = rig({ recorder: { kind: 'custom', command: ['edgeloom-no-such-recorder'] } });
    await mic.start(new AbortController().signal);
    await until('failed status', () => statuses.some((s) => s.state === 'failed'));
    expect(statuses.find((s) => s.state === 'failed')!.reason).toMatch(/edgeloom-no-such-recorder not found/);
    expect(mic.health().status).toBe('failed');
  });

  it('reports a missing arecord the same way, and never retries it', async () => {
    // PATH without arecord, whatever this machine has installed (the test runs everywhere).
    const empty = join(dir, 'empty-path');
    spawnSync('mkdir', ['-p', empty]);
    const savedPath = process.env.PATH;
    process.env.PATH = empty;
    // The backoff runs on a virtual clock: time moves only when the test says so.
    const clock = new VirtualClock(0);
    try {
      const { mic, statuses } = rig({ recorder: { kind: 'arecord' } }, clock);
      await mic.start(new AbortController().signal);
      await until('failed status', () => statuses.some((s) => s.state === 'failed'));
      expect(statuses.find((s) => s.state === 'failed')!.reason).toMatch(/^arecord not found/);
      // Ten times the longest backoff later, nothing was retried: a binary does not appear by itself.
      await clock.advanceTo(clock.now() + 10 * 400);
      expect(mic.stats().restarts).toBe(0);
      expect(statuses.map((s) => s.state)).toEqual(['starting', 'failed']);
    } finally {
      process.env.PATH = savedPath;
    }
  });
});
