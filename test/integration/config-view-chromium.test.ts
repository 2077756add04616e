/**
 * The dashboard's configuration view in headless Chromium: the configuration a real loadConfig
 * built from a YAML file, an EDGELOOM_* variable and an override, each key with where it came
 * from, and secrets masked — the page never receives them.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configSources, loadConfig, redactConfig } from '../../daemon/config/index.js';
import { screenshot } from '../helpers/chromium.js';
import { type PageRig, pageBus, startPageRig } from '../helpers/page-rig.js';
import { needs } from '../helpers/tools.js';

const API_KEY = 'sk-config-view-must-never-reach-the-page';

describe.runIf(needs({ tools: ['chromium'] }))('dashboard configuration view', () => {
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
  let rig: PageRig;

  beforeAll(async () => {
    rig = await startPageRig(pageBus(), {
      server: {
        configView: () => ({
          config: redactConfig(config),
          sources: Object.fromEntries(configSources(config) ?? []),
        }),
      },
    });
  });
  afterAll(async () => {
    await rig?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists every key with its value and source, secrets masked', async () => {
    const page = await rig.browser.newPage();
    const bodies: string[] = [];
    page.on('response', (r) => {
      if (r.url().includes('/api/config')) void r.text().then((t) => bodies.push(t));
    });
    await page.goto(`${rig.server.url()}/`);
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
    expect(rig.browser.problems).toEqual([]);
    await page.close();
  });
});
