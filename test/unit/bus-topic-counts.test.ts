/**
 * Per-topic counts are kept by the bus where it publishes (bus/topic-counts.ts), not by a `#`
 * subscription in the stats collector: the tap cost a whole delivery per event on every topic.
 * Real Bus and StatsCollector on a virtual clock.
 */
import { describe, expect, it } from 'vitest';
import { Bus } from '../../daemon/bus/bus.js';
import { TopicCounts } from '../../daemon/bus/topic-counts.js';
import { silentLogger } from '../../daemon/log.js';
import { StatsCollector } from '../../daemon/observe/stats.js';
import { VirtualClock } from '../../daemon/util/virtual-clock.js';

const totals = (c: { entries(): IterableIterator<[string, number]> }): Record<string, number> =>
  Object.fromEntries(c.entries());

describe('TopicCounts', () => {
  it('names up to its bound, folds later topics into other and never evicts a name', () => {
    const c = new TopicCounts(2);
    c.count('a/1');
    c.count('b/1');
    c.count('c/1');
    c.count('a/1');
    c.count('c/1');
    expect(totals(c)).toEqual({ 'a/1': 2, 'b/1': 1 });
    expect(c.other).toBe(2);
  });
});

describe('Bus topic counts', () => {
  it('counts every accepted publish per topic, heard or not, and no refused one', async () => {
    const bus = new Bus({ clock: new VirtualClock(0), logger: silentLogger(), countedTopics: 2 });
    const heard: string[] = [];
    bus.subscribe('sensor/imu/+/window', (env) => void heard.push(env.topic), {
      component: 'test',
      qos: 'batched',
    });
    for (let i = 0; i < 3; i++) bus.publish('sensor/imu/imu0/window', { i } as never);
    bus.publish('router/decision', {} as never); // nobody subscribes: counted all the same
    bus.publish('system/stats', {} as never); // past the bound of 2 names: `other`
    expect(() => bus.publish('bad/+/topic' as never, {} as never)).toThrow(/topic/);
    expect(totals(bus.topicCounts())).toEqual({ 'sensor/imu/imu0/window': 3, 'router/decision': 1 });
    expect(bus.topicCounts().other).toBe(1);
    await bus.drain(1000);
    expect(heard).toHaveLength(3);
    await bus.close();
  });

  it('gives the stats their per-topic totals and rates without a subscription of their own', async () => {
    const clock = new VirtualClock(0);
    const bus = new Bus({ clock, logger: silentLogger() });
    const stats = new StatsCollector({
      clock,
      logger: silentLogger(),
      bus,
      intervalMs: 1000,
      providers: { bus: () => bus.stats() },
    });
    await stats.start();
    // Before, the collector subscribed `#` here: one more delivery for every event on the bus.
    expect(bus.stats().map((s) => `${s.component} ${s.pattern}`)).toEqual([]);
    for (let i = 0; i < 4; i++) bus.publish('sensor/mic/mic0/frame', {} as never);
    await clock.advanceTo(1000);
    for (let i = 0; i < 6; i++) bus.publish('sensor/mic/mic0/frame', {} as never);
    await clock.advanceTo(2000);
    const mic = stats.snapshot().topics.find((t) => t.topic === 'sensor/mic/mic0/frame');
    expect(mic).toEqual({ topic: 'sensor/mic/mic0/frame', total: 10, perSecond: 6 });
    await stats.stop();
    await bus.close();
  });
});
