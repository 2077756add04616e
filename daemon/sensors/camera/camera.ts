import type { CameraFrame, SensorState } from '../../bus/topics.js';
import type { EventBus } from '../../bus/types.js';
import type { Component, ComponentHealth } from '../../component.js';
import { EdgeloomError, ErrorCode } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { Clock } from '../../util/clock.js';
import type { CountsSensorEvents, SensorCounters } from '../counters.js';
import { type PauseSettings, pausesOf, type SensorPauses } from '../pauses.js';
import { SourcePublisher } from '../source-publisher.js';
import { type BackoffOptions, Supervisor } from '../supervisor.js';
import { KeepLatestSampler } from './frame-sampler.js';
import { DEFAULT_MAX_FRAME_BYTES, MjpegSplitter, type MjpegSplitterCounters } from './mjpeg-splitter.js';
import { diagnoseCameraFailure, isMjpegUnsupported } from './presets.js';

/**
 * The camera source: supervises a capture process writing MJPEG to stdout (see presets.ts),
 * splits the stream into JPEGs without decoding them, caps the rate with keep-latest sampling and
 * publishes `sensor/camera/<id>/frame`; every state change goes to `sensor/camera/<id>/status`.
 * It never waits on the bus (see ../source-publisher.ts).
 */
export interface CameraSourceOptions {
  /** Instance id used in topics (`sensor/camera/<id>/frame`). */
  readonly id: string;
  /** argv of the capture program (cameraCommand(preset) builds one). */
  readonly command: readonly string[];
  /** argv to switch to if the device rejects native MJPEG (cameraFallbackCommand(preset)). */
  readonly fallbackCommand?: readonly string[];
  /** Cap on published frames per second; faster input is sampled keep-latest. 0 or absent: no cap. */
  readonly maxFps?: number;
  /** No complete frame for this long marks the camera stalled and restarts the process, ms (default 5000). */
  readonly stallTimeoutMs?: number;
  /** Largest accepted JPEG, bytes (default 4 MiB); bigger frames are dropped and counted. */
  readonly maxFrameBytes?: number;
  /** Restart delays (default 500 ms doubling to 30 s). */
  readonly backoff?: BackoffOptions;
  /** After SIGTERM on stop/pause, wait this long before SIGKILL, ms (default 2000). */
  readonly killGraceMs?: number;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly bus: EventBus;
  /** How long a pause may last and who records safety pauses (default DEFAULT_PAUSE_SETTINGS). */
  readonly pauses?: PauseSettings;
  /** Jitter source, [0, 1) (default Math.random). */
  readonly random?: () => number;
}

export interface CameraStats {
  readonly state: SensorState;
  readonly reason: string | undefined;
  /** Frames published. */
  readonly published: number;
  /** Frames the fps cap replaced before they could be published. */
  readonly dropped: number;
  readonly restarts: number;
  /** Publishes the bus refused (closed bus, invalid topic). */
  readonly publishErrors: number;
  readonly splitter: Readonly<MjpegSplitterCounters>;
}

interface PendingFrame {
  readonly tsMs: number;
  readonly width: number;
  readonly height: number;
  readonly jpeg: Buffer;
}

export class CameraSource implements Component, CountsSensorEvents {
  readonly name: string;
  private readonly o: CameraSourceOptions;
  private readonly splitter: MjpegSplitter;
  private readonly sampler: KeepLatestSampler<PendingFrame>;
  private readonly supervisor: Supervisor;
  private readonly frameTopic: `sensor/camera/${string}/frame`;
  private readonly out: SourcePublisher;
  /** Answers `rpc/sensor/<id>/pause` and `…/resume`. */
  private readonly pauses: SensorPauses;
  private seq = 0;
  private usingFallback = false;

  constructor(options: CameraSourceOptions) {
    if (options.command.length === 0) {
      throw new EdgeloomError(ErrorCode.E_CAMERA_CONFIG, 'camera command is empty', {
        where: `sensor.camera.${options.id}`,
      });
    }
    this.o = options;
    this.name = `sensor.camera.${options.id}`;
    this.frameTopic = `sensor/camera/${options.id}/frame`;
    this.out = new SourcePublisher(
      options.bus,
      options.clock,
      options.logger,
      this.name,
      'camera',
      options.id,
    );
    this.splitter = new MjpegSplitter({ maxFrameBytes: options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES });
    const maxFps = options.maxFps ?? 0;
    this.sampler = new KeepLatestSampler<PendingFrame>({
      minIntervalMs: maxFps > 0 ? 1000 / maxFps : 0,
      clock: options.clock,
      emit: (f) => this.publishFrame(f),
    });
    this.supervisor = new Supervisor({
      name: this.name,
      command: options.command,
      stallTimeoutMs: options.stallTimeoutMs ?? 5000,
      heartbeatOnData: false,
      backoff: options.backoff ?? { initialMs: 500, maxMs: 30_000 },
      killGraceMs: options.killGraceMs ?? 2000,
      diagnose: diagnoseCameraFailure,
      clock: options.clock,
      logger: options.logger,
      random: options.random,
      onSpawn: () => this.splitter.reset(),
      onData: (chunk) => this.onData(chunk),
      onState: (state, reason) => this.onState(state, reason),
    });
    this.pauses = pausesOf(this, options, false);
  }

  /** Spawn the capture process. Resolves at once: a missing camera is a `failed` status, not a start-up failure. */
  async start(signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    this.pauses.start();
    this.supervisor.start();
  }

  async stop(): Promise<void> {
    await this.pauses.stop();
    this.sampler.clear();
    await this.supervisor.stop();
  }

  /** Stop capturing and release the device (the camera LED goes off) until resume(). */
  async pause(): Promise<void> {
    this.sampler.clear();
    await this.supervisor.pause();
  }

  resume(): void {
    this.supervisor.resume();
  }

  /** pid of the capture process, when one is running. */
  get pid(): number | undefined {
    return this.supervisor.pid;
  }

  /**
   * Frames handed to the bus; dropped: `rate_cap` (replaced by a newer frame under max_fps),
   * `oversized`, `truncated` and `corrupt` (the MJPEG splitter refused them).
   */
  sensorCounters(): readonly SensorCounters[] {
    const sp = this.splitter.counters();
    return [
      {
        sensor: this.o.id,
        kind: 'camera',
        frames: this.sampler.emitted,
        dropped: {
          rate_cap: this.sampler.dropped,
          oversized: sp.oversized,
          truncated: sp.truncated,
          corrupt: sp.corrupt,
        },
      },
    ];
  }

  stats(): CameraStats {
    return {
      state: this.supervisor.state,
      reason: this.supervisor.reason,
      published: this.sampler.emitted,
      dropped: this.sampler.dropped,
      restarts: this.supervisor.restarts,
      publishErrors: this.out.errors,
      splitter: this.splitter.counters(),
    };
  }

  health(): ComponentHealth {
    const { state, reason } = this.supervisor;
    if (state === 'running') return { status: 'ok' };
    const reasons = [reason ?? state];
    return { status: state === 'failed' ? 'failed' : 'degraded', reasons };
  }

  private onData(chunk: Buffer): void {
    const frames = this.splitter.push(chunk);
    if (frames.length === 0) return;
    this.supervisor.heartbeat();
    const tsMs = this.o.clock.now();
    for (const f of frames) this.sampler.offer({ tsMs, width: f.width, height: f.height, jpeg: f.jpeg });
  }

  private publishFrame(f: PendingFrame): void {
    const frame: CameraFrame = {
      seq: this.seq++,
      tsMs: f.tsMs,
      width: f.width,
      height: f.height,
      jpeg: f.jpeg,
    };
    this.out.publish(this.frameTopic, frame, f.tsMs);
  }

  private onState(state: SensorState, reason: string | undefined): void {
    if (state === 'restarting' && !this.usingFallback && this.o.fallbackCommand !== undefined) {
      if (isMjpegUnsupported(this.supervisor.stderrTail())) {
        this.usingFallback = true;
        this.supervisor.setCommand(this.o.fallbackCommand);
        this.o.logger.warn('device offers no MJPEG; falling back to encoding in ffmpeg');
      }
    }
    if (state === 'restarting' || state === 'stalled' || state === 'paused') this.sampler.clear();
    this.out.status(state, reason, this.supervisor.restarts);
  }
}
