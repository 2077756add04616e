import { describe, expect, it } from 'vitest';
import type { ImuSample } from '../../daemon/bus/topics.js';
import { ImuAggregator } from '../../daemon/sensors/imu/aggregator.js';

const sample = (tMs: number, v: Partial<ImuSample> = {}): ImuSample => ({
  tMs,
  ax: 0,
  ay: 0,
  az: 1,
  gx: 0,
  gy: 0,
  gz: 0,
  ...v,
});

describe('ImuAggregator', () => {
  it('folds 1 kHz into 100 Hz: 10 samples per event, stamped at the window end', () => {
    const agg = new ImuAggregator({ eventRateHz: 100 });
    const events = [];
    for (let t = 0; t < 1000; t++) {
      const e = agg.add(sample(5000 + t, { ax: t % 10 }));
      if (e) events.push(e);
    }
    const last = agg.flush();
    if (last) events.push(last);
    expect(events).toHaveLength(100);
    for (const [k, e] of events.entries()) {
      expect(e.sampleCount).toBe(10);
      expect(e.windowMs).toBe(10);
      expect(e.tsMs).toBe(5010 + 10 * k);
      expect(e.mean.ax).toBeCloseTo(4.5, 12);
      expect(e.peak.ax).toBe(9);
    }
  });

  it('computes mean, peak |value| per axis and |a| min/max/mean', () => {
    const agg = new ImuAggregator({ eventRateHz: 10 });
    agg.add(sample(0, { ax: 3, ay: 4, az: 0, gx: -50, gy: 10, gz: 1 }));
    agg.add(sample(50, { ax: 0, ay: 0, az: 1, gx: 20, gy: -30, gz: 1 }));
    agg.add(sample(99.9, { ax: 0, ay: 0, az: -2, gx: 0, gy: 0, gz: 1 }));
    const e = agg.add(sample(100))!;
    expect(e.sampleCount).toBe(3);
    expect(e.tsMs).toBe(100);
    expect(e.mean.ax).toBeCloseTo(1, 12);
    expect(e.mean.az).toBeCloseTo(-1 / 3, 12);
    expect(e.mean.gx).toBeCloseTo(-10, 12);
    expect(e.peak).toEqual({ ax: 3, ay: 4, az: 2, gx: 50, gy: 30, gz: 1 });
    expect(e.accelMagnitudeG.min).toBe(1);
    expect(e.accelMagnitudeG.max).toBe(5);
    expect(e.accelMagnitudeG.mean).toBeCloseTo(8 / 3, 12);
  });

  it('aligns windows to time and emits nothing for a gap', () => {
    const agg = new ImuAggregator({ eventRateHz: 100 });
    expect(agg.add(sample(3))).toBeUndefined();
    expect(agg.add(sample(7))).toBeUndefined();
    const first = agg.add(sample(1234));
    expect(first).toMatchObject({ tsMs: 10, sampleCount: 2 });
    const second = agg.add(sample(1240));
    expect(second).toMatchObject({ tsMs: 1240, sampleCount: 1 });
    expect(agg.eventsOut).toBe(2);
  });

  it('drops late and non-finite samples, counting them', () => {
    const agg = new ImuAggregator({ eventRateHz: 100 });
    agg.add(sample(100));
    expect(agg.add(sample(50))).toBeUndefined();
    expect(agg.add(sample(101, { gx: Number.NaN }))).toBeUndefined();
    expect(agg.add(sample(Number.POSITIVE_INFINITY))).toBeUndefined();
    expect(agg.lateSamples).toBe(1);
    expect(agg.invalidSamples).toBe(2);
    expect(agg.flush()).toMatchObject({ sampleCount: 1 });
    expect(agg.flush()).toBeUndefined();
  });

  it('rejects a nonsensical rate at construction', () => {
    expect(() => new ImuAggregator({ eventRateHz: 0 })).toThrow(RangeError);
  });
});
