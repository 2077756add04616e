import type { ImuEvent, PayloadOf, SensorKind, SensorState, SensorStatus, Topic } from '../bus/topics.js';
import type { EventBus } from '../bus/types.js';
import type { Component } from '../component.js';
import { EdgeloomError, ErrorCode } from '../errors.js';
import type { Logger } from '../log.js';
import { type Fixture, type FixtureEvent, openFixture } from '../recording/reader.js';
import type { CountsSensorEvents, SensorCounters } from '../sensors/counters.js';
import { ImuAggregator } from '../sensors/imu/aggregator.js';
import { type PauseSettings, SensorPauses } from '../sensors/pauses.js';
import type { VirtualClock, Wall } from '../util/virtual-clock.js';
import { KeptPass, MAX_KEPT_PASS_BYTES } from './kept-pass.js';

export interface ReplaySourceOptions {
  readonly fixtureDir: string;
  /** 1 = real time, N = N times faster, 0 = as fast as possible (still in timestamp order). */
  readonly speed: number;
  /** Start over at the end (the demo); each pass continues the clock and sequence numbers. */
  readonly loop: boolean;
  /** The daemon's clock during replay: every component's timers run on it. */
  readonly clock: VirtualClock;
  readonly bus: EventBus;
  readonly logger: Logger;
  /** Sensor ids used in topics, as a live run would (from the sensors config). */
  readonly ids: { readonly camera: string; readonly mic: string; readonly imu: string };
  /** IMU events per second after aggregation (the live source's event rate). */
  readonly imuEventRateHz: number;
  /** Samples per mic frame (Silero VAD's 512). */
  readonly micFrameSamples: number;
  /** Silence between loop passes, ms. */
  readonly loopGapMs?: number;
  /**
   * After the last record, move the clock on by this much so timeouts downstream (a speech segment
   * closing, "no face" on the display) fire before the replay reports done.
   */
  readonly tailMs?: number;
  /** Per-event wait for the pipeline to settle at speed 0, ms; past it the replay fails loudly. */
  readonly settleDeadlineMs?: number;
  /** Components whose out-of-bus work (idle()) must finish before the clock moves on at speed 0. */
  readonly components?: () => readonly Component[];
  /** Pause limits (control.*) and where safety pauses are recorded, as for live sensors. */
  readonly pauses?: PauseSettings;
  /** The wall time followed at speed > 0 (default: Node's timers); tests drive their own. */
  readonly wall?: Wall;
  /** A looping replay keeps a pass in memory up to this size (default MAX_KEPT_PASS_BYTES). */
  readonly keptPassMaxBytes?: number;
}

/** Where a replay is, for progress displays (`replay` and `run` on a TTY); cheap to read. */
export interface ReplayProgress {
  /** Fixture time reached in the current pass, ms (0..durationMs). */
  readonly positionMs: number;
  /** Length of one pass of the fixture, ms; 0 until started. */
  readonly durationMs: number;
  /** Passes completed (more than one when looping). */
  readonly passes: number;
  /** Records published over all passes. */
  readonly published: number;
  /** Fixture time played over all passes, ms: the base of an effective speed. */
  readonly playedMs: number;
  /** The requested speed (0 = as fast as possible). */
  readonly speed: number;
  readonly loop: boolean;
}

/**
 * Replays a recorded fixture onto the bus exactly where the live sensors would publish, so the
 * whole daemon graph runs unchanged. Time comes from a VirtualClock: at speed 0 the clock jumps
 * from record to record and, after each one, the replay waits until the bus is idle, so every
 * downstream result (and every timer) happens in the same order on every run. At speed > 0 the
 * clock follows wall time (scaled by the speed) between records and timers fire at their own time,
 * so latencies measured downstream are real; it never reads past a record's time before that
 * record is published.
 *
 * It stands in for the live sensors in commands too: it answers each sensor's pause and resume
 * (sensors/pauses.ts; the IMU, which feeds fall detection, as a safety sensor) and publishes the
 * sensor's `paused` and `running` status as a live source would.
 */
export class ReplaySource implements Component, CountsSensorEvents {
  readonly name = 'source.replay';
  private fixture: Fixture | undefined;
  private readonly abort = new AbortController();
  private running: Promise<void> | undefined;
  private resolveDone!: () => void;
  private rejectDone!: (err: Error) => void;
  /** Resolves when the fixture has been played to the end (never, when looping, until stop). */
  readonly done: Promise<void>;
  private seq = { camera: 0, mic: 0, imu: 0 };
  /** Records published, and skipped while their sensor was paused, per sensor kind. */
  private readonly publishedBy: Record<SensorKind, number> = { camera: 0, mic: 0, imu: 0 };
  private readonly skippedBy: Record<SensorKind, number> = { camera: 0, mic: 0, imu: 0 };
  published = 0;
  passes = 0;
  /** Sensor ids paused by a command: their records are skipped (and counted), time still flows. */
  private readonly paused = new Set<string>();
  skippedWhilePaused = 0;
  /** One per sensor id it stands in for: answers `rpc/sensor/<id>/pause` and `…/resume`. */
  private readonly pauses: SensorPauses[];
  /** Fixture time of the last record reached in this pass, ms (for `progress`). */
  private positionMs = 0;

  constructor(private readonly options: ReplaySourceOptions) {
    if (!(options.speed >= 0) || !Number.isFinite(options.speed)) {
      throw new EdgeloomError(
        ErrorCode.E_REPLAY_SPEED,
        `replay speed must be a number >= 0 (got ${options.speed})`,
        {
          where: 'replay.speed',
        },
      );
    }
    this.done = new Promise<void>((resolve, reject) => {
      this.resolveDone = resolve;
      this.rejectDone = reject;
    });
    this.done.catch(() => {}); // observed by whoever awaits it; never an unhandled rejection
    const kinds: readonly SensorKind[] = ['camera', 'mic', 'imu'];
    this.pauses = kinds.map(
      (kind) =>
        new SensorPauses({
          bus: options.bus,
          clock: options.clock,
          logger: options.logger,
          component: this.name,
          sensor: options.ids[kind],
          safety: kind === 'imu',
          ...(options.pauses === undefined ? {} : { settings: options.pauses }),
          pause: () => this.pause(kind),
          resume: () => this.resume(kind),
        }),
    );
  }

  /** The opened fixture (after start). */
  get opened(): Fixture | undefined {
    return this.fixture;
  }

  /** Per sensor it stands in for: records published; dropped: `paused` (skipped while paused). */
  sensorCounters(): readonly SensorCounters[] {
    return (['camera', 'mic', 'imu'] as const).map((kind) => ({
      sensor: this.options.ids[kind],
      kind,
      frames: this.publishedBy[kind],
      dropped: { paused: this.skippedBy[kind] },
    }));
  }

  /** A snapshot of how far the replay is. */
  get progress(): ReplayProgress {
    const durationMs = this.fixture?.durationMs ?? 0;
    return {
      positionMs: this.positionMs,
      durationMs,
      passes: this.passes,
      published: this.published,
      playedMs: this.passes * durationMs + this.positionMs,
      speed: this.options.speed,
      loop: this.options.loop,
    };
  }

  /** Clock time of the fixture's t_ms 0 on the first pass. */
  get originMs(): number {
    return this.fixture?.startTimeMs ?? 0;
  }

  async start(signal?: AbortSignal): Promise<void> {
    // The scan reads every record once; a shutdown during start-up stops it (recording/reader.ts).
    this.fixture = await openFixture(this.options.fixtureDir, signal === undefined ? {} : { signal });
    for (const w of this.fixture.warnings) this.options.logger.warn({ fixture: this.options.fixtureDir }, w);
    this.options.logger.info(
      {
        fixture: this.options.fixtureDir,
        sensors: this.fixture.sensors,
        durationMs: Math.round(this.fixture.durationMs),
        speed: this.options.speed,
        loop: this.options.loop,
      },
      'replaying fixture',
    );
    for (const p of this.pauses) p.start();
    // The run begins on the next turn so every component started after this one is ready.
    this.running = new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.run());
    this.running.then(
      () => this.resolveDone(),
      (err: unknown) => this.rejectDone(err instanceof Error ? err : new Error(String(err))),
    );
  }

  /** Skip a sensor's records until resume() (the pause command, as on a live sensor). */
  pause(sensor: SensorKind): void {
    const id = this.options.ids[sensor];
    if (this.paused.has(id)) return;
    this.paused.add(id);
    this.status(sensor, 'paused');
  }

  resume(sensor: SensorKind): void {
    if (!this.paused.delete(this.options.ids[sensor])) return;
    this.status(sensor, 'running');
  }

  async stop(): Promise<void> {
    await Promise.all(this.pauses.map((p) => p.stop()));
    this.abort.abort();
    await this.running?.catch(() => {});
  }

  private async run(): Promise<void> {
    const fixture = this.fixture!;
    const { clock, speed } = this.options;
    const signal = this.abort.signal;
    let origin = fixture.startTimeMs;
    if (clock.now() < origin) await clock.advanceTo(origin);
    if (speed > 0) clock.followWall(speed, this.options.wall);
    const loopGapMs = this.options.loopGapMs ?? 1000;
    // A looping replay keeps its first pass in memory (KeptPass) and plays the others from there.
    let kept: readonly FixtureEvent[] | undefined;
    for (;;) {
      const imu = new ImuAggregator({ eventRateHz: this.options.imuEventRateHz });
      if (kept !== undefined) {
        for (const ev of kept) {
          if (signal.aborted) return;
          await this.play(ev, origin, imu, signal);
        }
      } else {
        const keep = this.options.loop
          ? new KeptPass(this.options.keptPassMaxBytes ?? MAX_KEPT_PASS_BYTES)
          : undefined;
        for await (const ev of fixture.events(this.options.micFrameSamples, signal)) {
          if (signal.aborted) return;
          keep?.add(ev);
          await this.play(ev, origin, imu, signal);
        }
        kept = keep?.events();
      }
      const last = imu.flush();
      if (last !== undefined) await this.publishImu(last);
      // Its consumers finish at its own time, before the tail moves the clock on.
      if (last !== undefined && speed === 0) await this.settle();
      this.passes++;
      this.positionMs = 0;
      if (!this.options.loop || signal.aborted) break;
      origin += fixture.durationMs + loopGapMs;
    }
    const tail = this.options.tailMs ?? 3000;
    await this.advance(clock.now() + tail, signal);
    if (speed === 0) await this.settle();
    this.options.logger.info({ published: this.published, passes: this.passes }, 'replay finished');
  }

  /** Publish one record at its time (an IMU sample only when it completes a window). */
  private async play(
    ev: FixtureEvent,
    origin: number,
    imu: ImuAggregator,
    signal: AbortSignal,
  ): Promise<void> {
    const speed = this.options.speed;
    const t = origin + ev.tMs;
    if (ev.sensor === 'imu') {
      // Most IMU samples only fill the aggregator's window (100 Hz in, event_rate_hz out): the
      // clock needs to reach a sample only when it completes a window and is published. Timers
      // due in between fire at their own time on the way to the next published record, so what
      // runs downstream is unchanged; a paced replay wakes ~10× less often for the IMU.
      const event = imu.add({ ...ev.sample, tMs: t });
      if (event === undefined) return;
      await this.advance(t, signal);
      this.positionMs = ev.tMs;
      await this.publishImu(event);
    } else {
      await this.advance(t, signal);
      this.positionMs = ev.tMs;
      if (ev.sensor === 'camera') {
        await this.publish('camera', `sensor/camera/${this.options.ids.camera}/frame`, {
          seq: this.seq.camera++,
          tsMs: t,
          width: ev.frame.width,
          height: ev.frame.height,
          jpeg: ev.frame.jpeg,
        });
      } else {
        await this.publish('mic', `sensor/mic/${this.options.ids.mic}/frame`, {
          seq: this.seq.mic++,
          tsMs: t,
          sampleRateHz: 16_000,
          samples: ev.audio.samples,
        });
      }
    }
    if (speed === 0) await this.settle();
  }

  private async publishImu(event: ImuEvent): Promise<void> {
    this.seq.imu++;
    await this.publish('imu', `sensor/imu/${this.options.ids.imu}/window`, event);
  }

  private async publish<T extends Topic>(sensor: SensorKind, topic: T, payload: PayloadOf<T>): Promise<void> {
    if (this.paused.size > 0 && this.paused.has(this.options.ids[sensor])) {
      this.skippedWhilePaused++;
      this.skippedBy[sensor]++;
      return;
    }
    this.published++;
    this.publishedBy[sensor]++;
    await this.options.bus.publish(topic, payload, { source: `replay.${sensor}` });
  }

  private status(sensor: SensorKind, state: SensorState): void {
    const id = this.options.ids[sensor];
    const status: SensorStatus = {
      sensor: id,
      kind: sensor,
      state,
      restarts: 0,
      tsMs: this.options.clock.now(),
    };
    try {
      this.options.bus
        .publish(`sensor/${sensor}/${id}/status`, status, { source: `replay.${sensor}` })
        ?.catch(() => undefined);
    } catch {
      // A closed bus (the daemon stopping): nobody is left to tell.
    }
  }

  /** Move the virtual clock to `t`, following wall time when speed > 0. */
  private async advance(t: number, signal: AbortSignal): Promise<void> {
    const { clock, speed } = this.options;
    const ahead = t - clock.now();
    if (ahead <= 0) return;
    if (speed === 0) {
      // A timer on the way (a "no face" timeout, a segment closing) may start work outside the bus
      // (an agent's turn, a tool publishing later): let it finish before the clock moves past it,
      // or its results would carry whatever time the clock reached meanwhile. A timer due at `t`
      // itself too: its work would otherwise race the record published at `t` (a "no face" at
      // 10.5 s came before or after the frame of 10.5 s, depending on the disk).
      for (let due = clock.nextDueMs(); due !== undefined && due <= t; due = clock.nextDueMs()) {
        if (signal.aborted) return;
        await clock.advanceTo(due);
        await this.settle();
      }
      await clock.advanceTo(t);
      return;
    }
    // The clock follows wall time up to `t` (followWall in run()): timers due before `t` fire at
    // their own time, and nothing reads past `t` before its record is published.
    await clock.runUntil(t, signal);
  }

  /**
   * Wait until the bus is drained and no component has work in flight; repeated, because work that
   * finishes may publish more (a transcript after a speech segment, a decision after a transcript).
   */
  private async settle(): Promise<void> {
    const deadline = this.options.settleDeadlineMs ?? 60_000;
    for (let round = 0; round < 1000; round++) {
      await this.options.bus.drain(deadline);
      const busy = (this.options.components?.() ?? [])
        .map((c) => c.idle?.())
        .filter((p): p is Promise<void> => p !== undefined);
      if (busy.length === 0) return;
      await Promise.all(busy.map((p) => p.catch(() => {})));
    }
    throw new EdgeloomError(ErrorCode.E_REPLAY_SETTLE, 'pipeline did not settle after 1000 rounds', {
      where: this.name,
    });
  }
}
