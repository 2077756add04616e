import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Bus } from '../../daemon/bus/bus.js';
import type { DisplayAction } from '../../daemon/bus/topics.js';
import { silentLogger } from '../../daemon/log.js';
import { HttpServer } from '../../daemon/observe/http/server.js';
import { StatsCollector } from '../../daemon/observe/stats.js';
import { SystemClock } from '../../daemon/util/clock.js';
import { HeadlessChromium, screenshot, writeArtifact } from '../helpers/chromium.js';
import { needs } from '../helpers/tools.js';

interface Shown {
  /** The SSE event id (the bus envelope's sequence number) the page applied last. */
  id: string;
  emotion: string;
  confidence: number;
  appliedAtMs: number;
}

describe.runIf(needs({ tools: ['chromium'] }))('dashboard and display page in headless Chromium', () => {
  const clock = new SystemClock();
  const logger = silentLogger();
  const bus = new Bus({ clock, logger });
  const stats = new StatsCollector({
    clock,
    logger,
    bus,
    intervalMs: 500,
    providers: {
      bus: () => bus.stats(),
      health: () => ({
        'sensor.camera.front': { status: 'ok' },
        'sensor.mic.main': { status: 'degraded', reasons: ['arecord exited 1'] },
      }),
      models: () => ({ latency: [{ model: 'face-detector', p50Ms: 14, p99Ms: 30 }] }),
      routing: () => ({ decisions: { local: 3, cloud: 1 }, cloudLatencyP50Ms: 380, costTodayUsd: 0.002 }),
    },
  });
  const server = new HttpServer({ bus, stats, clock, logger, port: 0 });
  let browser: HeadlessChromium;
  let base: string;

  beforeAll(async () => {
    await stats.start();
    await server.start(new AbortController().signal);
    base = server.url();
    browser = await HeadlessChromium.launch();
  });

  afterAll(async () => {
    await browser?.close();
    await server.stop();
    await stats.stop();
    await bus.close();
  });

  it('shows each action/display the moment it is published, including "no face"', async () => {
    const page = await browser.newPage();
    await page.goto(`${base}/display`);
    await page.locator('#conn', { hasText: 'connected' }).waitFor({ state: 'attached' });
    await expect.poll(() => page.textContent('#label')).toBe('No face');

    const actions: DisplayAction[] = [
      { emotion: 'happy', emoji: '😀', confidence: 0.93 },
      { emotion: 'sad', emoji: '😢', confidence: 0.61, text: 'cheer up' },
      { emotion: 'surprised', emoji: '😮', confidence: 0.77 },
      { emotion: 'no_face', emoji: '', confidence: 0 },
    ];
    const latencies: { emotion: string; publishToDomMs: number }[] = [];
    const shownIds: number[] = [];
    for (const action of actions) {
      const publishedAtMs = Date.now();
      bus.publish('action/display', action, { source: 'agent.emotion' });
      await page.waitForFunction(
        (e) => (globalThis as unknown as { edgeloomDisplay?: Shown }).edgeloomDisplay?.emotion === e,
        action.emotion,
      );
      const shown = (await page.evaluate(
        () => (globalThis as unknown as { edgeloomDisplay: Shown }).edgeloomDisplay,
      )) as Shown;
      latencies.push({ emotion: action.emotion, publishToDomMs: shown.appliedAtMs - publishedAtMs });
      shownIds.push(Number(shown.id));
      // What the page shows is this action, not only its emotion: the confidence it was given.
      expect(shown.confidence).toBeCloseTo(action.confidence, 2);
      expect(await page.getAttribute('body', 'data-emotion')).toBe(action.emotion);
      if (action.emotion === 'no_face') {
        expect(await page.textContent('#label')).toBe('No face');
        expect(await page.isHidden('#confidence-wrap')).toBe(true);
      } else {
        expect(await page.textContent('#label')).toBe(action.emotion);
        expect(await page.getAttribute('#face', 'aria-label')).toBe(`face: ${action.emotion}`);
        expect(await page.textContent('#confidence')).toBe(`${Math.round(action.confidence * 100)}%`);
        expect(await page.textContent('#text')).toBe(action.text ?? '');
      }
      await screenshot(page, `display-${action.emotion}`);
    }
    // The latency is recorded, not asserted (a timed assertion would flake on shared cores).
    writeArtifact('display-latency', { latencies });
    // Each action was applied from its own, newer event: a page re-applying a stale event (or the
    // stream's initial state) would repeat an id or go back.
    for (let i = 1; i < shownIds.length; i++) expect(shownIds[i]).toBeGreaterThan(shownIds[i - 1]!);
    await page.close();
  });

  it('renders component status, live events, routing decisions, transcripts and emotions', async () => {
    const page = await browser.newPage();
    await page.goto(`${base}/`);
    await page.locator('#stream-state', { hasText: 'streaming #' }).waitFor({ state: 'attached' });
    const statusRows = page.locator('#status tbody tr');
    await expect.poll(() => statusRows.count()).toBe(2);
    expect(await page.textContent('#status tbody')).toContain('arecord exited 1');
    await expect.poll(() => page.textContent('#health')).toBe('degraded');

    bus.publish('router/decision', {
      inferenceId: 'stt-1',
      kind: 'stt',
      modelId: 'whisper-tiny',
      route: 'hybrid',
      reason: 'confidence_below_threshold',
      numbers: { confidence: 0.41, threshold: 0.6 },
      tier: 'public',
    });
    bus.publish('inference/stt/main', {
      modelId: 'whisper-tiny',
      confidence: 0.8,
      latencyMs: 300,
      inputTsMs: 0,
      text: 'turn on the kitchen light',
      language: 'en',
      noSpeechProb: 0.01,
      avgLogProb: -0.2,
      durationMs: 1500,
      inferenceMs: 300,
      segmentStartMs: 0,
      segmentId: 'front:1',
    });
    bus.publish('action/display', { emotion: 'angry', emoji: '😠', confidence: 0.8 });
    bus.publish('sensor/camera/front/frame', {
      seq: 7,
      tsMs: 0,
      width: 2,
      height: 2,
      jpeg: Buffer.alloc(10),
    });

    await expect.poll(() => page.textContent('#decisions')).toContain('hybrid');
    expect(await page.textContent('#decisions')).toContain('confidence_below_threshold');
    expect(await page.textContent('#decisions')).toContain('threshold=0.6');
    await expect.poll(() => page.textContent('#transcripts')).toContain('turn on the kitchen light');
    await expect.poll(() => page.textContent('#emotions')).toContain('angry');
    await expect.poll(() => page.textContent('#events tbody')).toContain('inference/stt/main');
    // Sensor frames are hidden by default.
    expect(await page.textContent('#events tbody')).not.toContain('sensor/camera/front/frame');

    // Narrow the stream server-side: only matching events arrive afterwards.
    await page.fill('#pattern', 'agent/+/intent');
    await page.click('#filter button[type=submit]');
    await page
      .locator('#stream-state', { hasText: 'streaming agent/+/intent' })
      .waitFor({ state: 'attached' });
    bus.publish('system/error', {
      severity: 'warning',
      component: 'x',
      code: 'E_MEMORY_PRESSURE',
      message: 'filtered out',
    });
    bus.publish('agent/home/intent', {
      intent: 'light_on',
      slots: {},
      score: 0.9,
      text: 'light on',
      source: 'local',
    });
    await expect.poll(() => page.textContent('#events tbody')).toContain('agent/home/intent');
    expect(await page.textContent('#events tbody')).not.toContain('system/error');

    // The subscriptions table and the charts come from /api/stats.
    // The page polls every 2 s.
    await expect.poll(() => page.textContent('#subs tbody')).toContain('http.sse');
    await expect.poll(() => page.textContent('#legend-latency')).toContain('face-detector p50');
    await screenshot(page, 'dashboard', true);
    await page.close();
    // Console errors and page exceptions (a CSP violation, a script error) fail the test.
    expect(browser.problems).toEqual([]);
  });
});
