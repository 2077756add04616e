/**
 * The dashboard and the kiosk display page during a real `npm start` run: the compiled daemon with
 * the embedded default config (the demo fixture replayed in a loop, the embedded broker, HTTP),
 * opened in headless Chromium. Only ports, storage and the replay speed are overridden, through
 * the same EDGELOOM_* variables a user would set; nothing is fed to the pages by the test.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HeadlessChromium, screenshot, writeArtifact } from '../helpers/chromium.js';
import { type CliChild, spawnCli } from '../helpers/cli-process.js';
import { freePort } from '../helpers/mosquitto.js';
import { Subscriber, waitFor } from '../helpers/mqtt.js';
import { rgbPixels } from '../helpers/page-rig.js';
import { needs, REPO_ROOT } from '../helpers/tools.js';
import { until } from '../helpers/wait.js';

const DEVICE_ID = 'chromium-demo';
/** 4x real time: a 20 s demo pass takes ~5 s, with two display changes in each. */
const REPLAY_SPEED = 4;
/**
 * The bound for the display page: SSE message → DOM change. Checked as a figure by the
 * display benchmark (display_p99_within_100ms); here the latencies are recorded as an artefact and
 * the test asserts the structural reason they are small: each change is applied in the task that
 * delivered its message, before any later message is handled.
 */
const DISPLAY_BOUND_MS = 100;

/** What the in-page probe records (see PROBE): times are the page's performance.now(), ms. */
interface Probe {
  /** action/display and router/decision messages, at arrival, before the page's own handler. */
  arrivals: {
    id: string;
    topic: string;
    tsMs: number;
    payload: Record<string, unknown>;
    atMs: number;
    /** 1-based count of SSE messages delivered so far, this one included. */
    messageNo: number;
  }[];
  /** Each write of body[data-emotion], as seen by a MutationObserver (after the handler). */
  applied: { emotion: string; atMs: number; wallMs: number; afterMessageNo: number }[];
  /** The next animation frame after each write: when the change can be on screen. */
  painted: { emotion: string; atMs: number }[];
}

/**
 * Installed before any page script: wraps EventSource so a listener registered in the constructor
 * (thus before the page's `onmessage`) timestamps each message, and observes the DOM writes.
 * Both lists are bounded (oldest dropped) so a long run cannot grow the page.
 */
const PROBE = `(() => {
  const MAX = 500;
  const probe = { arrivals: [], applied: [], painted: [], messages: 0 };
  const push = (list, item) => {
    list.push(item);
    if (list.length > MAX) list.shift();
  };
  globalThis.edgeloomProbe = probe;
  const Native = globalThis.EventSource;
  globalThis.EventSource = class extends Native {
    constructor(url, init) {
      super(url, init);
      this.addEventListener('message', (m) => {
        const atMs = performance.now();
        const messageNo = ++probe.messages;
        try {
          const ev = JSON.parse(m.data);
          if (ev.topic === 'action/display' || ev.topic === 'router/decision') push(probe.arrivals, { ...ev, atMs, messageNo });
        } catch {}
      });
    }
  };
  new MutationObserver((records) => {
    const atMs = performance.now();
    for (const r of records) {
      const emotion = r.target.getAttribute('data-emotion') ?? '';
      push(probe.applied, { emotion, atMs, wallMs: Date.now(), afterMessageNo: probe.messages });
      requestAnimationFrame(() => push(probe.painted, { emotion, atMs: performance.now() }));
    }
  }).observe(document, { subtree: true, attributes: true, attributeFilter: ['data-emotion'] });
})();`;

/** The command `npm start` runs after its build step, from package.json. */
function npmStartCommand(): string[] {
  const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
    scripts: Record<string, string>;
  };
  const steps = pkg.scripts.start!.split('&&').map((s) => s.trim());
  expect(steps[0]).toBe('npm run build'); // a fresh clone has no dist/: start compiles first
  return steps.at(-1)!.split(/\s+/);
}

function probeOf(page: Page): Promise<Probe> {
  return page.evaluate(() => (globalThis as unknown as { edgeloomProbe: Probe }).edgeloomProbe);
}

/** Sum of a Prometheus counter's samples whose labels contain `labels`. */
function sample(metrics: string, name: string, labels = ''): number {
  let total = 0;
  for (const line of metrics.split('\n')) {
    if (!line.startsWith(`${name}{`) && !line.startsWith(`${name} `)) continue;
    if (!line.includes(labels)) continue;
    total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

describe.runIf(needs({ tools: ['chromium'] }))('npm start: dashboard and display page in Chromium', () => {
  let daemon: CliChild;
  let storageDir: string;
  let browser: HeadlessChromium;
  let mqttSub: Subscriber;
  let base: string;

  beforeAll(async () => {
    const [httpPort, brokerPort] = [await freePort(), await freePort()];
    storageDir = mkdtempSync(join(tmpdir(), 'edgeloom-start-'));
    const [node, script, ...args] = npmStartCommand();
    expect([node, script, ...args]).toEqual(['node', 'dist/daemon/cli/main.js', 'run']);
    daemon = spawnCli(args, {
      timeoutMs: 120_000,
      env: {
        EDGELOOM_HTTP_PORT: String(httpPort),
        EDGELOOM_MQTT_EMBEDDED_PORT: String(brokerPort),
        EDGELOOM_STORAGE_DIR: storageDir,
        EDGELOOM_DEVICE_ID: DEVICE_ID,
        EDGELOOM_SOURCE_REPLAY_SPEED: String(REPLAY_SPEED),
      },
    });
    await daemon.waitForLog('edgeloom running', 'stdout', 60_000);
    base = `http://127.0.0.1:${httpPort}`;
    // The embedded broker requires a login; the daemon generated the password in its state dir.
    const password = readFileSync(join(storageDir, 'mqtt-embedded-password'), 'utf8').trim();
    mqttSub = await Subscriber.connect(
      `mqtt://127.0.0.1:${brokerPort}`,
      [`edgeloom/${DEVICE_ID}/display/set`],
      50,
      { username: 'edgeloom', password },
    );
    browser = await HeadlessChromium.launch(PROBE);
  });

  afterAll(async () => {
    await browser?.close();
    await mqttSub?.close();
    if (daemon !== undefined) {
      daemon.process.kill('SIGTERM');
      const exit = await daemon.exited;
      // The demo shuts down cleanly on SIGTERM while the pages are still streaming.
      expect(exit.code).toBe(0);
    }
    if (storageDir) rmSync(storageDir, { recursive: true, force: true });
  });

  it('/healthz and /metrics answer during the run, and the counters move', async () => {
    // 'edgeloom running' is logged once start-up is done, but a component's status reaches the
    // metrics through the stats snapshot: wait for the state this test expects, then check it.
    const health = await until('/healthz to say ok', async () => {
      const r = await fetch(`${base}/healthz`);
      return r.status === 200 ? r : undefined;
    });
    expect(await health.json()).toEqual({ status: 'ok' });

    const scrape = async (): Promise<string> => {
      const r = await fetch(`${base}/metrics`);
      expect(r.status).toBe(200);
      expect(r.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
      return r.text();
    };
    const expected = [
      ...['source.replay', 'pipeline.face', 'pipeline.stt', 'http', 'actions.mqtt'].map(
        (component) => `edgeloom_component_status{component="${component}"} 0`,
      ),
      'edgeloom_mqtt_connected{broker="mqtt"} 1',
    ];
    const first = await until('every component ok and the broker connected in /metrics', async () => {
      const text = await scrape();
      return expected.every((line) => text.includes(line)) ? text : undefined;
    });
    for (const line of expected) expect(first).toContain(line);
    // The replay is live: a later scrape counts more camera frames.
    const frames = (text: string): number =>
      sample(text, 'edgeloom_bus_topic_events_total', 'topic="sensor/camera/cam0/frame"');
    const later = await until(
      'more camera frames in a later scrape',
      async () => {
        const text = await scrape();
        return frames(text) > frames(first) ? text : undefined;
      },
      { everyMs: 250 },
    );
    expect(frames(later)).toBeGreaterThan(frames(first));
    expect(sample(later, 'edgeloom_router_decisions_total')).toBeGreaterThan(0);
    expect(sample(later, 'process_resident_memory_bytes')).toBeGreaterThan(10e6);
  });

  it('the display page follows each display/set action within the bound, measured in the page', async () => {
    const page = await browser.newPage();
    await page.goto(`${base}/display`);
    await page.locator('#conn', { hasText: 'connected' }).waitFor({ state: 'attached' });
    // Opened mid-run, it shows the current emotion at once: the stream starts with the last action.
    await expect.poll(async () => (await probeOf(page)).applied.length).toBeGreaterThan(0);

    // The demo alternates a face (the astronaut) and no face (a coffee cup): wait for two changes.
    const changes = (p: Probe): number => {
      let shown = 'no_face';
      let n = 0;
      for (const a of p.applied) {
        if (a.emotion !== shown) n++;
        shown = a.emotion;
      }
      return n;
    };
    await expect.poll(async () => changes(await probeOf(page)), { interval: 250 }).toBeGreaterThanOrEqual(2);
    const probe = await probeOf(page);
    const displays = probe.arrivals.filter((a) => a.topic === 'action/display');

    // One DOM write per message, in order, with the message's emotion.
    expect(probe.applied.map((a) => a.emotion)).toEqual(displays.map((d) => d.payload.emotion));
    const latencies = displays.map((d, i) => ({
      emotion: String(d.payload.emotion),
      messageToDomMs: probe.applied[i]!.atMs - d.atMs,
      messageToFrameMs: (probe.painted[i]?.atMs ?? Number.NaN) - d.atMs,
    }));

    // Each change is also a display/set message on MQTT (matched by fixture time `ts`).
    await waitFor(
      () => displays.every((d) => mqttSub.messages.some((m) => (m.payload as { ts: number }).ts === d.tsMs)),
      'the same actions on MQTT',
    );
    for (const d of displays) {
      const m = mqttSub.messages.find((x) => (x.payload as { ts: number }).ts === d.tsMs)!;
      expect((m.payload as { emotion: string }).emotion).toBe(d.payload.emotion);
    }
    const last = displays.at(-1)!;
    expect(await page.getAttribute('body', 'data-emotion')).toBe(last.payload.emotion);
    expect(await page.textContent('#label')).toBe(
      last.payload.emotion === 'no_face' ? 'No face' : String(last.payload.emotion).replace(/_/g, ' '),
    );
    await screenshot(page, `npm-start-display-${String(last.payload.emotion)}`);
    writeArtifact('npm-start-display-latency', {
      boundMs: DISPLAY_BOUND_MS,
      replaySpeed: REPLAY_SPEED,
      latencies,
    });
    // Each change lands before the page handles any later message: applied by the message's own
    // handler (MutationObserver runs at the end of that task), not deferred to a timer or frame.
    expect(probe.applied.map((a) => a.afterMessageNo)).toEqual(displays.map((d) => d.messageNo));
    await page.close();
    expect(browser.problems).toEqual([]);
  });

  it('the dashboard shows live events, component status and routing decisions with reasons', async () => {
    const page = await browser.newPage();
    await page.goto(`${base}/`);
    await page.locator('#stream-state', { hasText: 'streaming #' }).waitFor({ state: 'attached' });

    // Per-component status from /api/stats (polled every 2 s): every daemon component, all ok.
    const status = page.locator('#status tbody');
    await expect.poll(() => status.textContent()).toContain('source.replay');
    for (const component of ['pipeline.face', 'pipeline.vad', 'router', 'agents.runtime', 'http']) {
      expect(await status.textContent()).toContain(component);
    }
    expect(await page.textContent('#health')).toBe('ok');

    // The live table keeps moving during the replay: rows appear that were not there before.
    const rowsNow = (): Promise<string[]> => page.locator('#events tbody tr').allTextContents();
    await expect.poll(async () => (await rowsNow()).length).toBeGreaterThan(5);
    const before = new Set(await rowsNow());
    await expect.poll(async () => (await rowsNow()).filter((r) => !before.has(r)).length).toBeGreaterThan(5);
    const rows = await rowsNow();
    expect(rows.some((r) => r.includes('inference/face/cam0'))).toBe(true);
    // Sensor frames are hidden by default, even though the replay publishes them. Checked on the
    // topic column: other events (a drop count, a health change) may name the frame topic in their payload.
    const topics = await page.locator('#events tbody tr td:nth-child(2)').allTextContents();
    expect(topics.length).toBeGreaterThan(5);
    expect(topics).not.toContain('sensor/camera/cam0/frame');

    // Routing decisions with their reasons, as the router published them.
    await expect.poll(() => page.locator('#decisions li').count()).toBeGreaterThan(0);
    const decisions = (await probeOf(page)).arrivals.filter((a) => a.topic === 'router/decision');
    expect(decisions.length).toBeGreaterThan(0);
    const shown = await page.locator('#decisions li').allTextContents();
    const newest = decisions.at(-1)!.payload as { route: string; reason: string; kind: string };
    expect(newest.reason.length).toBeGreaterThan(0);
    expect(
      shown.some((t) => t.includes(newest.route) && t.includes(newest.reason) && t.includes(newest.kind)),
    ).toBe(true);
    await expect.poll(() => page.textContent('#routing-summary')).toMatch(/local \d+/);
    // Routing and privacy at a glance, wired to the running daemon: each sensor's tier, the cost
    // against its cap (the demo allows none), the breaker, and the day's egress table from the audit.
    const glance = page.getByRole('region', { name: 'routing and privacy' });
    for (const [id, kind] of [
      ['cam0', 'camera'],
      ['mic0', 'mic'],
      ['imu0', 'imu'],
    ]) {
      await expect
        .poll(() => glance.locator(`dd[data-key="tier ${id}"]`).textContent())
        .toMatch(new RegExp(`^(public|sensitive|private|local-only) \\(${kind}\\)$`));
    }
    expect(await glance.locator('dd[data-key="cloud cost today"]').textContent()).toMatch(
      /^\$0\.0000 of \$\d+\.\d\d cap$/,
    );
    expect(await glance.locator('dd[data-key="cloud breaker"]').textContent()).toBe('closed');
    expect(
      await page.getByRole('table', { name: 'left the device today' }).locator('tbody tr').count(),
    ).toBeGreaterThan(0);

    // Emotions and transcripts from the demo's face and speech.
    await expect.poll(() => page.locator('#emotions li').count()).toBeGreaterThan(0);
    // End-to-end latency per path, from the MQTT bridge's measurements: a face/emotion message
    // per analysed frame comes within the first pass, with its p50 and p99.
    const stages = page.getByRole('table', { name: 'end-to-end latency per path' });
    const faceRow = stages.locator('tr', { hasText: 'camera frame → face/emotion' });
    await expect.poll(() => faceRow.locator('td').nth(3).textContent(), { timeout: 30_000 }).not.toBe('0');
    const [, p50, p99] = await faceRow.locator('td').allTextContents();
    expect(p50).toMatch(/^\d+(\.\d)? ms$/);
    expect(p99).toMatch(/^\d+(\.\d)? ms$/);
    expect(await stages.locator('tbody tr').allTextContents()).toHaveLength(3);
    await screenshot(page, 'npm-start-dashboard', true);
    await page.close();
    expect(browser.problems).toEqual([]);
  });

  it('the camera, hearing and motion views show what the demo sees, hears and feels', async () => {
    const page = await browser.newPage();
    await page.setViewportSize({ width: 1280, height: 1400 });
    await page.goto(`${base}/`);
    // Camera: the analysed frame with a face box painted on it (#00e676, camera.js).
    await expect
      .poll(
        () =>
          page.evaluate(
            () =>
              (globalThis as unknown as { edgeloomCameras?: Record<string, { faces: unknown[] }> })
                .edgeloomCameras?.cam0?.faces.length ?? 0,
          ),
        { timeout: 30_000 },
      )
      .toBeGreaterThan(0);
    const png = await page.locator('[aria-label="camera cam0"]').screenshot();
    const { data, info } = await rgbPixels(png);
    let boxPixels = 0;
    for (let i = 0; i < info.width * info.height * 3; i += 3) {
      if (data[i]! < 60 && data[i + 1]! > 190 && data[i + 2]! > 80 && data[i + 2]! < 160) boxPixels++;
    }
    expect(boxPixels).toBeGreaterThan(50);
    // Hearing: levels of mic0 arrive, and speech lifts them well above the quiet between commands.
    const levels = (): Promise<{ rmsDbfs: number } | undefined> =>
      page.evaluate(
        () =>
          (globalThis as unknown as { edgeloomHearing?: Record<string, { last?: { rmsDbfs: number } }> })
            .edgeloomHearing?.mic0?.last,
      );
    await expect.poll(async () => (await levels())?.rmsDbfs ?? -96, { timeout: 30_000 }).toBeGreaterThan(-40);
    // The real Silero VAD's per-frame probability rides on the levels: high in a spoken command,
    // low in the quiet around it.
    const vadLevels = async (): Promise<number[]> => {
      const r = (await (await fetch(`${base}/api/mic/levels`)).json()) as {
        mics: Record<string, { vadProbability?: number }[]>;
      };
      return (r.mics.mic0 ?? []).flatMap((l) => (l.vadProbability === undefined ? [] : [l.vadProbability]));
    };
    await expect
      .poll(async () => Math.max(0, ...(await vadLevels())), { timeout: 30_000 })
      .toBeGreaterThan(0.5);
    expect(Math.min(...(await vadLevels()))).toBeLessThan(0.2);
    // Motion: the demo's fall at 10 s is marked on the chart.
    await expect
      .poll(
        () =>
          page.evaluate(() =>
            (
              (globalThis as unknown as { edgeloomMotionMarks?: { kind: string }[] }).edgeloomMotionMarks ??
              []
            ).map((m) => m.kind),
          ),
        { timeout: 30_000 },
      )
      .toContain('fall');
    // The rest orientation the motion agent learned while the demo's IMU lay still: a gravity
    // vector of about 1 g, shown as pitch and roll under the chart.
    const rest = await until('the learned rest orientation on the page', () =>
      page.evaluate(() => {
        const m = (globalThis as unknown as { edgeloomMotionRest?: { rest: number[] | null } })
          .edgeloomMotionRest;
        return m?.rest ? m : undefined;
      }),
    );
    expect(Math.hypot(...rest.rest!)).toBeGreaterThan(0.8);
    expect(Math.hypot(...rest.rest!)).toBeLessThan(1.2);
    await expect
      .poll(() => page.locator('[aria-label="motion imu0"] + figcaption').textContent())
      .toMatch(/rest: pitch -?\d+°, roll -?\d+°/);
    await screenshot(page, 'npm-start-dashboard-views');
    expect(browser.problems).toEqual([]);
    await page.close();
  });

  for (const [name, width, height] of [
    ['kiosk 1024x600', 1024, 600],
    ['phone 390x844', 390, 844],
  ] as const) {
    it(`the dashboard is usable on a ${name} screen: nothing wider than the screen`, async () => {
      const page = await browser.newPage();
      await page.setViewportSize({ width, height });
      await page.goto(`${base}/`);
      await expect.poll(() => page.locator('#status tbody').textContent()).toContain('source.replay');
      await expect
        .poll(() => page.locator('[aria-label="camera cam0"]').count(), { timeout: 30_000 })
        .toBe(1);
      // No sideways scrolling: the page, and every panel, fits the viewport's width.
      const widest = await page.evaluate(() => {
        const doc = (
          globalThis as unknown as {
            document: {
              documentElement: { scrollWidth: number };
              querySelectorAll(s: string): Iterable<{ getBoundingClientRect(): { right: number } }>;
            };
          }
        ).document;
        return {
          page: doc.documentElement.scrollWidth,
          sections: Math.max(
            ...[...doc.querySelectorAll('section')].map((s) => s.getBoundingClientRect().right),
          ),
        };
      });
      expect(widest.page).toBeLessThanOrEqual(width);
      expect(widest.sections).toBeLessThanOrEqual(width);
      await screenshot(page, `npm-start-dashboard-${width}x${height}`, true);
      expect(browser.problems).toEqual([]);
      await page.close();
    });
  }
});
