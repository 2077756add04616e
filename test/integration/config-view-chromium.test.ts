/**
 * The dashboard's configuration view in headless Chromium: the configuration a real loadConfig
 * built from a YAML file, an EDGELOOM_* variable and an override, each key with where it came
 * from, and secrets masked — the page never receives them.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Bus } from '../../daemon/bus/bus.js';
import { configSources, loadConfig, redactConfig } from '../../daemon/config/index.js';
import { silentLogger } from '../../daemon/log.js';
import { HttpServer } from '../../daemon/observe/http/server.js';
import { StatsCollector } from '../../daemon/observe/stats.js';
import { SystemClock } from '../../daemon/util/clock.js';
import { HeadlessChromium, screenshot } from '../helpers/chromium.js';
import { needs } from '../helpers/tools.js';

const API_KEY = 'sk-config-view-must-never-reach-the-page';

describe.runIf(needs({ tools: ['chromium'] }))('dashboard configuration view', () => {
  const clock = new SystemClock();
  const logger = silentLogger();
  const bus = new Bus({ clock, logger });
  const stats = new StatsCollector({ clock, logger, bus, intervalMs: 500, providers: {} });
  const dir = mkdtempSync(join(tmpdir(), 'edgeloom-config-view-'));
  const file = join(dir, 'edgeloom.yaml');
  writeFileSync(
    file,
    `# a user's config\ncloud:\n  api_key: ${API_KEY}\nmqtt:\n  stats_interval_ms: 10000\n`,
  );
  const config = loadConfig({
    file,
    env: { EDGELOOM_HTTP_PORT: '9191' },
    overrides: { device: { id: 'kitchen-pi' } },
  });
  const server = new HttpServer({
    bus,
    stats,
    clock,
    logger,
    port: 0,
    configView: () => ({
      config: redactConfig(config),
      sources: Object.fromEntries(configSources(config) ?? []),
    }),
  });
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
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists every key with its value and source, secrets masked', async () => {
    const page = await browser.newPage();
    const bodies: string[] = [];
    page.on('response', (r) => {
      if (r.url().includes('/api/config')) void r.text().then((t) => bodies.push(t));
    });
    await page.goto(`${server.url()}/`);
    await page.locator('#config summary').click();
    const row = (key: string) =>
      page.locator('#config-table tbody tr', { has: page.locator(`td:text-is("${key}")`) });
    await expect.poll(() => row('http.port').count()).toBe(1);
    expect(await row('http.port').locator('td').allTextContents()).toEqual([
      'http.port',
      '9191',
      'env EDGELOOM_HTTP_PORT',
    ]);
    expect(await row('device.id').locator('td').allTextContents()).toEqual([
      'device.id',
      '"kitchen-pi"',
      'overrides',
    ]);
    expect(await row('mqtt.stats_interval_ms').locator('td').allTextContents()).toEqual([
      'mqtt.stats_interval_ms',
      '10000',
      `${file}:5:22`,
    ]);
    expect(await row('cloud.api_key').locator('td').allTextContents()).toEqual([
      'cloud.api_key',
      '"[redacted]"',
      `${file}:3:12`,
    ]);
    expect((await row('http.host').locator('td').allTextContents())[2]).toBe('default');
    // The filter narrows the table.
    await page.fill('#config-filter', 'stats_interval');
    await expect.poll(() => page.locator('#config-table tbody tr').count()).toBe(1);
    await screenshot(page, 'dashboard-config', true);
    // The secret never left the daemon.
    expect(bodies.length).toBeGreaterThan(0);
    for (const b of bodies) expect(b).not.toContain(API_KEY);
    expect(browser.problems).toEqual([]);
    await page.close();
  });
});
