import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImuEvent } from '../../daemon/bus/topics.js';
import { screenshot } from '../helpers/chromium.js';
import { type PageRig, pageBus, rgbPixels, startPageRig } from '../helpers/page-rig.js';
import { needs } from '../helpers/tools.js';

/** motion.js: the chart spans 30 s of sensor time, its newest point at the right edge. */
const WINDOW_MS = 30_000;
const FALL_RGB = [0xe5, 0x3e, 0x3e] as const;

function window(tsMs: number, accelMaxG: number, gyroY: number): ImuEvent {
  const axes = { ax: 0, ay: 0, az: 1, gx: 0, gy: gyroY, gz: 0 };
  return {
    tsMs,
    windowMs: 100,
    sampleCount: 10,
    mean: axes,
    peak: axes,
    accelMagnitudeG: { min: Math.min(1, accelMaxG), max: accelMaxG, mean: 1 },
  };
}

describe.runIf(needs({ tools: ['chromium'] }))('dashboard motion view', () => {
  const bus = pageBus();
  let rig: PageRig;

  beforeAll(async () => {
    rig = await startPageRig(bus);
  });
  afterAll(() => rig?.close());

  it('marks the fall at its time on the chart', async () => {
    const page = await rig.browser.newPage();
    await page.goto(`${rig.server.url()}/`);
    // The page's event stream is open once a published window shows up as a chart.
    const chart = page.locator('[aria-label="motion imu0"]');
    const t0 = 1_700_000_000_000;
    await expect
      .poll(
        async () => {
          bus.publish('sensor/imu/imu0/window', window(t0, 1, 0));
          return chart.count();
        },
        { interval: 200, timeout: 10_000 },
      )
      .toBe(1);
    const fallAtMs = t0 + 8_300;
    for (let t = t0 + 100; t <= t0 + 10_000; t += 100) {
      const impact = t === fallAtMs;
      bus.publish('sensor/imu/imu0/window', window(t, impact ? 3.5 : 1, impact ? 300 : 0));
    }
    bus.publish('agent/motion/motion', { kind: 'fall', tsMs: fallAtMs, details: { peakG: 3.5 } });
    await page.waitForFunction(
      () =>
        ((globalThis as unknown as { edgeloomMotionMarks?: unknown[] }).edgeloomMotionMarks ?? []).length ===
        1,
    );
    const endMs = t0 + 10_000;
    const fx = 1 - (endMs - fallAtMs) / WINDOW_MS;
    const beforeFx = 1 - (endMs - (t0 + 5_000)) / WINDOW_MS;
    // Pixels of the chart at 40 % height (above the 1 g line, below the label): poll until the
    // animation frame that draws the newest events has run.
    const sample = async (): Promise<{ fall: number[]; before: number[] }> => {
      const png = await chart.screenshot();
      const { data, info } = await rgbPixels(png);
      const at = (x: number): number[] => {
        const i = (Math.round(0.4 * info.height) * info.width + Math.round(x * info.width)) * 3;
        return [data[i]!, data[i + 1]!, data[i + 2]!];
      };
      return { fall: at(fx), before: at(beforeFx) };
    };
    const near = (a: readonly number[], b: readonly number[]): boolean =>
      a.every((v, i) => Math.abs(v - b[i]!) <= 30);
    await screenshot(page, 'dashboard-motion-view');
    await expect.poll(async () => near((await sample()).fall, FALL_RGB), { timeout: 10_000 }).toBe(true);
    expect(near((await sample()).before, FALL_RGB)).toBe(false);
    expect(await page.textContent('#motion-list figcaption')).toContain('imu0');
    await screenshot(page, 'dashboard-motion-view');
    expect(rig.browser.problems).toEqual([]);
    await page.close();
  });
});
