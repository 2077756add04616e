import type { AudioFrame, SensorState } from '../../bus/topics.js';
import type { EventBus } from '../../bus/types.js';
import type { Component, ComponentHealth } from '../../component.js';
import { EdgeloomError, ErrorCode } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { Clock } from '../../util/clock.js';
import type { CountsSensorEvents, SensorCounters } from '../counters.js';
import { type PauseSettings, pausesOf, type SensorPauses } from '../pauses.js';
import { SourcePublisher } from '../source-publisher.js';
import { type BackoffOptions, Supervisor } from '../supervisor.js';
import { PcmFramer } from './pcm-framer.js';
import { type RecorderKind, recorderLaunch } from './recorders.js';

/**
 * The microphone source: a recorder process writes 16-bit little-endian mono PCM to stdout; the
 * bytes are re-chunked into fixed frames (512 samples = 32 ms at 16 kHz) and published on
 * `sensor/mic/<id>/frame`; state changes go to `sensor/mic/<id>/status`.
 *
 * Backends: sox, rec and arecord, each with its argv from recorders.ts (arecord's -D, sox's and
 * rec's AUDIODEV); `custom` is any argv, which must write raw s16le mono at `sampleRateHz` (a test
 * feeding a WAV, a remote stream through socat, ...). The Supervisor spawns and owns the process
 * either way (restart, backoff, stall, ENOENT, status).
 *
 * Timestamps: a frame's tsMs is the time of its first sample, computed from the sample count
 * since the recorder started (start = arrival of the first chunk minus that chunk's duration),
 * not from arrival times, so frames are exactly frameSamples/sampleRateHz apart and pipe jitter
 * does not leak into them. Each restart re-anchors the count on the wall clock.
 */
export type MicRecorder =
  | {
      readonly kind: RecorderKind;
      /** ALSA name for arecord (`plughw:1,0`); for sox/rec the AUDIODEV value. Absent: the default device. */
      readonly device?: string;
    }
  | { readonly kind: 'custom'; readonly command: readonly string[] };

export interface MicSourceOptions {
  /** Instance id used in topics (`sensor/mic/<id>/frame`). */
  readonly id: string;
  readonly recorder: MicRecorder;
  /** Capture rate, Hz (default 16 000: what Silero VAD and Whisper expect). */
  readonly sampleRateHz?: number;
  /** Samples per published frame (default 512 = 32 ms at 16 kHz). */
  readonly frameSamples?: number;
  /** No audio bytes for this long restarts the recorder, ms (default 2000). */
  readonly stallTimeoutMs?: number;
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

export interface MicStats {
  readonly state: SensorState;
  readonly reason: string | undefined;
  /** Frames published. */
  readonly frames: number;
  /** Samples of partial frames lost when the recorder restarted. */
  readonly droppedSamples: number;
  readonly restarts: number;
  readonly publishErrors: number;
}

export class MicSource implements Component, CountsSensorEvents {
  readonly name: string;
  readonly sampleRateHz: number;
  private readonly o: MicSourceOptions;
  private readonly framer: PcmFramer;
  private readonly supervisor: Supervisor;
  private readonly out: SourcePublisher;
  /** Answers `rpc/sensor/<id>/pause` and `…/resume`. */
  private readonly pauses: SensorPauses;
  private readonly frameTopic: `sensor/mic/${string}/frame`;
  private readonly frameMs: number;
  private seq = 0;
  /** Time of the first sample of the current recorder run, ms; undefined until its first chunk. */
  private runStartMs: number | undefined;
  private runFrames = 0;
  private droppedBytes = 0;
  /** Recorder runs that ended inside a frame: that partial frame is never published. */
  private partialFrames = 0;

  constructor(options: MicSourceOptions) {
    const where = `sensor.mic.${options.id}`;
    if (options.recorder.kind === 'custom' && options.recorder.command.length === 0) {
      throw new EdgeloomError(ErrorCode.E_MIC_CONFIG, 'custom recorder command is empty', { where });
    }
    this.o = options;
    this.name = where;
    this.sampleRateHz = options.sampleRateHz ?? 16_000;
    this.framer = new PcmFramer(options.frameSamples ?? 512);
    this.frameMs = (this.framer.frameSamples * 1000) / this.sampleRateHz;
    this.frameTopic = `sensor/mic/${options.id}/frame`;
    this.out = new SourcePublisher(options.bus, options.clock, options.logger, this.name, 'mic', options.id);
    const rec = options.recorder;
    const launch =
      rec.kind === 'custom'
        ? { command: rec.command, env: {} }
        : recorderLaunch(rec.kind, { sampleRateHz: this.sampleRateHz, device: rec.device });
    this.supervisor = new Supervisor({
      name: this.name,
      command: launch.command,
      env: launch.env,
      stallTimeoutMs: options.stallTimeoutMs ?? 2000,
      backoff: options.backoff ?? { initialMs: 500, maxMs: 30_000 },
      killGraceMs: options.killGraceMs ?? 2000,
      diagnose: diagnoseMicFailure,
      clock: options.clock,
      logger: options.logger,
      random: options.random,
      onSpawn: () => this.onSpawn(),
      onData: (chunk) => this.onData(chunk),
      onState: (state, reason) => this.out.status(state, reason, this.supervisor.restarts),
    });
    this.pauses = pausesOf(this, options, false);
  }

  /** Spawn the recorder. Resolves at once: a missing microphone is a `failed` status, not a start-up failure. */
  async start(signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    this.pauses.start();
    this.supervisor.start();
  }

  async stop(): Promise<void> {
    await this.pauses.stop();
    await this.supervisor.stop();
  }

  /** Stop recording and release the device until resume() (nothing is captured while paused). */
  async pause(): Promise<void> {
    await this.supervisor.pause();
  }

  resume(): void {
    this.supervisor.resume();
  }

  /** pid of the recorder process, when one is running. */
  get pid(): number | undefined {
    return this.supervisor.pid;
  }

  /**
   * Frames handed to the bus; dropped: `partial_at_restart` (the frame a recorder run ended inside).
   */
  sensorCounters(): readonly SensorCounters[] {
    return [
      {
        sensor: this.o.id,
        kind: 'mic',
        frames: this.framer.frames,
        dropped: { partial_at_restart: this.partialFrames },
      },
    ];
  }

  stats(): MicStats {
    return {
      state: this.supervisor.state,
      reason: this.supervisor.reason,
      frames: this.framer.frames,
      droppedSamples: Math.floor(this.droppedBytes / 2),
      restarts: this.supervisor.restarts,
      publishErrors: this.out.errors,
    };
  }

  health(): ComponentHealth {
    const { state, reason } = this.supervisor;
    if (state === 'running') return { status: 'ok' };
    return { status: state === 'failed' ? 'failed' : 'degraded', reasons: [reason ?? state] };
  }

  private onSpawn(): void {
    const partial = this.framer.reset();
    if (partial > 0) this.partialFrames++;
    this.droppedBytes += partial;
    this.runStartMs = undefined;
    this.runFrames = 0;
  }

  private onData(chunk: Buffer): void {
    if (this.runStartMs === undefined) {
      const chunkMs = (Math.floor(chunk.length / 2) * 1000) / this.sampleRateHz;
      this.runStartMs = this.o.clock.now() - chunkMs;
    }
    for (const samples of this.framer.push(chunk)) {
      const frame: AudioFrame = {
        seq: this.seq++,
        tsMs: this.runStartMs + this.runFrames * this.frameMs,
        sampleRateHz: this.sampleRateHz,
        samples,
      };
      this.runFrames++;
      this.out.publish(this.frameTopic, frame, frame.tsMs);
    }
  }
}

/**
 * A missing capture device, from the recorder's stderr: arecord says `audio open error: No such
 * file or directory` (or `No such device`), sox says `can't open input device`. Retried at the
 * max backoff: a USB microphone may be plugged in later.
 */
export function diagnoseMicFailure(stderrTail: readonly string[]): string | undefined {
  for (const line of stderrTail) {
    if (/audio open error|can't open input|No such device|cannot find card/i.test(line)) {
      return `microphone not available (${line.trim()}); retrying`;
    }
  }
  return undefined;
}
