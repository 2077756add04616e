/**
 * A new event stream starts with the current display action (like a retained MQTT message), so a
 * kiosk page that (re)loads mid-run shows the emotion on screen now, not "no face" until the next
 * change. Real bus, real HTTP server on loopback, the stream read as text.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Bus } from '../../daemon/bus/bus.js';
import type { RouteDecision } from '../../daemon/bus/topics.js';
import { silentLogger } from '../../daemon/log.js';
import { HttpServer } from '../../daemon/observe/http/server.js';
import { StatsCollector } from '../../daemon/observe/stats.js';
import { SystemClock } from '../../daemon/util/clock.js';

interface Sent {
  topic: string;
  payload: { emotion?: string };
}

const DECISION: RouteDecision = {
  inferenceId: 'f-1',
  kind: 'face',
  modelId: 'face-expression',
  route: 'local',
  reason: 'confidence_above_band',
  numbers: { confidence: 0.9, threshold: 0.5 },
  tier: 'public',
};

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function serve(): Promise<{ bus: Bus; base: string }> {
  const clock = new SystemClock();
  const logger = silentLogger();
  const bus = new Bus({ clock, logger });
  const stats = new StatsCollector({ clock, logger, bus, intervalMs: 60_000, providers: {} });
  const server = new HttpServer({ bus, stats, clock, logger, port: 0 });
  await server.start(new AbortController().signal);
  cleanups.push(async () => {
    await server.stop();
    await bus.close();
  });
  return { bus, base: server.url() };
}

/** Open /api/events with these patterns and collect the `data:` events as they arrive. */
async function stream(base: string, patterns: string[]): Promise<{ events: Sent[]; close(): void }> {
  const abort = new AbortController();
  const query = patterns.map((p) => `pattern=${encodeURIComponent(p)}`).join('&');
  const res = await fetch(`${base}/api/events?${query}`, { signal: abort.signal });
  expect(res.status).toBe(200);
  const events: Sent[] = [];
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = '';
  void (async () => {
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ value: undefined, done: true }));
      if (done) return;
      text += value;
      const blocks = text.split('\n\n');
      text = blocks.pop()!;
      for (const b of blocks) {
        const data = b.split('\n').find((l) => l.startsWith('data: '));
        if (data !== undefined) events.push(JSON.parse(data.slice(6)) as Sent);
      }
    }
  })();
  return { events, close: () => abort.abort() };
}

async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !check(); i++) await new Promise((r) => setTimeout(r, 10));
  if (!check()) throw new Error(`timed out waiting for ${what}`);
}

describe('event streams start with the current display action', () => {
  it('sends the last action/display first to a stream that asks for it, then live events', async () => {
    const { bus, base } = await serve();
    bus.publish('action/display', { emotion: 'sad', emoji: '😢', confidence: 0.5 });
    bus.publish('action/display', { emotion: 'happy', emoji: '😀', confidence: 0.9 });
    await bus.drain(1000);

    const display = await stream(base, ['action/display']);
    await until(() => display.events.length === 1, 'the current state');
    expect(display.events[0]!.payload.emotion).toBe('happy'); // the newest only
    bus.publish('action/display', { emotion: 'no_face', emoji: '', confidence: 0 });
    await until(() => display.events.length === 2, 'the live event');
    expect(display.events.map((e) => e.payload.emotion)).toEqual(['happy', 'no_face']);

    // A stream for other topics gets no current state; a wildcard one that covers it does.
    const other = await stream(base, ['router/decision']);
    const all = await stream(base, ['action/+']);
    await until(() => all.events.length === 1, 'the wildcard stream');
    expect(all.events[0]!.payload.emotion).toBe('no_face');
    // An event the other stream does subscribe to: it must be the first thing that stream got.
    bus.publish('router/decision', DECISION);
    await until(() => other.events.length >= 1, 'the decision on the other stream');
    expect(other.events.map((e) => e.topic)).toEqual(['router/decision']);
    for (const s of [display, other, all]) s.close();
  });

  it('sends nothing first before any display action was published', async () => {
    const { bus, base } = await serve();
    const display = await stream(base, ['action/display']);
    bus.publish('action/display', { emotion: 'angry', emoji: '😠', confidence: 0.7 });
    await until(() => display.events.length >= 1, 'the live event');
    // The live event is the first the stream got: nothing was sent ahead of it.
    expect(display.events.map((e) => e.payload.emotion)).toEqual(['angry']);
    display.close();
  });
});
