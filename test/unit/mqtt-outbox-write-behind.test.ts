/**
 * The outbox's write-behind (mqtt.outbox.write_delay_ms) on a real LevelDB: while connected, a
 * message the broker acknowledges before its write is due never reaches the disk; one it does not
 * acknowledge is written when due; disconnected, or when flushed, or purged, nothing waits.
 * Delays are long (a minute) where a test must show that something does NOT wait for them: it
 * would time out instead of passing by luck.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Outbox } from '../../daemon/actions/outbox.js';
import { silentLogger } from '../../daemon/log.js';
import { VirtualClock } from '../../daemon/util/virtual-clock.js';

const MINUTE_MS = 60_000;

describe('Outbox write-behind', () => {
  let dir: string;
  let db: Level<string, unknown>;

  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'edgeloom-outbox-wb-'));
    db = new Level<string, unknown>(dir, { valueEncoding: 'json' });
    await db.open();
  });

  afterEach(async () => {
    await db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function open(writeDelayMs: number, connected: boolean): Promise<Outbox> {
    const o = new Outbox({
      store: db,
      clock: new VirtualClock(1_000),
      logger: silentLogger(),
      maxMessages: 100,
      policy: 'drop-oldest',
      writeDelayMs,
    });
    await o.open();
    o.setConnected(connected);
    return o;
  }

  async function storedKeys(): Promise<string[]> {
    const keys: string[] = [];
    for await (const k of db.sublevel('outbox').keys()) keys.push(k);
    return keys;
  }

  it('a message acknowledged before its write is due is never written, and its add() resolves', async () => {
    const o = await open(MINUTE_MS, true);
    const { entry, persisted } = o.add('t', '{"i":1}', false);
    o.acknowledge(entry.seq);
    await persisted; // resolves at the acknowledgement, not in a minute
    await o.flush();
    expect(await storedKeys()).toEqual([]);
    expect(o.stats()).toMatchObject({ writesElided: 1, batches: 0, acknowledged: 1, size: 0 });
  });

  it('a message not acknowledged is written once its delay is up, and deleted on its acknowledgement', async () => {
    const o = await open(20, true);
    const { entry, persisted } = o.add('t', '{"i":1}', false);
    await persisted;
    expect(await storedKeys()).toEqual(['0000000000000001']);
    o.acknowledge(entry.seq);
    await o.flush();
    expect(await storedKeys()).toEqual([]);
    expect(o.stats().writesElided).toBe(0);
  });

  it('disconnected, a message is written at once whatever the delay', async () => {
    const o = await open(MINUTE_MS, false);
    await o.add('t', '{"i":1}', false).persisted;
    expect(await storedKeys()).toEqual(['0000000000000001']);
  });

  it('losing the connection writes what was waiting for its delay', async () => {
    const o = await open(MINUTE_MS, true);
    const a = o.add('t', '{"i":1}', false);
    const b = o.add('t', '{"i":2}', false);
    o.setConnected(false);
    await Promise.all([a.persisted, b.persisted]);
    expect(await storedKeys()).toEqual(['0000000000000001', '0000000000000002']);
  });

  it('an acknowledgement of a message whose write is in flight deletes it afterwards', async () => {
    const o = await open(0, true);
    const { entry, persisted } = o.add('t', '{"i":1}', false);
    await Promise.resolve(); // the batch with the put has started (a microtask after add)
    o.acknowledge(entry.seq);
    await persisted;
    await o.flush();
    expect(await storedKeys()).toEqual([]);
    expect(o.stats()).toMatchObject({ writesElided: 0, batches: 2 });
  });

  it('with write_delay_ms 0 every message is written, even one acknowledged while waiting behind a batch', async () => {
    const o = await open(0, true);
    const a = o.add('t', '{"i":1}', false);
    await Promise.resolve(); // the batch with a's put has started
    const b = o.add('t', '{"i":2}', false); // waits behind it
    o.acknowledge(b.entry.seq);
    await Promise.all([a.persisted, b.persisted]);
    await o.flush();
    expect(await storedKeys()).toEqual(['0000000000000001']);
    expect(o.stats()).toMatchObject({ writesElided: 0, batches: 2 });
  });

  it('removeWhere erases at once: pending puts are dropped, written ones deleted', async () => {
    const o = await open(MINUTE_MS, false);
    await o.add('t/private', '{"i":1}', false, { data: 'derived' }).persisted; // written (disconnected)
    o.setConnected(true);
    const pending = o.add('t/private', '{"i":2}', false, { data: 'derived' }); // waits a minute
    o.add('t/public', '{"i":3}', false);
    const removed = await o.removeWhere((e) => e.privacy !== undefined);
    await pending.persisted;
    expect(removed).toBe(2);
    expect((await storedKeys()).length).toBe(1); // only the public one, written by removeWhere's flush
    expect([...o.values()].map((e) => e.topic)).toEqual(['t/public']);
  });

  it('close() writes what waits for its delay: a clean stop keeps every unacknowledged message', async () => {
    const o = await open(MINUTE_MS, true);
    const a = o.add('t', '{"i":1}', false);
    await o.close();
    await a.persisted;
    expect(await storedKeys()).toEqual(['0000000000000001']);
  });
});
