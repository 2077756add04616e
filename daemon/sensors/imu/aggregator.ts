import type { ImuEvent, ImuSample } from '../../bus/topics.js';

/**
 * Folds raw IMU samples (e.g. 1 kHz) into ImuEvents at `eventRateHz` (e.g. 100 Hz): the bus
 * carries the aggregate, never every raw sample (STYLE: "aggregation for IMU" is the overflow
 * policy for this sensor). Pure and clock-free: windows are driven by sample timestamps only, so
 * a replay folds exactly like the live run.
 *
 * Windows are aligned to time: window k covers [k·W, (k+1)·W) ms with W = 1000 / eventRateHz, and
 * its event is stamped at the window's end. A window closes when a sample of a later window
 * arrives (or on flush()); windows without samples produce no event (a gap yields nothing, not
 * zeros). State is one window of running sums: O(1) memory whatever the rate.
 * Samples older than the open window (out-of-order after a clock step) are dropped and counted.
 */
export interface ImuAggregatorOptions {
  /** Events per second; the window is 1000 / eventRateHz ms. */
  readonly eventRateHz: number;
}

type Axis = 'ax' | 'ay' | 'az' | 'gx' | 'gy' | 'gz';
const AXES: readonly Axis[] = ['ax', 'ay', 'az', 'gx', 'gy', 'gz'];

export class ImuAggregator {
  readonly windowMs: number;
  /** Samples folded into an event. */
  samplesIn = 0;
  /** Samples older than the open window, dropped. */
  lateSamples = 0;
  /** Samples with a non-finite value or timestamp, dropped. */
  invalidSamples = 0;
  eventsOut = 0;
  private windowIndex = Number.NEGATIVE_INFINITY;
  private count = 0;
  private readonly sum = new Float64Array(6);
  private readonly peak = new Float64Array(6);
  private magMin = 0;
  private magMax = 0;
  private magSum = 0;

  constructor(options: ImuAggregatorOptions) {
    if (!(options.eventRateHz > 0) || !Number.isFinite(options.eventRateHz)) {
      throw new RangeError(`eventRateHz must be a positive number, got ${options.eventRateHz}`);
    }
    this.windowMs = 1000 / options.eventRateHz;
  }

  /** Fold one sample; returns the event of the window it closed, if any. */
  add(sample: ImuSample): ImuEvent | undefined {
    const v0 = sample.ax;
    const v1 = sample.ay;
    const v2 = sample.az;
    if (
      !Number.isFinite(sample.tMs) ||
      !Number.isFinite(v0 + v1 + v2) ||
      !Number.isFinite(sample.gx + sample.gy + sample.gz)
    ) {
      this.invalidSamples++;
      return undefined;
    }
    const index = Math.floor(sample.tMs / this.windowMs);
    let closed: ImuEvent | undefined;
    if (index < this.windowIndex) {
      this.lateSamples++;
      return undefined;
    }
    if (index > this.windowIndex) {
      closed = this.flush();
      this.windowIndex = index;
    }
    const values = [v0, v1, v2, sample.gx, sample.gy, sample.gz];
    for (let i = 0; i < 6; i++) {
      const v = values[i]!;
      this.sum[i]! += v;
      const a = Math.abs(v);
      if (a > this.peak[i]!) this.peak[i] = a;
    }
    const mag = Math.sqrt(v0 * v0 + v1 * v1 + v2 * v2);
    if (this.count === 0 || mag < this.magMin) this.magMin = mag;
    if (this.count === 0 || mag > this.magMax) this.magMax = mag;
    this.magSum += mag;
    this.count++;
    this.samplesIn++;
    return closed;
  }

  /** Close the open window now (end of stream, disconnect); undefined when it holds no sample. */
  flush(): ImuEvent | undefined {
    if (this.count === 0) return undefined;
    const n = this.count;
    const mean = {} as Record<Axis, number>;
    const peak = {} as Record<Axis, number>;
    AXES.forEach((axis, i) => {
      mean[axis] = this.sum[i]! / n;
      peak[axis] = this.peak[i]!;
    });
    const event: ImuEvent = {
      tsMs: (this.windowIndex + 1) * this.windowMs,
      windowMs: this.windowMs,
      sampleCount: n,
      mean,
      peak,
      accelMagnitudeG: { min: this.magMin, max: this.magMax, mean: this.magSum / n },
    };
    this.count = 0;
    this.sum.fill(0);
    this.peak.fill(0);
    this.magSum = 0;
    this.eventsOut++;
    return event;
  }

  /** Forget the open window without emitting it (after a pause or a time re-sync). */
  reset(): void {
    this.count = 0;
    this.sum.fill(0);
    this.peak.fill(0);
    this.magSum = 0;
    this.windowIndex = Number.NEGATIVE_INFINITY;
  }
}
