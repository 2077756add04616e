import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { Bus } from '../../daemon/bus/bus.js';
import { silentLogger } from '../../daemon/log.js';
import { isAuthorised } from '../../daemon/observe/http/auth.js';
import { SseClient } from '../../daemon/observe/http/sse.js';
import { VirtualClock } from '../../daemon/util/virtual-clock.js';

/** A response body that accepts writes only while `open`, like a socket whose peer stopped reading. */
class SlowSink extends Writable {
  readonly chunks: string[] = [];
  private held: (() => void)[] = [];
  open = true;

  constructor() {
    super({ highWaterMark: 64 });
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, done: (err?: Error | null) => void): void {
    this.chunks.push(chunk.toString());
    if (this.open) done();
    else this.held.push(() => done());
  }

  release(): void {
    this.open = true;
    const held = this.held;
    this.held = [];
    for (const done of held) done();
  }

  /** Parsed `data:` events and `event: dropped` notices, in order. */
  events(): { topic?: string; payload?: unknown; dropped?: number }[] {
    const blocks = this.chunks.join('').split('\n\n');
    const out: { topic?: string; payload?: unknown; dropped?: number }[] = [];
    for (const block of blocks) {
      const data = block.split('\n').find((l) => l.startsWith('data: '));
      if (data === undefined) continue;
      const body = JSON.parse(data.slice(6)) as { topic?: string; payload?: unknown; dropped?: number };
      out.push(block.includes('event: dropped') ? { dropped: body.dropped } : body);
    }
    return out;
  }
}

const tick = () => new Promise((r) => setImmediate(r));

describe('SseClient', () => {
  it('sends only events matching its patterns, with binary payloads summarised', async () => {
    const clock = new VirtualClock(0);
    const bus = new Bus({ clock, logger: silentLogger() });
    const sink = new SlowSink();
    const client = new SseClient({
      bus,
      patterns: ['action/display', 'sensor/camera/+/frame'],
      out: sink,
      clock,
      logger: silentLogger(),
    });
    bus.publish('action/display', { emotion: 'happy', emoji: '😀', confidence: 0.9 });
    bus.publish('router/decision', {
      inferenceId: 'x',
      kind: 'stt',
      modelId: 'm',
      route: 'local',
      reason: 'r',
      numbers: {},
      tier: 'public',
    });
    bus.publish('sensor/camera/front/frame', {
      seq: 1,
      tsMs: 0,
      width: 2,
      height: 2,
      jpeg: Buffer.alloc(1234),
    });
    await tick();
    const events = sink.events();
    expect(events.map((e) => e.topic)).toEqual(['action/display', 'sensor/camera/front/frame']);
    expect(events[0]!.payload).toEqual({ emotion: 'happy', emoji: '😀', confidence: 0.9 });
    expect(events[1]!.payload).toMatchObject({ seq: 1, jpeg: { bytes: 1234 } });
    expect(sink.chunks[0]).toContain('retry: 2000');
    client.close();
    expect(bus.stats().filter((s) => s.component === 'http.sse')).toHaveLength(0);
    await bus.close();
  });

  it('drops the oldest events for a client whose socket is full, counts them and tells the client', async () => {
    const clock = new VirtualClock(0);
    const bus = new Bus({ clock, logger: silentLogger() });
    const sink = new SlowSink();
    sink.open = false;
    const client = new SseClient({
      bus,
      patterns: ['agent/+/intent'],
      out: sink,
      clock,
      logger: silentLogger(),
      queueCapacity: 4,
    });
    const intent = (n: number) => ({
      intent: `i${n}`,
      slots: {},
      score: 1,
      text: `${n}`,
      source: 'local' as const,
    });
    for (let n = 0; n < 50; n++) bus.publish('agent/a/intent', intent(n));
    await tick();
    // Publishing never waited; the client's queue stayed at its bound.
    const stats = bus.stats().find((s) => s.component === 'http.sse')!;
    expect(stats.queueDepth).toBeLessThanOrEqual(4);
    expect(client.dropped).toBeGreaterThan(40);
    sink.release();
    await tick();
    await tick();
    const events = sink.events();
    const texts = events
      .filter((e) => e.topic !== undefined)
      .map((e) => (e.payload as { text: string }).text);
    // Order is kept and the newest survive: the last event published is the last one sent.
    expect(texts.at(-1)).toBe('49');
    expect(texts.map(Number)).toEqual([...texts.map(Number)].sort((a, b) => a - b));
    expect(texts.length).toBeLessThan(10);
    const notice = events.find((e) => e.dropped !== undefined);
    expect(notice?.dropped).toBe(client.dropped);
    client.close();
    await bus.close();
  });

  it('disconnects a client whose socket stays full past the drain timeout', async () => {
    const clock = new VirtualClock(0);
    const bus = new Bus({ clock, logger: silentLogger() });
    const sink = new SlowSink();
    sink.open = false;
    let closed = 0;
    new SseClient({
      bus,
      patterns: ['#'],
      out: sink,
      clock,
      logger: silentLogger(),
      drainTimeoutMs: 1_000,
      onClose: () => closed++,
    });
    for (let n = 0; n < 10; n++)
      bus.publish('system/error', {
        severity: 'warning',
        component: 'c',
        code: 'E_MEMORY_PRESSURE',
        message: 'x'.repeat(100),
      });
    await tick();
    expect(closed).toBe(0);
    await clock.advanceTo(1_000);
    expect(closed).toBe(1);
    expect(bus.stats().filter((s) => s.component === 'http.sse')).toHaveLength(0);
    await bus.close();
  });

  it('refuses an invalid pattern before writing anything', () => {
    const clock = new VirtualClock(0);
    const bus = new Bus({ clock, logger: silentLogger() });
    const sink = new SlowSink();
    expect(
      () => new SseClient({ bus, patterns: ['ok/+', 'bad/#/x'], out: sink, clock, logger: silentLogger() }),
    ).toThrow(expect.objectContaining({ code: 'E_BUS_INVALID_PATTERN' }));
    expect(sink.chunks).toEqual([]);
  });
});

describe('isAuthorised', () => {
  const q = (s: string) => new URLSearchParams(s);
  it('accepts everything when no token is configured', () => {
    expect(isAuthorised('', {}, q(''))).toBe(true);
  });
  it('accepts the bearer header or the query token, nothing else', () => {
    expect(isAuthorised('s3cret', { authorization: 'Bearer s3cret' }, q(''))).toBe(true);
    expect(isAuthorised('s3cret', { authorization: 'bearer s3cret' }, q(''))).toBe(true);
    expect(isAuthorised('s3cret', {}, q('token=s3cret'))).toBe(true);
    expect(isAuthorised('s3cret', {}, q(''))).toBe(false);
    expect(isAuthorised('s3cret', { authorization: 'Bearer s3cre' }, q(''))).toBe(false);
    expect(isAuthorised('s3cret', { authorization: 'Basic s3cret' }, q(''))).toBe(false);
    expect(isAuthorised('s3cret', { authorization: 'Bearer s3cret extra' }, q(''))).toBe(false);
    expect(isAuthorised('s3cret', {}, q('token=S3CRET'))).toBe(false);
  });
});
