import type { Envelope } from '../bus/envelope.js';
import type { AudioFrame, CameraFrame, ImuSample, SensorKind } from '../bus/topics.js';
import type { EventBus, Subscription } from '../bus/types.js';
import type { Component } from '../component.js';
import type { Logger } from '../log.js';
import { FixtureWriter } from '../recording/writer.js';
import type { Clock } from '../util/clock.js';

export interface RecorderOptions {
  readonly dir: string;
  readonly sensors: readonly SensorKind[];
  readonly bus: EventBus;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly description?: string;
}

/**
 * `edgeloom record`: live sensor events → a fixture directory. Camera and mic frames are taken
 * from the bus with guaranteed (batched) delivery, so a frame the source published is a frame on
 * disk; IMU readings come raw from the source's onSample hook (the bus carries only aggregates).
 * Record times are relative to the moment recording started, which becomes `start_time`.
 */
export class Recorder implements Component {
  readonly name = 'recorder';
  private writer: FixtureWriter | undefined;
  private subs: Subscription[] = [];
  private startMs = 0;
  private failures = 0;
  private pendingImu: Promise<void> = Promise.resolve();

  constructor(private readonly o: RecorderOptions) {}

  async start(): Promise<void> {
    this.startMs = this.o.clock.now();
    this.writer = await FixtureWriter.create(this.o.dir, {
      sensors: this.o.sensors,
      startTime: new Date(this.startMs),
      description: this.o.description ?? `recorded by edgeloom record (${this.o.sensors.join(', ')})`,
    });
    const { bus } = this.o;
    const opts = { component: this.name, qos: 'batched' as const, queueCapacity: 256 };
    if (this.o.sensors.includes('camera')) {
      this.subs.push(bus.subscribe('sensor/camera/+/frame', (env) => this.frame(env), opts));
    }
    if (this.o.sensors.includes('mic')) {
      this.subs.push(bus.subscribe('sensor/mic/+/frame', (env) => this.audio(env), opts));
    }
  }

  /** The IMU source's raw-sample hook. Writes are chained so they stay in order. */
  readonly onImuSample = (sample: ImuSample): void => {
    const w = this.writer;
    if (w === undefined) return;
    const rel = { ...sample, tMs: sample.tMs - this.startMs };
    this.pendingImu = this.pendingImu.then(() => w.writeImu(rel)).catch((err: unknown) => this.fail(err));
  };

  async stop(): Promise<void> {
    const subs = this.subs;
    this.subs = [];
    await Promise.all(subs.map((s) => s.unsubscribe({ drain: true })));
    await this.pendingImu;
    const w = this.writer;
    this.writer = undefined;
    if (w !== undefined) {
      await w.close();
      this.o.logger.info({ dir: this.o.dir, ...w.stats, failures: this.failures }, 'recording closed');
    }
  }

  private async frame(env: Envelope<CameraFrame>): Promise<void> {
    await this.writer
      ?.writeFrame(env.payload.tsMs - this.startMs, env.payload.jpeg)
      .catch((err) => this.fail(err));
  }

  private async audio(env: Envelope<AudioFrame>): Promise<void> {
    await this.writer
      ?.writeAudio(env.payload.tsMs - this.startMs, env.payload.samples)
      .catch((err) => this.fail(err));
  }

  private fail(err: unknown): void {
    this.failures++;
    if (this.failures <= 5) this.o.logger.error({ err }, 'fixture write failed');
  }
}
