import type { ImuSample } from '../bus/topics.js';
import type { EventBus } from '../bus/types.js';
import type { Component } from '../component.js';
import type { CameraConfig, SensorsConfig } from '../config/index.js';
import { componentLogger, type Logger } from '../log.js';
import type { Clock } from '../util/clock.js';
import { CameraSource } from './camera/camera.js';
import { type CameraPreset, cameraCommand, cameraFallbackCommand } from './camera/presets.js';
import { ImuSource } from './imu/imu.js';
import { type MicRecorder, MicSource } from './mic/mic.js';
import type { PauseSettings } from './pauses.js';

export interface LiveSensorsOptions {
  readonly config: SensorsConfig;
  readonly bus: EventBus;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Raw IMU readings before aggregation (the recorder writes them to imu.jsonl). */
  readonly onImuSample?: (sample: ImuSample) => void;
  /** Only these sensors (the `record --sensors` flag); default: every enabled one. */
  readonly only?: ReadonlySet<'camera' | 'mic' | 'imu'>;
  /** Pause limits (control.*) and where safety pauses are recorded; each source answers its own pauses. */
  readonly pauses?: PauseSettings;
}

export function cameraPreset(c: CameraConfig): CameraPreset {
  const size = { width: c.width, height: c.height, fps: c.fps };
  switch (c.preset) {
    case 'v4l2':
      return { kind: 'v4l2', device: c.device, ...size };
    case 'rpicam':
      return { kind: 'rpicam', ...size };
    case 'jetson':
      return { kind: 'jetson', ...size };
    case 'testsrc':
      return { kind: 'testsrc', ...size };
    case 'custom':
      return { kind: 'custom', command: c.command };
  }
}

/** The live sensor components the config enables. Each one fails alone: the others keep running. */
export function buildLiveSensors(o: LiveSensorsOptions): Component[] {
  const { config, bus, clock, logger } = o;
  const pauses = o.pauses === undefined ? {} : { pauses: o.pauses };
  const wanted = (k: 'camera' | 'mic' | 'imu'): boolean => (o.only ? o.only.has(k) : config[k].enabled);
  const out: Component[] = [];
  if (wanted('camera')) {
    const c = config.camera;
    const preset = cameraPreset(c);
    const fallback = cameraFallbackCommand(preset);
    out.push(
      new CameraSource({
        id: c.id,
        command: cameraCommand(preset),
        ...(fallback === undefined ? {} : { fallbackCommand: fallback }),
        maxFps: c.max_fps,
        stallTimeoutMs: c.stall_timeout_ms,
        maxFrameBytes: c.max_frame_bytes,
        backoff: { initialMs: c.restart.initial_ms, maxMs: c.restart.max_ms },
        clock,
        bus,
        ...pauses,
        logger: componentLogger(logger, `sensor.camera.${c.id}`),
      }),
    );
  }
  if (wanted('mic')) {
    const m = config.mic;
    const recorder: MicRecorder =
      m.recorder === 'custom'
        ? { kind: 'custom', command: m.command }
        : { kind: m.recorder, ...(m.device === 'default' ? {} : { device: m.device }) };
    out.push(
      new MicSource({
        id: m.id,
        recorder,
        sampleRateHz: m.sample_rate_hz,
        frameSamples: m.frame_samples,
        backoff: { initialMs: m.restart.initial_ms, maxMs: m.restart.max_ms },
        clock,
        bus,
        ...pauses,
        logger: componentLogger(logger, `sensor.mic.${m.id}`),
      }),
    );
  }
  if (wanted('imu')) {
    const i = config.imu;
    out.push(
      new ImuSource({
        id: i.id,
        path: i.path,
        baudRate: i.baud_rate,
        format: i.format,
        units: { accel: i.accel_unit, gyro: i.gyro_unit },
        rawRateHz: i.raw_rate_hz,
        eventRateHz: i.event_rate_hz,
        reconnect: { initialMs: i.reconnect.initial_ms, maxMs: i.reconnect.max_ms },
        ...(o.onImuSample === undefined ? {} : { onSample: o.onImuSample }),
        clock,
        bus,
        ...pauses,
        logger: componentLogger(logger, `sensor.imu.${i.id}`),
      }),
    );
  }
  return out;
}
