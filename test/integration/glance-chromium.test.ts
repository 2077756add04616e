/**
 * The dashboard's two glance panels in headless Chromium, fed by a real StatsCollector: models
 * with their memory charged against the budget (the painted bar's length follows the share), and
 * routing and privacy (decisions, cloud calls, cost, what the MQTT gate kept on the device).
 */
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Bus } from '../../daemon/bus/bus.js';
import { silentLogger } from '../../daemon/log.js';
import { HttpServer } from '../../daemon/observe/http/server.js';
import { StatsCollector } from '../../daemon/observe/stats.js';
import type { ModelsStats } from '../../daemon/observe/stats-snapshot.js';
import { SystemClock } from '../../daemon/util/clock.js';
import { HeadlessChromium, screenshot } from '../helpers/chromium.js';
import { needs } from '../helpers/tools.js';

describe.runIf(needs({ tools: ['chromium'] }))('dashboard models and routing panels', () => {
  const clock = new SystemClock();
  const logger = silentLogger();
  const bus = new Bus({ clock, logger });
  let models: ModelsStats = {
    budgetMb: 2048,
    usedMb: 512,
    models: [
      { id: 'face-detector', state: 'loaded', memoryMb: 312 },
      { id: 'silero-vad', state: 'loaded', memoryMb: 200 },
    ],
    latency: [{ model: 'face-detector', p50Ms: 14, p99Ms: 31, runs: 420 }],
  };
  const stats = new StatsCollector({
    clock,
    logger,
    bus,
    intervalMs: 200,
    providers: {
      models: () => models,
      routing: () => ({
        decisions: { local: 40, cloud: 2 },
        cloudCalls: 2,
        cloudFailures: 1,
        costTodayUsd: 0.0123,
      }),
      broker: () => ({ connected: true, destination: 'loopback', withheld: { tier: 17 } }),
    },
  });
  const server = new HttpServer({ bus, stats, clock, logger, port: 0 });
  let browser: HeadlessChromium;

  beforeAll(async () => {
    await stats.start();
    await server.start(new AbortController().signal);
    browser = await HeadlessChromium.launch();
  });
  afterAll(async () => {
    await browser?.close();
    await server.stop();
    await stats.stop();
    await bus.close();
  });

  /** The share of the budget bar painted in its fill colour. */
  async function barShare(page: import('playwright-core').Page): Promise<number> {
    const png = await page.locator('#budget-bar').screenshot();
    const { data, info } = await sharp(png).removeAlpha().raw().toBuffer({ resolveWithObject: true });
    const y = Math.floor(info.height / 2);
    let filled = 0;
    for (let x = 0; x < info.width; x++) {
      const i = (y * info.width + x) * 3;
      const blue = data[i]! < 90 && data[i + 2]! > 170;
      const red = data[i]! > 200 && data[i + 1]! < 100;
      if (blue || red) filled++;
    }
    return filled / info.width;
  }

  it('shows the models against the budget and what routing did and kept', async () => {
    const page = await browser.newPage();
    await page.goto(`${server.url()}/`);
    const panel = page.getByRole('region', { name: 'models and memory budget' });
    await panel.waitFor({ state: 'visible' });
    await expect.poll(() => page.textContent('#budget-text')).toBe('512 of 2048 MB charged');
    await expect.poll(() => barShare(page)).toBeGreaterThan(0.2);
    expect(await barShare(page)).toBeLessThan(0.3);
    const rows = await page.locator('#model-table tbody tr').allTextContents();
    expect(rows).toEqual(['face-detectorloaded312 MB14 ms31 ms420', 'silero-vadloaded200 MB–––']);

    models = { ...models, usedMb: 1900 };
    await expect.poll(() => barShare(page), { timeout: 10_000 }).toBeGreaterThan(0.9);

    const glance = page.getByRole('region', { name: 'routing and privacy' });
    await expect
      .poll(() => glance.locator('dd[data-key="decisions"]').textContent())
      .toBe('local 40 · cloud 2');
    expect(await glance.locator('dd[data-key="cloud calls"]').textContent()).toBe('2 (1 failed)');
    expect(await glance.locator('dd[data-key="cloud cost today"]').textContent()).toBe('$0.0123');
    expect(await glance.locator('dd[data-key="kept on the device"]').textContent()).toBe('tier 17');
    await screenshot(page, 'dashboard-glance', true);
    expect(browser.problems).toEqual([]);
    await page.close();
  });
});
