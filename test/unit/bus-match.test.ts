import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parsePattern, validateTopic } from '../../daemon/bus/topic-match.js';
import { TopicTrie } from '../../daemon/bus/topic-trie.js';
import { isEdgeloomError } from '../../daemon/errors.js';
import { silentLogger } from '../../daemon/log.js';
import { VirtualClock } from '../../daemon/util/virtual-clock.js';
import { scratchBus } from '../helpers/scratch-bus.js';

/** The obvious matcher, written independently of the trie: split both and compare level by level. */
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

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    return isEdgeloomError(err) ? err.code : 'not-edgeloom';
  }
  return undefined;
}

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('topic matching', () => {
  const cases: [pattern: string, topic: string, matches: boolean][] = [
    ['a/b/c', 'a/b/c', true],
    ['a/b/c', 'a/b', false],
    ['a/b', 'a/b/c', false],
    ['a/+/c', 'a/b/c', true],
    ['a/+/c', 'a/b/d', false],
    ['a/+', 'a/b/c', false],
    ['+/+/+', 'a/b/c', true],
    ['+', 'a', true],
    ['+', 'a/b', false],
    ['#', 'a', true],
    ['#', 'a/b/c', true],
    ['a/#', 'a', true],
    ['a/#', 'a/b/c', true],
    ['a/#', 'b/a', false],
    ['a/+/#', 'a', false],
    ['a/+/#', 'a/b', true],
    ['sensor/camera/+/frame', 'sensor/camera/front/frame', true],
    ['sensor/+/+/status', 'sensor/imu/wrist/status', true],
    ['sensor/+/+/status', 'sensor/imu/wrist/window', false],
    ['device/+/sensor/7/#', 'device/x/sensor/8/temp', false],
  ];

  it.each(cases)('%s vs %s → %s (trie and reference agree)', (pattern, topic, expected) => {
    expect(referenceMatch(pattern, topic)).toBe(expected);
    const trie = new TopicTrie<string>();
    trie.add(parsePattern(pattern), pattern);
    expect(trie.match(topic)!).toEqual(expected ? [pattern] : []);
  });

  it('agrees with the reference matcher on random topics and patterns', () => {
    const level = fc.constantFrom('a', 'b', 'c', 'dd');
    const topicArb = fc.array(level, { minLength: 1, maxLength: 5 }).map((l) => l.join('/'));
    const patternArb = fc
      .tuple(fc.array(fc.oneof(level, fc.constant('+')), { minLength: 0, maxLength: 5 }), fc.boolean())
      .filter(([levels, hash]) => levels.length > 0 || hash)
      .map(([levels, hash]) => (hash ? [...levels, '#'] : levels).join('/'));
    fc.assert(
      fc.property(
        fc.uniqueArray(patternArb, { minLength: 1, maxLength: 20 }),
        topicArb,
        (patterns, topic) => {
          const trie = new TopicTrie<string>();
          for (const p of patterns) trie.add(parsePattern(p), p);
          const got = trie.match(topic)!.sort();
          const want = patterns.filter((p) => referenceMatch(p, topic)).sort();
          expect(got).toEqual(want);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('removes patterns and prunes, leaving the others matching', () => {
    const trie = new TopicTrie<number>();
    trie.add(parsePattern('a/+/c'), 1);
    trie.add(parsePattern('a/#'), 2);
    trie.add(parsePattern('a/b/c'), 3);
    expect(trie.match('a/b/c')!.sort()).toEqual([1, 2, 3]);
    expect(trie.remove(parsePattern('a/+/c'), 1)).toBe(true);
    expect(trie.remove(parsePattern('a/+/c'), 1)).toBe(false);
    expect(trie.match('a/b/c')!.sort()).toEqual([2, 3]);
    expect(trie.remove(parsePattern('a/#'), 2)).toBe(true);
    expect(trie.match('a/b/c')!).toEqual([3]);
    expect(trie.size).toBe(1);
  });
});

describe('topic and pattern validation', () => {
  const badTopics = ['', '/a', 'a/', 'a//b', 'a/+/b', 'a/#', 'a+b', 'x\0y', 'a'.repeat(600)];
  it.each(badTopics.map((t) => [JSON.stringify(t).slice(0, 20), t]))(
    'topic %s is refused',
    (_label, topic) => {
      expect(codeOf(() => validateTopic(topic))).toBe('E_BUS_INVALID_TOPIC');
    },
  );

  const badPatterns = ['', '/a', 'a/', 'a//b', 'a/#/b', '#/a', 'a/b+', 'a/#x', 'a+/b', 'x\0'];
  it.each(badPatterns.map((p) => [JSON.stringify(p), p]))('pattern %s is refused', (_label, pattern) => {
    expect(codeOf(() => parsePattern(pattern))).toBe('E_BUS_INVALID_PATTERN');
  });

  it('bus.publish and bus.subscribe throw the coded errors and keep working', async () => {
    const bus = scratchBus({ clock: new VirtualClock(), logger: silentLogger() });
    const got: string[] = [];
    expect(codeOf(() => bus.subscribe('a/#/b', () => undefined, { component: 't' }))).toBe(
      'E_BUS_INVALID_PATTERN',
    );
    bus.subscribe('rpc/#', (env) => void got.push(env.topic), { component: 't' });
    expect(codeOf(() => bus.publish('rpc/+' as 'rpc/x', 1))).toBe('E_BUS_INVALID_TOPIC');
    expect(codeOf(() => bus.publish('rpc//x' as 'rpc/x', 1))).toBe('E_BUS_INVALID_TOPIC');
    bus.publish('rpc/ok', 1);
    await flush();
    expect(got).toEqual(['rpc/ok']);
  });

  it('with 1000 non-matching wildcard subscriptions only the 2 matching ones receive', async () => {
    const bus = scratchBus({ clock: new VirtualClock(), logger: silentLogger() });
    let wrong = 0;
    const got: string[] = [];
    for (let i = 0; i < 1000; i++)
      bus.subscribe(`device/+/sensor/${i}/#`, () => void wrong++, { component: 'x' });
    bus.subscribe('device/+/sensor/temp/#', () => void got.push('a'), { component: 'a' });
    bus.subscribe('device/d1/+/temp/value', () => void got.push('b'), { component: 'b' });
    for (let i = 0; i < 3; i++) bus.publish('device/d1/sensor/temp/value' as 'rpc/x', i);
    await bus.drain(1000);
    expect(wrong).toBe(0);
    expect(got.sort()).toEqual(['a', 'a', 'a', 'b', 'b', 'b']);
  });

  it('the match cache is invalidated on subscribe and unsubscribe', async () => {
    const bus = scratchBus({ clock: new VirtualClock(), logger: silentLogger(), matchCacheSize: 2 });
    const got: string[] = [];
    bus.publish('rpc/a', 0); // caches "no match"
    const sub = bus.subscribe('rpc/+', (env) => void got.push(`1:${env.topic}`), { component: 't' });
    for (const t of ['rpc/a', 'rpc/b', 'rpc/c', 'rpc/a'] as const) bus.publish(t, 0);
    await flush();
    await sub.unsubscribe();
    bus.publish('rpc/a', 0);
    await flush();
    expect(got).toEqual(['1:rpc/a', '1:rpc/b', '1:rpc/c', '1:rpc/a']);
  });
});
