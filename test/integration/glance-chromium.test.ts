import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ModelsStats } from '../../daemon/observe/stats-snapshot.js';
import { screenshot } from '../helpers/chromium.js';
import { type PageRig, type PageRigOptions, pageBus, rgbPixels, startPageRig } from '../helpers/page-rig.js';
import { needs } from '../helpers/tools.js';

describe.runIf(needs({ tools: ['chromium'] }))('dashboard models, routing and plugins panels', () => {
  const bus = pageBus();
  let models: ModelsStats = {
    budgetMb: 2048,
    usedMb: 512,
    models: [
      { id: 'face-detector', state: 'loaded', memoryMb: 312 },
      { id: 'silero-vad', state: 'loaded', memoryMb: 200 },
    ],
    latency: [{ model: 'face-detector', p50Ms: 14, p99Ms: 31, runs: 420 }],
    events: [
      { tsMs: Date.UTC(2026, 11, 4, 8, 0, 0), model: 'face-detector', kind: 'load', loadMs: 120 },
      { tsMs: Date.UTC(2026, 11, 4, 8, 5, 0), model: 'whisper', kind: 'unload', why: 'idle for 60000 ms' },
    ],
  };
  const options: PageRigOptions = {
    statsIntervalMs: 200,
    providers: {
      models: () => models,
      routing: () => ({
        decisions: { local: 40, cloud: 2 },
        cloudCalls: 2,
        cloudFailures: 1,
        costTodayUsd: 0.0123,
        costCapUsd: 0.5,
        breaker: 'half_open',
      }),
      privacy: () => ({
        sensors: { cam0: { kind: 'camera', tier: 'local_only' }, mic0: { kind: 'mic', tier: 'sensitive' } },
      }),
      egressToday: () => ({
        sinceMs: 0,
        truncated: false,
        destinations: [
          { via: 'cloud', destination: 'api.example.com', count: 3, bytes: 4096, refused: 1 },
          { via: 'mqtt', destination: 'lan broker.lan', count: 120, bytes: 900, refused: 7 },
        ],
      }),
      broker: () => ({ connected: true, destination: 'loopback', withheld: { tier: 17 } }),
      plugins: () => [
        {
          id: 'bme280',
          running: true,
          sandboxed: true,
          restarts: 2,
          restartDelaysMs: [500, 1000],
          linesIn: 40,
          linesOverlong: 0,
          linesBad: 1,
          eventsSent: 30,
          eventsDropped: 4,
          eventsWithheld: 5,
          published: 12,
          publishRefused: 1,
          publishDropped: 0,
          toolCalls: 3,
          toolOk: 2,
          toolFailures: 1,
          ready: true,
          healthOk: false,
          healthDetail: 'i2c read failed',
          syncTimeouts: 0,
        },
      ],
      mcp: () => ({
        servers: [
          {
            id: 'weather',
            running: true,
            ready: true,
            restarts: 0,
            tools: ['weather.forecast'],
            toolsRefused: 0,
            toolCalls: 6,
            toolOk: 5,
            toolFailures: 1,
          },
        ],
      }),
    },
  };
  let rig: PageRig;

  beforeAll(async () => {
    rig = await startPageRig(bus, options);
  });
  afterAll(() => rig?.close());

  /** The share of the budget bar painted in its fill colour. */
  async function barShare(page: import('playwright-core').Page): Promise<number> {
    const png = await page.locator('#budget-bar').screenshot();
    const { data, info } = await rgbPixels(png);
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

  it('shows the models against the budget, what routing did and kept, and the plugins', async () => {
    const page = await rig.browser.newPage();
    await page.goto(`${rig.server.url()}/`);
    const panel = page.getByRole('region', { name: 'models and memory budget' });
    await panel.waitFor({ state: 'visible' });
    await expect.poll(() => page.textContent('#budget-text')).toBe('512 of 2048 MB charged');
    await expect.poll(() => barShare(page)).toBeGreaterThan(0.2);
    expect(await barShare(page)).toBeLessThan(0.3);
    const rows = await page.locator('#model-table tbody tr').allTextContents();
    expect(rows).toEqual(['face-detectorloaded312 MB14 ms31 ms420', 'silero-vadloaded200 MB–––']);

    // Load and unload events, newest first.
    const events = await page
      .getByRole('list', { name: 'model loads and unloads' })
      .locator('li')
      .allTextContents();
    expect(events).toHaveLength(2);
    expect(events[0]).toMatch(/ unload whisper idle for 60000 ms$/);
    expect(events[1]).toMatch(/ load face-detector in 120 ms$/);

    models = { ...models, usedMb: 1900 };
    await expect.poll(() => barShare(page), { timeout: 10_000 }).toBeGreaterThan(0.9);

    const glance = page.getByRole('region', { name: 'routing and privacy' });
    await expect
      .poll(() => glance.locator('dd[data-key="decisions"]').textContent())
      .toBe('local 40 · cloud 2');
    expect(await glance.locator('dd[data-key="cloud calls"]').textContent()).toBe('2 (1 failed)');
    expect(await glance.locator('dd[data-key="cloud cost today"]').textContent()).toBe(
      '$0.0123 of $0.50 cap',
    );
    expect(await glance.locator('dd[data-key="cloud breaker"]').textContent()).toBe('half open');
    expect(await glance.locator('dd[data-key="tier cam0"]').textContent()).toBe('local-only (camera)');
    expect(await glance.locator('dd[data-key="tier mic0"]').textContent()).toBe('sensitive (mic)');
    const egress = page.getByRole('table', { name: 'left the device today' });
    expect(await egress.locator('tbody tr').allTextContents()).toEqual([
      'cloudapi.example.com34.0 KiB1',
      'mqttlan broker.lan120900 B7',
    ]);
    expect(await glance.locator('dd[data-key="kept on the device"]').textContent()).toBe('tier 17');
    const plugins = page.getByRole('region', { name: 'plugins' });
    await plugins.waitFor({ state: 'visible' });
    expect(await plugins.locator('tbody tr').allTextContents()).toEqual([
      'bme280unhealthy: i2c read failed30 delivered · 4 dropped · 5 withheld12 accepted · 1 refused · 0 dropped2 ok · 1 failed2',
      'weather (MCP)up: 1 tool––5 ok · 1 failed0',
    ]);
    await screenshot(page, 'dashboard-glance', true);
    expect(rig.browser.problems).toEqual([]);
    await page.close();
  });
});
