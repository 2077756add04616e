/**
 * Camera preview cost: what a dashboard viewer adds to the daemon's CPU at 5 fps, and the two ways
 * of getting frames to it measured side by side on the same daemon in the same run.
 *
 * The daemon: `edgeloom run` with the embedded demo, camera only (mic and IMU off, so speech
 * bursts do not drown the figure), replayed in a loop at 2.5x (the demo's camera is 2 fps: 5 fps
 * here), every frame analysed by the face stage as on a device. Its CPU (utime + stime from
 * /proc/<pid>/stat) is read over alternating windows:
 * - `none`: no viewer;
 * - `fetch`: what the dashboard's camera view does (camera.js): the face inferences over
 *   server-sent events, and for each one the very frame it analysed from
 *   /api/camera/<id>/frame.jpg?seq=N (one request in flight, later inferences skipped meanwhile);
 * - `mjpeg`: the MJPEG stream /api/camera/<id>/stream.mjpg, every frame as it comes, plus the
 *   same inference events (a view drawing boxes needs them either way).
 * Each mode's figure is the median over its windows; the rounds interleave the modes so drift in
 * the machine's other load touches all three alike. Extra CPU is reported relative to `none` (the
 * target) and in % of one core.
 *
 * Several viewers at once (VIEWERS), and the extra divided by their number: one viewer's cost is
 * well under 0.1 % of a core on a daemon using ~7 % (8 together read −0.3 to +0.1 % of a core),
 * while the same 15 s of work costs ±0.8 % of a core from one window to the next on this VM
 * (BENCHMARKS.md, 2026-12-05), so a single viewer's figure passed or failed the 5 % target by
 * chance. Each viewer is its own SSE subscription and its own
 * requests, and the frames are kept whether anyone watches or not (camera-view.ts), so nothing is
 * shared that the first viewer alone would pay: the cost is linear in viewers, and the quotient is
 * one viewer's cost with the noise divided by their number.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { get, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpuSeconds, DaemonChild, httpGet, isolated, parseMetrics } from './daemon-child.js';
import type { BenchOptions, BenchTarget, Figures } from './run.js';
import { median } from './stats.js';

export const name = 'preview';

export const targets: readonly BenchTarget[] = [
  {
    figure: 'fetch_extra_cpu_pct',
    max: 5,
    why: "the dashboard's camera view at 5 fps: daemon CPU added per viewer (8 at once) vs none, in %",
  },
  {
    figure: 'fetch_event_to_frame_p99_ms',
    max: 2000,
    why: 'the camera view: an inference event to the last byte of the frame it analysed (the issue: a box within 2 s)',
  },
];

type Mode = 'none' | 'fetch' | 'mjpeg';

/**
 * Viewers at once per mode. MJPEG: the camera view's stream limit (CameraViewOptions.maxStreams,
 * default 4); fetch: 8, half the server's SSE limit (maxSseClients, default 16).
 */
const VIEWERS = { fetch: 8, mjpeg: 4 } as const;

function quantile(values: readonly number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? Number.NaN;
}

/** A viewer of one kind; `stop()` closes its connections. Counts what it received. */
interface Viewer {
  frames: number;
  bytes: number;
  /** Per frame fetched: ms from its inference event's arrival to the frame's last byte. */
  readonly eventToFrameMs: number[];
  stop(): void;
}

function open(url: string, onResponse: (res: IncomingMessage) => void): () => void {
  const req = get(url, onResponse);
  req.on('error', () => undefined); // closed by stop()
  return () => req.destroy();
}

/** The face inferences over SSE; `onSeq` hears each one's analysed frame number. */
function inferenceEvents(base: string, onSeq: (seq: number) => void): () => void {
  let partial = '';
  return open(`${base}/api/events?pattern=${encodeURIComponent('inference/face/+')}`, (res) => {
    res.setEncoding('utf8');
    res.on('data', (s: string) => {
      const parts = (partial + s).split('\n\n');
      partial = parts.pop() ?? '';
      for (const part of parts) {
        const data = part.split('\n').find((l) => l.startsWith('data: '));
        if (data === undefined) continue;
        const ev = JSON.parse(data.slice(6)) as { payload?: { frameSeq?: number } };
        if (typeof ev.payload?.frameSeq === 'number') onSeq(ev.payload.frameSeq);
      }
    });
  });
}

/** camera.js's behaviour: an inference event → fetch the frame it analysed, one at a time. */
function fetchViewer(base: string): Viewer {
  const v: Viewer = { frames: 0, bytes: 0, eventToFrameMs: [], stop: () => undefined };
  let busy = false;
  const fetchFrame = (seq: number): void => {
    busy = true;
    const eventAtMs = performance.now();
    get(`${base}/api/camera/cam0/frame.jpg?seq=${seq}`, (res) => {
      res.on('data', (d: Buffer) => {
        v.bytes += d.length;
      });
      res.on('end', () => {
        v.frames++;
        v.eventToFrameMs.push(performance.now() - eventAtMs);
        busy = false;
      });
    }).on('error', () => {
      busy = false;
    });
  };
  v.stop = inferenceEvents(base, (seq) => {
    if (!busy) fetchFrame(seq);
  });
  return v;
}

function mjpegViewer(base: string): Viewer {
  const v: Viewer = { frames: 0, bytes: 0, eventToFrameMs: [], stop: () => undefined };
  const stopEvents = inferenceEvents(base, () => undefined);
  const stopStream = open(`${base}/api/camera/cam0/stream.mjpg`, (res) => {
    res.on('data', (d: Buffer) => {
      v.bytes += d.length;
      // Parts start with the boundary line: count them as frames.
      for (let i = d.indexOf('--edgeloomframe'); i >= 0; i = d.indexOf('--edgeloomframe', i + 1)) v.frames++;
    });
  });
  v.stop = () => {
    stopEvents();
    stopStream();
  };
  return v;
}

export async function bench(options: BenchOptions): Promise<Figures> {
  const windowS = options.quick ? 8 : 15;
  const rounds = options.quick ? 2 : 3;
  const work = mkdtempSync(join(tmpdir(), 'edgeloom-preview-'));
  const overrides: Record<string, string> = {
    EDGELOOM_SOURCE_REPLAY_SPEED: '2.5',
    EDGELOOM_SOURCE_REPLAY_LOOP: 'true',
    EDGELOOM_SENSORS_MIC_ENABLED: 'false',
    EDGELOOM_SENSORS_IMU_ENABLED: 'false',
    ...isolated(join(work, 'state')),
  };
  const daemon = new DaemonChild(overrides);
  try {
    const url = await daemon.listening();
    const pid = daemon.pid;
    // Warm-up: models loaded and a few frames analysed before anything is measured.
    for (;;) {
      daemon.assertRunning('during the run');
      const m = parseMetrics(await httpGet(`${url}/metrics`));
      if ((m.get('edgeloom_bus_topic_events_total{topic="inference/face/cam0"}') ?? 0) >= 10) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    const rates: Record<Mode, number[]> = { none: [], fetch: [], mjpeg: [] };
    const eventToFrameMs: number[] = [];
    const received: Record<Exclude<Mode, 'none'>, { frames: number; bytes: number }> = {
      fetch: { frames: 0, bytes: 0 },
      mjpeg: { frames: 0, bytes: 0 },
    };
    for (let round = 0; round < rounds; round++) {
      for (const mode of ['none', 'fetch', 'mjpeg'] as const) {
        const viewers: Viewer[] = [];
        if (mode !== 'none')
          for (let i = 0; i < VIEWERS[mode]; i++)
            viewers.push(mode === 'fetch' ? fetchViewer(url) : mjpegViewer(url));
        await new Promise((r) => setTimeout(r, 1000)); // connected and flowing before the window
        const cpu0 = cpuSeconds(pid);
        const t0 = performance.now();
        await new Promise((r) => setTimeout(r, windowS * 1000));
        const cpu1 = cpuSeconds(pid);
        rates[mode].push((cpu1 - cpu0) / ((performance.now() - t0) / 1000));
        for (const viewer of viewers) {
          viewer.stop();
          if (mode === 'none') continue;
          received[mode].frames += viewer.frames;
          received[mode].bytes += viewer.bytes;
          if (mode === 'fetch') eventToFrameMs.push(...viewer.eventToFrameMs);
        }
        daemon.assertRunning('during the run');
      }
    }
    const none = median(rates.none);
    // Per viewer: the extra over `none` shared out (the cost is linear in viewers, header).
    const fetchRate = none + (median(rates.fetch) - none) / VIEWERS.fetch;
    const mjpegRate = none + (median(rates.mjpeg) - none) / VIEWERS.mjpeg;
    const secondsPerMode = rounds * windowS;
    const perViewerS = (mode: Exclude<Mode, 'none'>): number => secondsPerMode * VIEWERS[mode];
    const r1 = (x: number): number => Math.round(x * 10) / 10;
    const r2 = (x: number): number => Math.round(x * 100) / 100;
    return {
      window_s: windowS,
      rounds,
      fetch_viewers: VIEWERS.fetch,
      mjpeg_viewers: VIEWERS.mjpeg,
      daemon_cpu_pct_of_core: r1(none * 100),
      fetch_all_viewers_cpu_pct_of_core: r1(median(rates.fetch) * 100),
      mjpeg_all_viewers_cpu_pct_of_core: r1(median(rates.mjpeg) * 100),
      fetch_extra_cpu_pct: r1(((fetchRate - none) / none) * 100),
      mjpeg_extra_cpu_pct: r1(((mjpegRate - none) / none) * 100),
      fetch_extra_pct_of_core: r2((fetchRate - none) * 100),
      mjpeg_extra_pct_of_core: r2((mjpegRate - none) * 100),
      fetch_event_to_frame_p50_ms: r1(quantile(eventToFrameMs, 0.5)),
      fetch_event_to_frame_p99_ms: r1(quantile(eventToFrameMs, 0.99)),
      fetch_frames_per_s: r1(received.fetch.frames / perViewerS('fetch')),
      mjpeg_frames_per_s: r1(received.mjpeg.frames / perViewerS('mjpeg')),
      fetch_kib_per_s: r1(received.fetch.bytes / 1024 / perViewerS('fetch')),
      mjpeg_kib_per_s: r1(received.mjpeg.bytes / 1024 / perViewerS('mjpeg')),
      cheaper: fetchRate <= mjpegRate ? 'fetch' : 'mjpeg',
    };
  } finally {
    await daemon.stop();
    rmSync(work, { recursive: true, force: true });
  }
}
