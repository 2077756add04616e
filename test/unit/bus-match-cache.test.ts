import { describe, expect, it } from 'vitest';
import { Priority } from '../../daemon/bus/envelope.js';
import { MatchCache } from '../../daemon/bus/match-cache.js';
import { silentLogger } from '../../daemon/log.js';
import { VirtualClock } from '../../daemon/util/virtual-clock.js';
import { scratchBus } from '../helpers/scratch-bus.js';

/** The obvious matcher, written independently of the trie. */
function referenceMatch(pattern: string, topic: string): boolean {
  const p = pattern.split('/');
  const t = topic.split('/');
  let i = 0;
  for (; i < p.length; i++) {
    if (p[i] === '#') return true;
    if (i >= t.length) return false;
    if (p[i] !== '+' && p[i] !== t[i]) return false;
  }
  return i === t.length;
}

describe('match cache', () => {
  it('keeps hitting on a cyclic run over twice its capacity, where a FIFO would never hit', () => {
    const capacity = 64;
    const cache = new MatchCache<number>(capacity);
    const topics = Array.from({ length: 2 * capacity }, (_, k) => `device/d${k}/sensor/temp/value`);
    const answer = [1];
    let hitsLastRounds = 0;
    const rounds = 200;
    for (let round = 0; round < rounds; round++) {
      for (const t of topics) {
        const got = cache.get(t);
        if (got === undefined) cache.remember(t, answer);
        else {
          expect(got).toEqual(answer);
          if (round >= rounds - 10) hitsLastRounds++;
        }
        expect(cache.size).toBeLessThanOrEqual(capacity);
      }
    }
    // Expected about capacity ÷ topics = 50 %; a FIFO or LRU gets 0 on this run.
    expect(hitsLastRounds / (10 * topics.length)).toBeGreaterThan(0.3);
  });

  it('keeps a copy, not the caller’s scratch array, and forgets everything on clear', () => {
    const cache = new MatchCache<string>(4);
    const scratch = ['a', 'b'];
    cache.remember('x/1', scratch);
    scratch.length = 0;
    scratch.push('c');
    cache.remember('x/2', scratch);
    expect(cache.get('x/1')).toEqual(['a', 'b']);
    expect(cache.get('x/2')).toEqual(['c']);
    cache.clear();
    expect(cache.size).toBe(0);
    expect(cache.get('x/1')).toBeUndefined();
  });
});

describe('bus matching through a cache smaller than the topic set', () => {
  it('delivers exactly what the reference matcher says, on every pass over 300 topics with an 8-entry cache', async () => {
    const bus = scratchBus({ clock: new VirtualClock(), logger: silentLogger(), matchCacheSize: 8 });
    const patterns = [
      'device/+/sensor/temp/#',
      'device/d1/#',
      'device/+/+/temp/+',
      'device/d2/sensor/temp/value',
    ];
    const got = new Map<string, string[]>(patterns.map((p) => [p, []]));
    for (let i = 0; i < 200; i++)
      bus.subscribe(`device/+/sensor/n${i}/#`, () => undefined, { component: 'other' });
    for (const p of patterns) bus.subscribe(p, (env) => void got.get(p)!.push(env.topic), { component: p });
    const topics: string[] = [];
    for (let k = 0; k < 100; k++) {
      topics.push(`device/d${k}/sensor/temp/value`, `device/d${k}/sensor/hum`, `device/d${k}/x/temp/y`);
    }
    const want = new Map<string, string[]>(patterns.map((p) => [p, []]));
    for (let pass = 0; pass < 3; pass++) {
      for (const t of topics) {
        bus.publish(t as 'rpc/x', pass);
        for (const p of patterns) if (referenceMatch(p, t)) want.get(p)!.push(t);
      }
      await bus.drain(1000);
    }
    for (const p of patterns) expect(got.get(p), p).toEqual(want.get(p));
  });

  it('envelopes carry a distinct id that JSON keeps', async () => {
    const bus = scratchBus({ clock: new VirtualClock(), logger: silentLogger() });
    const seen: unknown[] = [];
    bus.subscribe('rpc/+', (env) => void seen.push(JSON.parse(JSON.stringify(env))), { component: 't' });
    bus.publish('rpc/a', 1);
    bus.publish('rpc/b', 2, { source: 's', correlationId: 'c' });
    await bus.drain(1000);
    const [a, b] = seen as { id: string; topic: string; payload: number; source: string }[];
    expect(typeof a!.id).toBe('string');
    expect(a!.id).not.toBe(b!.id);
    expect(a).toMatchObject({ topic: 'rpc/a', payload: 1, source: 'unknown' });
    expect(b).toMatchObject({ topic: 'rpc/b', payload: 2, source: 's', correlationId: 'c' });
    expect(Object.keys(a!)).not.toContain('seq');
  });

  it('a publish from inside another publish (an abort listener) does not overwrite the outer match', async () => {
    // A 1-entry cache: both publishes below miss and match into the bus's scratch array.
    const bus = scratchBus({ clock: new VirtualClock(), logger: silentLogger(), matchCacheSize: 1 });
    const got: string[] = [];
    let aRunning: () => void = () => undefined;
    const aStarted = new Promise<void>((r) => {
      aRunning = r;
    });
    bus.subscribe(
      'rpc/#',
      (env, signal) => {
        got.push(`A:${env.topic}`);
        if (env.priority === Priority.critical) return undefined;
        aRunning();
        return new Promise<void>((resolve) => {
          signal.addEventListener('abort', () => {
            // Runs synchronously inside the outer publish's offer to this subscription.
            bus.publish('other/x' as 'rpc/x', 'nested');
            resolve();
          });
        });
      },
      { component: 'a', interruptible: true },
    );
    bus.subscribe('rpc/+', (env) => void got.push(`B:${env.topic}`), { component: 'b' });
    bus.subscribe('other/x', (env) => void got.push(`C:${env.topic}`), { component: 'c' });
    bus.publish('rpc/first', 0);
    await aStarted; // A's handler for rpc/first is running: the critical event interrupts it
    got.length = 0;
    bus.publish('rpc/second', 1, { priority: Priority.critical });
    await bus.drain(1000);
    expect(got.filter((g) => !g.endsWith('rpc/first')).sort()).toEqual([
      'A:rpc/second',
      'B:rpc/second',
      'C:other/x',
    ]);
  });
});
