/**
 * The audit log's hash chain on a real LevelDB store: records in wall-clock time, one chain for
 * every AuditLog on the store, and verify() naming an edited, a deleted, a reordered and a
 * truncated record; the bound prunes the oldest and the chain still verifies; erase (forget)
 * continues the chain.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AuditBudget } from '../../daemon/router/audit-budget.js';
import { AuditLog, type AuditRecord } from '../../daemon/router/audit-log.js';
import { openStore, type Store } from '../../daemon/storage/store.js';

let dir: string;
let store: Store;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edgeloom-audit-chain-'));
  store = await openStore(dir);
});
afterEach(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

const key = (seq: number): string => `r!${String(seq).padStart(16, '0')}`;
const raw = () => store.sublevel<string, AuditRecord>('audit', { valueEncoding: 'json' });

async function fill(n: number): Promise<AuditLog> {
  const log = new AuditLog(store);
  for (let i = 1; i <= n; i++) await log.append({ kind: 'command', outcome: 'ok', command: `c${i}` });
  return log;
}

describe('audit hash chain', () => {
  it('stamps wall time (a replay event time is kept aside) and chains records of every instance', async () => {
    const a = new AuditLog(store, { now: () => 1_800_000_000_000 });
    const b = new AuditLog(store, { now: () => 1_800_000_001_000 });
    await a.append({
      tsMs: Date.parse('2024-01-01T00:00:00Z'), // a replay's virtual clock
      dataKind: 'audio',
      bytes: 10,
      host: 'h',
      path: '/p',
      reason: 'r',
      tier: 'public',
      correlationId: 'c',
      payloadRef: 'sha256:0@1',
      outcome: 'sent',
    });
    await b.append({ kind: 'privacy', outcome: 'applied', scope: 'sensor:mic' });
    const records = await a.list();
    expect(records).toMatchObject([
      { seq: 1, kind: 'egress', tsMs: 1_800_000_000_000, eventTsMs: Date.parse('2024-01-01T00:00:00Z') },
      { seq: 2, kind: 'privacy', tsMs: 1_800_000_001_000, prev: records[0]!.hash },
    ]);
    expect(await a.list({ sinceMs: 1_800_000_000_500 })).toHaveLength(1);
    expect(await b.verify()).toMatchObject({ ok: true, checked: 2, headSeq: 2 });
  });

  it('names an edited record', async () => {
    const log = await fill(5);
    const r = (await raw().get(key(3)))!;
    await raw().put(key(3), { ...r, command: 'something else' });
    const v = await log.verify();
    expect(v.ok).toBe(false);
    expect(v.problems).toEqual([{ seq: 3, problem: 'content does not match its hash (edited)' }]);
  });

  it('names an edited record whose hash was recomputed, by the next link', async () => {
    const log = await fill(5);
    const { createHash } = await import('node:crypto');
    const { canonicalJson } = await import('../../daemon/util/canonical-json.js');
    const { hash: _h, ...rest } = { ...(await raw().get(key(2)))!, command: 'forged' };
    await raw().put(key(2), {
      ...rest,
      hash: createHash('sha256').update(canonicalJson(rest)).digest('hex'),
    } as AuditRecord);
    expect((await log.verify()).problems).toEqual([
      { seq: 3, problem: 'does not follow record 2 (a record before it was edited, replaced or reordered)' },
    ]);
  });

  it('names a deleted record, a reordered pair and deleted newest records', async () => {
    const log = await fill(8);
    await raw().del(key(4));
    expect((await log.verify()).problems).toEqual([
      { seq: 5, problem: 'records 4..4 are missing (deleted)' },
    ]);

    const [r6, r7] = [(await raw().get(key(6)))!, (await raw().get(key(7)))!];
    await raw().batch([
      { type: 'put', key: key(6), value: r7 },
      { type: 'put', key: key(7), value: r6 },
    ]);
    const swapped = (await log.verify()).problems.map((p) => p.problem);
    expect(swapped).toContain('record under key 6 says it is record 7 (moved or reordered)');
    expect(swapped).toContain('record under key 7 says it is record 6 (moved or reordered)');

    await raw().del(key(8));
    expect((await log.verify()).problems.at(-1)).toEqual({
      seq: 8,
      problem: 'records 8..8 are missing (deleted at the end)',
    });
  });

  it('keeps at most maxRecords, pruning the oldest, and still verifies', async () => {
    const log = new AuditLog(store, { maxRecords: 100 });
    for (let i = 0; i < 350; i++) await log.append({ kind: 'command', outcome: 'ok', n: i });
    const size = await log.size();
    expect(size).toBeGreaterThanOrEqual(100);
    expect(size).toBeLessThanOrEqual(101);
    const v = await log.verify();
    expect(v).toMatchObject({ ok: true, headSeq: 350 });
    expect(v.fromSeq).toBe(350 - size + 1);
  });

  it('erase (forget) deletes every record and the chain continues from the erased head', async () => {
    const log = await fill(4);
    const head = (await log.list()).at(-1)!;
    const { deleted, erasedHead } = await log.erase();
    expect(deleted).toBe(4);
    expect(erasedHead.hash).toBe(head.hash);
    const forget = await log.append({ kind: 'forget', outcome: 'done' });
    expect(forget).toMatchObject({ seq: 5, prev: head.hash });
    expect(await log.list()).toHaveLength(1);
    expect(await log.verify()).toMatchObject({ ok: true, checked: 1, fromSeq: 5 });
  });

  it('migrates entries written before the chain into it', async () => {
    await raw().put(
      '001704067200000-000001' as string,
      {
        tsMs: 1_704_067_200_000,
        dataKind: 'text',
        outcome: 'sent',
      } as unknown as AuditRecord,
    );
    const log = new AuditLog(store);
    await log.append({ kind: 'command', outcome: 'ok' });
    const records = await log.list();
    expect(records).toMatchObject([
      { seq: 1, kind: 'egress', migrated: true },
      { seq: 2, kind: 'command' },
    ]);
    expect((await log.verify()).ok).toBe(true);
  });

  it('a flood of network-caused records is written one by one up to the budget, then summarised', async () => {
    const log = new AuditLog(store);
    let now = 0;
    const budget = new AuditBudget({
      append: (r) => log.append(r),
      perMinute: 120,
      now: () => now,
      summary: (byOutcome, total) => ({
        kind: 'command',
        outcome: 'summary',
        commands: total,
        by_outcome: byOutcome,
      }),
      onError: (err) => {
        throw err;
      },
    });
    // 20 commands a second for five minutes: the rate bound lets that many through.
    for (let i = 0; i < 6000; i++) {
      now = i * 50;
      budget.record({ kind: 'command', outcome: i % 2 ? 'E_CMD_AUTH' : 'ok', n: i });
    }
    budget.flush();
    const records = await log.list();
    expect(records.filter((r) => r.outcome !== 'summary')).toHaveLength(5 * 120);
    const summaries = records.filter((r) => r.outcome === 'summary');
    expect(summaries).toHaveLength(5);
    expect(summaries.reduce((n, r) => n + (r.commands as number), 0)).toBe(6000 - 5 * 120);
    expect(summaries[0]).toMatchObject({ by_outcome: { ok: 540, E_CMD_AUTH: 540 } });
  });
});
