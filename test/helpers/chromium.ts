/**
 * Headless Chromium (the system's /usr/bin/chromium, driven by playwright-core) for the page tests:
 * a throw-away profile, flags that keep it off the network (there is none here but loopback), and
 * a record of console errors and page exceptions so a CSP violation or a script error fails the
 * test that caused it. Screenshots and measurements go to test-artifacts/.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { REPO_ROOT } from './tools.js';

/** Where screenshots and recorded (not asserted) measurements are written. */
export const ARTIFACTS = join(REPO_ROOT, 'test-artifacts');

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export class HeadlessChromium {
  /** `url: message` for every console error and uncaught page exception, in any page opened here. */
  readonly problems: string[] = [];

  private constructor(
    readonly context: BrowserContext,
    private readonly userDataDir: string,
  ) {}

  /** Launch with a fresh profile; `initScript` runs in every page before the page's own scripts. */
  static async launch(initScript?: string): Promise<HeadlessChromium> {
    mkdirSync(ARTIFACTS, { recursive: true });
    const userDataDir = mkdtempSync(join(tmpdir(), 'edgeloom-chromium-'));
    try {
      const context = await chromium.launchPersistentContext(userDataDir, {
        executablePath: '/usr/bin/chromium',
        headless: true,
        args: CHROMIUM_ARGS,
        viewport: { width: 1280, height: 900 },
      });
      if (initScript !== undefined) await context.addInitScript({ content: initScript });
      return new HeadlessChromium(context, userDataDir);
    } catch (err) {
      rmSync(userDataDir, { recursive: true, force: true });
      throw err;
    }
  }

  /** A new page whose console errors and exceptions land in `problems`. */
  async newPage(): Promise<Page> {
    const page = await this.context.newPage();
    page.on('console', (m) => {
      if (m.type() === 'error') this.problems.push(`${page.url()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => this.problems.push(`${page.url()}: ${e.message}`));
    return page;
  }

  async close(): Promise<void> {
    await this.context.close();
    rmSync(this.userDataDir, { recursive: true, force: true });
  }
}

/** Save a screenshot as test-artifacts/<name>.png. */
export async function screenshot(page: Page, name: string, fullPage = false): Promise<void> {
  await page.screenshot({ path: join(ARTIFACTS, `${name}.png`), fullPage });
}

/** Write a recorded measurement as test-artifacts/<name>.json (pretty-printed). */
export function writeArtifact(name: string, value: unknown): void {
  writeFileSync(join(ARTIFACTS, `${name}.json`), `${JSON.stringify(value, null, 2)}\n`);
}
