/**
 * The kiosk display page survives a daemon restart, in real Chromium against the compiled daemon:
 * the page stays open while the daemon stops (it says "reconnecting…"), reconnects by itself when
 * the daemon is back on the same port, and shows the current emotion at once. The second run has
 * its camera switched off, so the only emotion the page can get from it is the one the
 * emotion-display agent re-shows from its stored state — which must be the fold of the log the
 * first run left behind.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { afterAll, describe, expect, it } from 'vitest';
import {
  type EmotionDisplayEvent,
  type EmotionDisplayState,
  initialEmotionState,
  reduceEmotion,
} from '../../daemon/agents/emotion-display.js';
import { fold } from '../../daemon/agents/reducer.js';
import { AgentStore } from '../../daemon/agents/store.js';
import { HeadlessChromium, screenshot } from '../helpers/chromium.js';
import { type CliChild, spawnCli } from '../helpers/cli-process.js';
import { freePort } from '../helpers/mosquitto.js';
import { needs } from '../helpers/tools.js';

/** The state the emotion-display agent's stored log folds to. */
async function storedDisplayState(storageDir: string): Promise<EmotionDisplayState> {
  const db = new Level<string, unknown>(storageDir, { valueEncoding: 'json' });
  await db.open();
  try {
    const store = new AgentStore({ db, snapshotEvery: 1000, retentionEvents: 1000 });
    const log = await store.load<EmotionDisplayState, EmotionDisplayEvent>('emotion-display');
    await store.close();
    return fold(reduceEmotion, log.snapshot?.state ?? initialEmotionState(), log.events);
  } finally {
    await db.close();
  }
}

/** Before any page script: every action/display message the page receives, in order. */
const PROBE = `(() => {
  const seen = [];
  globalThis.displayMessages = seen;
  const Native = globalThis.EventSource;
  globalThis.EventSource = class extends Native {
    constructor(url, init) {
      super(url, init);
      this.addEventListener('message', (m) => {
        try {
          const ev = JSON.parse(m.data);
          if (ev.topic === 'action/display' && seen.length < 1000) seen.push({ id: ev.id, ...ev.payload });
        } catch {}
      });
    }
  };
})();`;

interface Shown {
  id: string;
  emotion: string;
  confidence: number;
}

describe.runIf(needs({ tools: ['chromium'] }))('the display page across a daemon restart', () => {
  const storageDir = mkdtempSync(join(tmpdir(), 'edgeloom-display-restart-'));
  let daemon: CliChild | undefined;
  let browser: HeadlessChromium | undefined;

  afterAll(async () => {
    await browser?.close();
    daemon?.process.kill('SIGTERM');
    await daemon?.exited;
    rmSync(storageDir, { recursive: true, force: true });
  });

  it('reconnects by itself and shows the stored emotion at once', async () => {
    const [httpPort, brokerPort] = [await freePort(), await freePort()];
    const env = (extra: Record<string, string>): Record<string, string> => ({
      EDGELOOM_HTTP_PORT: String(httpPort),
      EDGELOOM_MQTT_EMBEDDED_PORT: String(brokerPort),
      EDGELOOM_STORAGE_DIR: storageDir,
      EDGELOOM_DEVICE_ID: 'display-restart',
      ...extra,
    });
    daemon = spawnCli(['run'], { env: env({ EDGELOOM_SOURCE_REPLAY_SPEED: '4' }) });
    await daemon.waitForLog('edgeloom running', 'stdout', 60_000);

    browser = await HeadlessChromium.launch(PROBE);
    const messages = (): Promise<Shown[]> =>
      page.evaluate(() => (globalThis as unknown as { displayMessages: Shown[] }).displayMessages);
    const page = await browser.newPage();
    await page.setViewportSize({ width: 1024, height: 600 });
    await page.goto(`http://127.0.0.1:${httpPort}/display`);
    await page.locator('#conn', { hasText: 'connected' }).waitFor({ state: 'attached' });
    // The demo's astronaut: wait until the page shows a face (not "no face").
    await expect
      .poll(() => page.getAttribute('body', 'data-emotion'), { timeout: 60_000 })
      .not.toBe('no_face');

    daemon.process.kill('SIGTERM');
    expect((await daemon.exited).code).toBe(0);
    daemon = undefined;
    await page.locator('#conn', { hasText: 'reconnecting' }).waitFor({ state: 'attached' });
    const stored = await storedDisplayState(storageDir);
    expect(stored.changes).toBeGreaterThan(0);
    const before = (await messages()).length;

    // Back on the same port with the camera off: nothing new to show but the stored state.
    daemon = spawnCli(['run'], {
      env: env({
        // A replay's clock restarts in the fixture's past: as fast as it goes, so it soon reaches
        // the time the stored emotion was shown, and with no "no face" timeout due in the run.
        EDGELOOM_SOURCE_REPLAY_SPEED: '0',
        EDGELOOM_SENSORS_CAMERA_ENABLED: 'false',
        EDGELOOM_AGENTS_EMOTION_DISPLAY_NO_FACE_TIMEOUT_MS: '86400000',
      }),
    });
    await daemon.waitForLog('edgeloom running', 'stdout', 60_000);
    await page.locator('#conn', { hasText: 'connected' }).waitFor({ state: 'attached', timeout: 30_000 });
    await expect.poll(async () => (await messages()).length, { timeout: 30_000 }).toBeGreaterThan(before);
    const first = (await messages())[before]!;
    expect(first).toMatchObject({ emotion: stored.shown });
    expect(first.confidence).toBeCloseTo(stored.shownConfidence, 3);
    expect(await page.getAttribute('body', 'data-emotion')).toBe(stored.shown);
    expect(await page.textContent('#label')).toBe(
      stored.shown === 'no_face' ? 'No face' : stored.shown.replace(/_/g, ' '),
    );
    await screenshot(page, 'display-after-restart');
    // While the daemon went down and was away the browser logged connection errors (the event
    // stream cut, its reconnection attempts refused); nothing else.
    const unexpected = browser.problems.filter(
      (p) =>
        !/net::ERR_(CONNECTION_REFUSED|CONNECTION_RESET|EMPTY_RESPONSE|INCOMPLETE_CHUNKED_ENCODING)/.test(p),
    );
    expect(unexpected, JSON.stringify(browser.problems)).toEqual([]);
    await page.close();
  });
});
