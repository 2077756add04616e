import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KeepLatestSampler } from '../../daemon/sensors/camera/frame-sampler.js';
import {
  cameraCommand,
  cameraFallbackCommand,
  diagnoseCameraFailure,
} from '../../daemon/sensors/camera/presets.js';
import { diagnoseMicFailure } from '../../daemon/sensors/mic/mic.js';
import { backoffDelayMs } from '../../daemon/sensors/supervisor.js';
import { VirtualClock } from '../../daemon/util/virtual-clock.js';

describe('backoffDelayMs', () => {
  it('doubles from initialMs, never exceeds maxMs, and jitters within the ratio', () => {
    const mid = () => 0.5; // no jitter
    const b = { initialMs: 100, maxMs: 1000 };
    expect([0, 1, 2, 3, 4, 10, 30].map((a) => backoffDelayMs(a, b, mid))).toEqual([
      100, 200, 400, 800, 1000, 1000, 1000,
    ]);
    fc.assert(
      fc.property(fc.nat(40), fc.double({ min: 0, max: 0.999, noNaN: true }), (attempt, r) => {
        const d = backoffDelayMs(attempt, b, () => r);
        const base = Math.min(1000, 100 * 2 ** attempt);
        expect(d).toBeLessThanOrEqual(1000);
        expect(d).toBeGreaterThanOrEqual(Math.floor(base * 0.8));
        expect(d).toBeLessThanOrEqual(Math.ceil(base * 1.2));
      }),
    );
  });
});

describe('KeepLatestSampler', () => {
  it('emits at most one item per interval, always the newest, and counts what it replaced', async () => {
    const clock = new VirtualClock(0);
    const out: Array<[number, number]> = [];
    const s = new KeepLatestSampler<number>({
      minIntervalMs: 200,
      clock,
      emit: (x) => out.push([clock.now(), x]),
    });
    // A 30 fps producer for one second.
    for (let i = 0; i < 30; i++) {
      await clock.advanceTo(Math.round((i * 1000) / 30));
      s.offer(i);
    }
    await clock.advanceTo(2000);
    expect(out.map(([t]) => t)).toEqual([0, 200, 400, 600, 800, 1000]);
    // Each emitted item is the newest one offered at or before its slot.
    expect(out.map(([, x]) => x)).toEqual([0, 5, 11, 17, 23, 29]);
    expect(s.emitted + s.dropped).toBe(30);
  });

  it('passes everything through when uncapped', () => {
    const clock = new VirtualClock(0);
    const out: number[] = [];
    const s = new KeepLatestSampler<number>({ minIntervalMs: 0, clock, emit: (x) => out.push(x) });
    for (let i = 0; i < 5; i++) s.offer(i);
    expect(out).toEqual([0, 1, 2, 3, 4]);
    expect(s.dropped).toBe(0);
  });
});

describe('camera presets', () => {
  it('builds argv with one element per argument (no shell), MJPEG to stdout', () => {
    const v4l2 = cameraCommand({ kind: 'v4l2', device: '/dev/video2', width: 640, height: 480, fps: 15 });
    expect(v4l2.join(' ')).toContain(
      '-f v4l2 -input_format mjpeg -video_size 640x480 -framerate 15 -i /dev/video2 -c:v copy -f mjpeg -',
    );
    const fallback = cameraFallbackCommand({
      kind: 'v4l2',
      device: '/dev/video2',
      width: 640,
      height: 480,
      fps: 15,
    });
    expect(fallback?.join(' ')).toContain('-i /dev/video2 -c:v mjpeg -q:v 5 -f mjpeg -');
    expect(fallback).not.toContain('-input_format');
    expect(cameraCommand({ kind: 'rpicam', width: 1280, height: 720, fps: 30 })).toEqual([
      'rpicam-vid',
      '-t',
      '0',
      '-n',
      '--codec',
      'mjpeg',
      '--width',
      '1280',
      '--height',
      '720',
      '--framerate',
      '30',
      '-o',
      '-',
    ]);
    const jetson = cameraCommand({ kind: 'jetson', width: 1920, height: 1080, fps: 30 });
    expect(jetson).toContain('video/x-raw(memory:NVMM),width=1920,height=1080,framerate=30/1');
    expect(jetson.slice(-3)).toEqual(['!', 'fdsink', 'fd=1']);
    expect(cameraCommand({ kind: 'testsrc', width: 320, height: 240, fps: 15 })).toContain(
      'testsrc=size=320x240:rate=15',
    );
    expect(cameraCommand({ kind: 'custom', command: ['my-cam', '--mjpeg'] })).toEqual(['my-cam', '--mjpeg']);
  });

  it('names a missing device from the capture program stderr', () => {
    expect(
      diagnoseCameraFailure([
        '[video4linux2,v4l2 @ 0x5] Cannot open video device /dev/video9: No such file or directory',
      ]),
    ).toMatch(/camera device \/dev\/video9 not found/);
    expect(diagnoseCameraFailure(['ERROR: *** no cameras available ***'])).toMatch(/no camera detected/);
    // The Argus client behind nvarguscamerasrc, when the service's private /tmp hides the socket.
    expect(
      diagnoseCameraFailure([
        '(Argus) Error FileOperationFailed: Connecting to nvargus-daemon failed: No such file or directory (in src/rpc/socket/client/SocketClientDispatch.cpp, function openSocketConnection(), line 204)',
      ]),
    ).toMatch(/^nvargus-daemon not reachable at \/tmp\/argus_socket .*jetson-camera\.conf/);
    expect(diagnoseCameraFailure(['Conversion failed!'])).toBeUndefined();
    expect(diagnoseMicFailure(['arecord: main:850: audio open error: No such file or directory'])).toMatch(
      /microphone not available/,
    );
    expect(diagnoseMicFailure(['sox WARN alsa: underrun'])).toBeUndefined();
  });
});
