import { stat } from 'node:fs/promises';
import { SerialPort } from 'serialport';
import type { ImuEvent, ImuSample, SensorState } from '../../bus/topics.js';
import type { EventBus } from '../../bus/types.js';
import type { Component, ComponentHealth } from '../../component.js';
import { EdgeloomError, ErrorCode } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { Clock, TimerHandle } from '../../util/clock.js';
import type { CountsSensorEvents, SensorCounters } from '../counters.js';
import { type PauseSettings, pausesOf, type SensorPauses } from '../pauses.js';
import { SourcePublisher } from '../source-publisher.js';
import { ImuAggregator } from './aggregator.js';
import {
  type CsvColumn,
  createImuParser,
  type ImuParser,
  type ImuParserCounters,
  type ImuReading,
  type ImuUnits,
  type ImuWireFormat,
} from './parser.js';

/**
 * The IMU source: a serial port (USB CDC, UART, or a pty in tests) → wire parser → aggregator →
 * `sensor/imu/<id>/window` (ImuEvent at eventRateHz); every state change → `sensor/imu/<id>/status`.
 *
 * Faults stay local: a missing or vanished port is a status (`failed` / `restarting`), never a
 * throw; the source keeps polling for the path with exponential backoff, because devices get
 * plugged in later. Bounds: the parsers hold at most one line/frame; the aggregator one window;
 * at most one publish waits on bus backpressure and events produced meanwhile are dropped and
 * counted (aggregated motion data is replaced 10–100 times a second: stale beats blocked;
 * SourcePublisher.publishLatest).
 */
export interface ImuSourceOptions {
  /** Instance id used in topics (`sensor/imu/<id>/window`). */
  readonly id: string;
  /** Serial device path, e.g. /dev/ttyUSB0 or a pty symlink. */
  readonly path: string;
  /** Serial speed, baud (default 115200; ignored by ptys). */
  readonly baudRate?: number;
  /** Wire format. */
  readonly format: ImuWireFormat;
  /** Wire units of text formats (default g and deg/s). */
  readonly units?: ImuUnits;
  /** CSV column order; default chosen from the field count (see parsers/csv.ts). */
  readonly csvColumns?: readonly CsvColumn[];
  /**
   * Nominal device sample rate, Hz (default 100). Readings without a device timestamp that arrive
   * together in one chunk are spread backwards from the receipt time at this period.
   */
  readonly rawRateHz?: number;
  /** Aggregated events per second, Hz (default 10). */
  readonly eventRateHz?: number;
  /** Reconnect backoff: first delay, doubled per failed attempt up to maxMs (defaults 500 ms, 30 s). */
  readonly reconnect?: { readonly initialMs: number; readonly maxMs: number };
  /**
   * When device time mapped to host time departs from the receipt time by more than this, ms,
   * the mapping is re-anchored (device reset, clock drift). Default 1000 ms.
   */
  readonly maxDeviceSkewMs?: number;
  /**
   * Every raw reading in canonical units with its host time, before aggregation. The recorder
   * uses it to write imu.jsonl at the device's rate; it must be cheap and must not throw.
   */
  readonly onSample?: (sample: ImuSample) => void;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly bus: EventBus;
  /** How long a pause may last (the IMU feeds fall detection: control.safety_pause_max_s). */
  readonly pauses?: PauseSettings;
}

/** Counters for health and stats. */
export interface ImuSourceStats {
  readonly state: SensorState;
  readonly restarts: number;
  readonly readings: number;
  readonly eventsPublished: number;
  readonly dropped: { readonly paused: number; readonly backpressure: number; readonly late: number };
  readonly publishErrors: number;
  readonly timeResyncs: number;
  readonly parser: ImuParserCounters;
}

export class ImuSource implements Component, CountsSensorEvents {
  readonly name: string;
  private readonly o: Required<Omit<ImuSourceOptions, 'units' | 'csvColumns' | 'onSample' | 'pauses'>> &
    ImuSourceOptions;
  private readonly windowTopic: `sensor/imu/${string}/window`;
  private readonly out: SourcePublisher;
  /** Answers `rpc/sensor/<id>/pause` and `…/resume`; a safety sensor (it feeds fall detection). */
  private readonly pauses: SensorPauses;
  private readonly parser: ImuParser;
  private readonly aggregator: ImuAggregator;
  private readonly rawPeriodMs: number;
  private state: SensorState = 'stopped';
  private port: SerialPort | undefined;
  /** Bumped per connection so late callbacks from a closed port are ignored. */
  private generation = 0;
  private everConnected = false;
  private stopped = true;
  private paused = false;
  private retryTimer: TimerHandle | undefined;
  /** While connected: checks that the device node still exists (see watchPath). */
  private pathTimer: TimerHandle | undefined;
  private nextDelayMs: number;
  /** Host ms minus device ms, set at the first timestamped reading of a connection. */
  private deviceOffsetMs: number | undefined;
  private lastSampleMs = Number.NEGATIVE_INFINITY;
  /** Readings of the chunk being handled (bounded by one chunk's worth of lines/frames). */
  private readonly chunkReadings: ImuReading[] = [];
  private readonly onReading = (r: ImuReading): void => void this.chunkReadings.push(r);
  private restarts = 0;
  private readings = 0;
  private eventsPublished = 0;
  private droppedPaused = 0;
  private droppedBackpressure = 0;
  private timeResyncs = 0;

  constructor(options: ImuSourceOptions) {
    this.o = {
      baudRate: 115_200,
      rawRateHz: 100,
      eventRateHz: 10,
      reconnect: { initialMs: 500, maxMs: 30_000 },
      maxDeviceSkewMs: 1000,
      ...options,
    };
    const { initialMs, maxMs } = this.o.reconnect;
    if (!(initialMs > 0 && maxMs >= initialMs)) {
      throw new EdgeloomError(
        ErrorCode.E_IMU_CONFIG,
        `reconnect needs 0 < initialMs <= maxMs, got ${initialMs}/${maxMs}`,
        {
          where: 'imu.reconnect',
        },
      );
    }
    if (!(this.o.rawRateHz > 0)) {
      throw new EdgeloomError(ErrorCode.E_IMU_CONFIG, `rawRateHz must be > 0, got ${this.o.rawRateHz}`, {
        where: 'imu.raw_rate_hz',
      });
    }
    this.name = `sensor.imu.${options.id}`;
    this.windowTopic = `sensor/imu/${options.id}/window`;
    this.out = new SourcePublisher(options.bus, options.clock, options.logger, this.name, 'imu', options.id);
    this.parser = createImuParser({
      format: options.format,
      units: options.units,
      csvColumns: options.csvColumns,
    });
    this.aggregator = new ImuAggregator({ eventRateHz: this.o.eventRateHz });
    this.rawPeriodMs = 1000 / this.o.rawRateHz;
    this.nextDelayMs = initialMs;
    this.pauses = pausesOf(this, options, true);
  }

  /** Open the port. Resolves after the first attempt whatever its outcome: a missing device is a status. */
  async start(signal: AbortSignal): Promise<void> {
    if (!this.stopped) return;
    this.stopped = false;
    this.pauses.start();
    this.setState('starting');
    const onAbort = (): void => void this.stop();
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      await this.attempt();
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await this.pauses.stop();
    this.retryTimer?.cancel();
    this.retryTimer = undefined;
    this.pathTimer?.cancel();
    this.pathTimer = undefined;
    await this.closePort();
    this.aggregator.reset();
    this.setState('stopped');
  }

  /** Stop publishing; the port stays open and is drained so stale data does not pile up in the tty. */
  pause(): void {
    if (this.stopped || this.paused) return;
    this.paused = true;
    this.aggregator.reset();
    this.setState('paused');
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    if (this.stopped) return;
    this.setState(this.port !== undefined ? 'running' : this.everConnected ? 'restarting' : 'failed');
  }

  health(): ComponentHealth {
    if (this.state === 'running' || this.state === 'paused') return { status: 'ok' };
    return { status: this.state === 'failed' ? 'failed' : 'degraded', reasons: [`imu ${this.state}`] };
  }

  /** Windows handed to the bus; dropped `backpressure`: made while the last one still waited on it. */
  sensorCounters(): readonly SensorCounters[] {
    const dropped = { backpressure: this.droppedBackpressure }; // readings dropped while paused: stats()
    return [{ sensor: this.o.id, kind: 'imu', frames: this.eventsPublished, dropped }];
  }

  stats(): ImuSourceStats {
    return {
      state: this.state,
      restarts: this.restarts,
      readings: this.readings,
      eventsPublished: this.eventsPublished,
      dropped: {
        paused: this.droppedPaused,
        backpressure: this.droppedBackpressure,
        late: this.aggregator.lateSamples + this.aggregator.invalidSamples,
      },
      publishErrors: this.out.errors,
      timeResyncs: this.timeResyncs,
      parser: this.parser.counters(),
    };
  }

  // ---------------------------------------------------------------- connection

  /** One open attempt; on failure schedules the next. */
  private async attempt(): Promise<void> {
    this.retryTimer = undefined;
    if (this.stopped) return;
    const path = this.o.path;
    let failure: string;
    try {
      await stat(path);
      const port = new SerialPort({ path, baudRate: this.o.baudRate, autoOpen: false });
      await new Promise<void>((resolve, reject) => port.open((err) => (err ? reject(err) : resolve())));
      if (this.stopped) {
        await closeQuietly(port);
        return;
      }
      this.attach(port);
      return;
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      failure =
        e.code === 'ENOENT' ? `serial port ${path} does not exist` : `cannot open ${path}: ${e.message}`;
    }
    // A device that was never there is `failed` (polled at the slowest rate); one that went away
    // while in use is `restarting`, with fast retries first since it is likely to come back.
    let delayMs: number;
    if (this.everConnected) {
      delayMs = this.nextDelayMs;
      this.nextDelayMs = Math.min(this.nextDelayMs * 2, this.o.reconnect.maxMs);
      if (!this.paused) this.setState('restarting', failure);
    } else {
      delayMs = this.o.reconnect.maxMs;
      if (!this.paused) this.setState('failed', failure);
    }
    this.o.logger.debug({ path, delayMs, reason: failure }, 'imu open failed; retrying');
    this.retryTimer = this.o.clock.setTimeout(() => void this.attempt(), delayMs);
  }

  private attach(port: SerialPort): void {
    const generation = ++this.generation;
    this.port = port;
    this.everConnected = true;
    this.nextDelayMs = this.o.reconnect.initialMs;
    // A reconnect starts mid-line, and the device may have rebooted (new time base).
    this.parser.reset();
    this.deviceOffsetMs = undefined;
    port.on('data', (chunk: Buffer) => {
      if (generation === this.generation) this.onData(chunk);
    });
    port.on('error', (err: Error) => {
      if (generation === this.generation) this.lost(`serial error on ${this.o.path}: ${err.message}`);
    });
    port.on('close', (err: Error | null) => {
      if (generation === this.generation)
        this.lost(`serial port ${this.o.path} closed${err ? `: ${err.message}` : ''}`);
    });
    this.o.logger.info({ path: this.o.path }, 'imu port open');
    if (!this.paused) this.setState('running');
    this.watchPath(generation);
  }

  /**
   * A safety net beside the port's own close/error events: once a second, check that the device
   * node (or the udev/socat symlink) still exists. A USB adapter pulled out, or a pty whose peer
   * died, does not always make the read side fail promptly; a vanished path always means lost.
   */
  private watchPath(generation: number): void {
    this.pathTimer?.cancel();
    this.pathTimer = this.o.clock.setInterval(() => {
      if (generation !== this.generation) {
        this.pathTimer?.cancel();
        return;
      }
      stat(this.o.path).then(
        () => {},
        (err: NodeJS.ErrnoException) => {
          if (err.code === 'ENOENT' && generation === this.generation) {
            this.lost(`serial port ${this.o.path} disappeared`);
          }
        },
      );
    }, 1000);
  }

  private lost(reason: string): void {
    if (this.stopped) return;
    this.pathTimer?.cancel();
    this.pathTimer = undefined;
    const port = this.port;
    this.port = undefined;
    this.generation++;
    if (port !== undefined) void closeQuietly(port);
    this.restarts++;
    // The open window holds real data: publish it rather than let the gap swallow it.
    const last = this.aggregator.flush();
    if (last !== undefined && !this.paused) this.publishEvent(last);
    this.o.logger.warn({ reason }, 'imu connection lost');
    if (!this.paused) this.setState('restarting', reason);
    this.retryTimer?.cancel();
    const delayMs = this.nextDelayMs;
    this.nextDelayMs = Math.min(this.nextDelayMs * 2, this.o.reconnect.maxMs);
    this.retryTimer = this.o.clock.setTimeout(() => void this.attempt(), delayMs);
  }

  private async closePort(): Promise<void> {
    const port = this.port;
    this.port = undefined;
    this.generation++;
    if (port !== undefined) await closeQuietly(port);
  }

  // ---------------------------------------------------------------- data

  private onData(chunk: Buffer): void {
    const readings = this.chunkReadings;
    readings.length = 0;
    this.parser.push(chunk, this.onReading);
    const n = readings.length;
    if (n === 0) return;
    this.readings += n;
    if (this.paused) {
      this.droppedPaused += n;
      return;
    }
    const receiptMs = this.o.clock.now();
    for (let i = 0; i < n; i++) {
      const r = readings[i]!;
      const tMs = this.hostTime(r, receiptMs, n - 1 - i);
      const sample: ImuSample = { ...r, tMs };
      this.o.onSample?.(sample);
      const event = this.aggregator.add(sample);
      if (event !== undefined) this.publishEvent(event);
    }
    readings.length = 0;
  }

  /**
   * Host time of a reading. With device time: device time plus an offset fixed at the first
   * reading (so intervals follow the device's crystal, not USB batching), re-anchored when it
   * departs from the receipt time by more than maxDeviceSkewMs. Without: the receipt time, earlier
   * readings of the same chunk spread back at the nominal period, never before the previous sample.
   */
  private hostTime(r: ImuReading, receiptMs: number, readingsAfter: number): number {
    let tMs: number;
    if (r.deviceTsMs !== undefined) {
      if (this.deviceOffsetMs !== undefined) {
        tMs = r.deviceTsMs + this.deviceOffsetMs;
        if (Math.abs(tMs - receiptMs) > this.o.maxDeviceSkewMs) {
          this.deviceOffsetMs = undefined;
          this.timeResyncs++;
        }
      }
      if (this.deviceOffsetMs === undefined) this.deviceOffsetMs = receiptMs - r.deviceTsMs;
      tMs = r.deviceTsMs + this.deviceOffsetMs;
    } else {
      tMs = Math.max(receiptMs - readingsAfter * this.rawPeriodMs, this.lastSampleMs);
    }
    this.lastSampleMs = tMs;
    return tMs;
  }

  private publishEvent(event: ImuEvent): void {
    const outcome = this.out.publishLatest(this.windowTopic, event, event.tsMs);
    if (outcome === 'busy') this.droppedBackpressure++;
    else if (outcome === 'published') this.eventsPublished++;
  }

  private setState(state: SensorState, reason?: string): void {
    // Only transitions are published: a device missing for hours is one `failed`, not one per retry.
    if (state === this.state) return;
    this.state = state;
    this.out.status(state, reason, this.restarts);
  }
}

function closeQuietly(port: SerialPort): Promise<void> {
  return new Promise((resolve) => {
    if (!port.isOpen) return resolve();
    port.close(() => resolve());
  });
}
