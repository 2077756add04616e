/** The persistent outbox on a real LevelDB: order, bounds and policies, recovery, group commit. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Outbox, type OutboxPolicy } from '../../daemon/actions/outbox.js';
import { isEdgeloomError } from '../../daemon/errors.js';
import { silentLogger } from '../../daemon/log.js';
import { VirtualClock } from '../../daemon/util/virtual-clock.js';

describe('Outbox', () => {
  let dir: string;
  let db: Level<string, unknown>;
  const clock = new VirtualClock(1_000);

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'edgeloom-outbox-'));
    db = new Level<string, unknown>(dir, { valueEncoding: 'json' });
    await db.open();
  });

  afterEach(async () => {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function open(maxMessages = 100, policy: OutboxPolicy = 'drop-oldest'): Promise<Outbox> {
    const o = new Outbox({ store: db, clock, logger: silentLogger(), maxMessages, policy });
    await o.open();
    return o;
  }

  const seqsOf = (o: Outbox): string[] => [...o.values()].map((e) => e.payload);

  it('keeps entries in acceptance order and persists them under the outbox sublevel', async () => {
    const o = await open();
    for (let i = 0; i < 5; i++) await o.add('t', `{"i":${i}}`, i % 2 === 0).persisted;
    expect(seqsOf(o)).toEqual([0, 1, 2, 3, 4].map((i) => `{"i":${i}}`));
    const keys: string[] = [];
    for await (const k of db.sublevel('outbox').keys()) keys.push(k);
    expect(keys).toEqual([
      '0000000000000001',
      '0000000000000002',
      '0000000000000003',
      '0000000000000004',
      '0000000000000005',
    ]);
  });

  it('recovers what was not acknowledged, in order, and continues the sequence', async () => {
    const a = await open();
    const entries = [0, 1, 2, 3].map((i) => a.add('t', String(i), false).entry);
    a.acknowledge(entries[1]!.seq);
    await a.flush();
    const b = await open();
    expect(seqsOf(b)).toEqual(['0', '2', '3']);
    expect(b.stats().recovered).toBe(3);
    const next = b.add('t', '4', true).entry;
    await b.flush();
    expect(next.seq).toBe(5);
    const [first] = b.values();
    expect(first).toMatchObject({ topic: 't', retain: false, enqueuedMs: 1_000 });
  });

  it('drop-oldest evicts the oldest message and counts it', async () => {
    const o = await open(3, 'drop-oldest');
    for (let i = 0; i < 5; i++) o.add('t', String(i), false);
    await o.flush();
    expect(seqsOf(o)).toEqual(['2', '3', '4']);
    expect(o.stats()).toMatchObject({ size: 3, droppedOldest: 2, refused: 0, enqueued: 5 });
    expect(seqsOf(await open(3))).toEqual(['2', '3', '4']);
  });

  it('refuse rejects the new message with E_MQTT_OUTBOX_FULL and keeps the old ones', async () => {
    const o = await open(2, 'refuse');
    o.add('t', 'a', false);
    o.add('t', 'b', false);
    let err: unknown;
    try {
      o.add('t', 'c', false);
    } catch (e) {
      err = e;
    }
    expect(isEdgeloomError(err, 'E_MQTT_OUTBOX_FULL')).toBe(true);
    expect(seqsOf(o)).toEqual(['a', 'b']);
    expect(o.stats().refused).toBe(1);
    o.acknowledge([...o.values()][0]!.seq);
    o.add('t', 'c', false);
    await o.flush();
    expect(seqsOf(await open(2, 'refuse'))).toEqual(['b', 'c']);
  });

  it('group-commits a synchronous burst into few LevelDB batches', async () => {
    const o = await open(10_000);
    const persisted = Array.from({ length: 500 }, (_, i) => o.add('t', String(i), false).persisted);
    await Promise.all(persisted);
    expect(o.stats().batches).toBeLessThanOrEqual(2);
    expect((await open(10_000)).size).toBe(500);
  });

  it('acknowledging an evicted or unknown sequence is a no-op', async () => {
    const o = await open(1);
    const first = o.add('t', 'a', false).entry;
    o.add('t', 'b', false);
    o.acknowledge(first.seq);
    o.acknowledge(999);
    expect(o.stats()).toMatchObject({ acknowledged: 0, droppedOldest: 1, size: 1 });
  });

  it('rejects a non-positive bound naming the config key', () => {
    expect(
      () => new Outbox({ store: db, clock, logger: silentLogger(), maxMessages: 0, policy: 'refuse' }),
    ).toThrow(/max_messages/);
  });
});
