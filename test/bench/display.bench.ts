/**
 * Publish → display latency: `action/display` on the bus until the kiosk page (headless
 * Chromium) has applied it to the DOM, against the baseline of the same SSE stream read by a
 * bare Node HTTP client (transport only, no browser). The target is 100 ms.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { Bus } from '../../daemon/bus/bus.js';
import type { Emotion } from '../../daemon/bus/topics.js';
import { silentLogger } from '../../daemon/log.js';
import { HttpServer } from '../../daemon/observe/http/server.js';
import { StatsCollector } from '../../daemon/observe/stats.js';
import { SystemClock } from '../../daemon/util/clock.js';
import { hasTool } from '../helpers/tools.js';
import type { BenchTarget } from './run.js';

export const name = 'display';

export const targets: readonly BenchTarget[] = [
  {
    figure: 'display_p99_ms',
    max: 100,
    quick: 'skip',
    why: 'a published event reaches the display page (Chromium, over SSE) within 100 ms, p99',
  },
];

const EMOTIONS: readonly Emotion[] = [
  'happy',
  'sad',
  'angry',
  'surprised',
  'neutral',
  'fearful',
  'disgusted',
];

function quantile(values: number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? Number.NaN;
}

export async function bench({
  quick,
}: {
  quick: boolean;
}): Promise<Record<string, number | string | boolean>> {
  if (!hasTool('chromium')) return { skipped: true, reason: 'chromium not installed' };
  const rounds = quick ? 20 : 100;
  const clock = new SystemClock();
  const logger = silentLogger();
  const bus = new Bus({ clock, logger });
  const stats = new StatsCollector({ clock, logger, providers: {} });
  const server = new HttpServer({ bus, stats, clock, logger, port: 0 });
  await server.start(new AbortController().signal);
  const base = server.url();
  const userDataDir = mkdtempSync(join(tmpdir(), 'edgeloom-bench-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
  });
  try {
    // Baseline: a bare SSE reader; resolves each wait when the next data block arrives.
    let onData: (() => void) | undefined;
    const req = request(`${base}/api/events?pattern=action/display`, (res) => {
      res.on('data', (chunk: Buffer) => {
        if (chunk.includes('data: ')) onData?.();
      });
    });
    req.end();
    await new Promise((r) => setTimeout(r, 200));
    const transport: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const got = new Promise<void>((r) => {
        onData = r;
      });
      const t0 = performance.now();
      bus.publish('action/display', {
        emotion: EMOTIONS[i % EMOTIONS.length]!,
        emoji: '🙂',
        confidence: 0.5,
      });
      await got;
      transport.push(performance.now() - t0);
    }
    req.destroy();

    const page = await context.newPage();
    await page.goto(`${base}/display`);
    await page.locator('#conn', { hasText: 'connected' }).waitFor({ state: 'attached' });
    const display: number[] = [];
    for (let i = 0; i < rounds; i++) {
      const emotion = EMOTIONS[i % EMOTIONS.length]!;
      const published = Date.now();
      bus.publish('action/display', { emotion, emoji: '🙂', confidence: (i % 100) / 100 });
      const applied = await page.waitForFunction((n) => {
        const d = (globalThis as unknown as { edgeloomDisplay?: { confidence: number; appliedAtMs: number } })
          .edgeloomDisplay;
        return d !== undefined && Math.round(d.confidence * 100) === n ? d.appliedAtMs : false;
      }, i % 100);
      display.push(((await applied.jsonValue()) as number) - published);
    }
    const p50 = quantile(display, 0.5);
    const baseP50 = quantile(transport, 0.5);
    return {
      rounds,
      display_p50_ms: p50,
      display_p99_ms: quantile(display, 0.99),
      sse_node_client_p50_ms: Number(baseP50.toFixed(2)),
      sse_node_client_p99_ms: Number(quantile(transport, 0.99).toFixed(2)),
      display_vs_node_client_p50_ms_delta: Number((p50 - baseP50).toFixed(2)),
      display_p99_within_100ms: quantile(display, 0.99) <= 100,
    };
  } finally {
    await context.close();
    await server.stop();
    await bus.close();
    rmSync(userDataDir, { recursive: true, force: true });
  }
}
