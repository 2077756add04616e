/**
 * `edgeloom audit` and `edgeloom forget` against a real LevelDB store of a stopped daemon (commands
 * run in-process; test/integration/privacy-forget.test.ts covers a running daemon).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { auditCommand, parseSince } from '../../daemon/cli/cmd-audit.js';
import { forgetCommand } from '../../daemon/cli/cmd-forget.js';
import { privacyCommand } from '../../daemon/cli/cmd-privacy.js';
import { type AuditEntry, AuditLog, type AuditRecord } from '../../daemon/router/audit-log.js';
import { openStore } from '../../daemon/storage/store.js';
import { SUBLEVEL, sublevel } from '../../daemon/storage/sublevels.js';

let dir: string;
const saved = process.env.EDGELOOM_STORAGE_DIR;

const entry = (tsMs: number, correlationId: string, outcome: 'sent' | 'refused' = 'sent'): AuditEntry => ({
  tsMs,
  dataKind: 'audio',
  bytes: 1234,
  host: 'api.example.com',
  path: '/v1/audio/transcriptions',
  reason: 'in_hybrid_band',
  tier: 'public',
  correlationId,
  payloadRef: 'sha256:00@e1',
  outcome,
});

async function capture(fn: () => Promise<number>): Promise<{ code: number; out: string }> {
  const chunks: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => {
    chunks.push(String(c));
    return true;
  });
  try {
    return { code: await fn(), out: chunks.join('') };
  } finally {
    spy.mockRestore();
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edgeloom-cli-'));
  process.env.EDGELOOM_STORAGE_DIR = dir;
  const store = await openStore(dir);
  // Records are stamped with the wall clock; pin it to two dates for the --since filter.
  const at = (iso: string) => new AuditLog(store, { now: () => Date.parse(iso) });
  await at('2024-01-01T00:00:00Z').append(entry(Date.parse('2024-01-01T00:00:00Z'), 'old'));
  await at('2024-06-01T00:00:00Z').append(entry(Date.parse('2024-06-01T00:00:00Z'), 'new', 'refused'));
  // Agents nest sublevels per agent; forget must reach them too.
  await store
    .sublevel('agents')
    .sublevel<string, unknown>('voice', { valueEncoding: 'json' })
    .put('e1', { intent: 'x' });
  await sublevel(store, SUBLEVEL.router).put('cost', { day: '2024-06-01', spentUsd: 0.5 });
  await store.close();
});

afterAll(async () => {
  if (saved === undefined) delete process.env.EDGELOOM_STORAGE_DIR;
  else process.env.EDGELOOM_STORAGE_DIR = saved;
  await rm(dir, { recursive: true, force: true });
});

describe('edgeloom audit / forget', () => {
  it('parses --since as ISO or a duration, and refuses garbage', () => {
    expect(parseSince('2h', 10_000_000)).toBe(10_000_000 - 7_200_000);
    expect(parseSince('2024-06-01T00:00:00Z', 0)).toBe(Date.parse('2024-06-01T00:00:00Z'));
    expect(() => parseSince('yesterday-ish', 0)).toThrow(expect.objectContaining({ code: 'E_USAGE' }));
  });

  it('prints entries as JSON lines, filtered by --since, and as a table', async () => {
    const all = await capture(() => auditCommand.run(['--json']));
    expect(all.code).toBe(0);
    const lines = all.out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as AuditEntry);
    expect(lines.map((e) => e.correlationId)).toEqual(['old', 'new']);
    const recent = await capture(() => auditCommand.run(['--json', '--since', '2024-03-01T00:00:00Z']));
    expect(
      recent.out
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as AuditEntry).correlationId),
    ).toEqual(['new']);
    const table = await capture(() => auditCommand.run([]));
    expect(table.out).toContain('api.example.com/v1/audio/transcriptions');
    expect(table.out).toContain('cloud egress: 1 sent (1234 bytes), 1 refused');
    const verified = await capture(() => auditCommand.run(['--verify']));
    expect(verified).toMatchObject({ code: 0, out: expect.stringContaining('audit chain ok: 2 records') });
  });

  it('forget without --yes only counts; with --yes deletes personal data and keeps the cost state', async () => {
    const json = await capture(() => forgetCommand.run(['--json']));
    expect(JSON.parse(json.out)).toMatchObject({
      dry_run: true,
      deleted: { audit: 2, agents: 1 },
      via: 'store',
    });
    const dry = await capture(() => forgetCommand.run([]));
    expect(dry.out).toContain('would delete 2 audit');
    expect(dry.out).toContain('would delete 1 agents');
    // Only stores that exist are reported (no `transcripts`: nothing writes one).
    expect(dry.out).not.toContain('transcripts');
    const real = await capture(() => forgetCommand.run(['--yes']));
    expect(real.out).toContain('deleted 2 audit');
    expect(real.out).toContain('deleted 1 agents');

    const store = await openStore(dir);
    try {
      // One record is left: the one saying forget ran, linked to the erased chain.
      const left: AuditRecord[] = await new AuditLog(store).list();
      expect(left).toMatchObject([{ kind: 'forget', outcome: 'done', seq: 3, channel: 'cli' }]);
      expect((await new AuditLog(store).verify()).ok).toBe(true);
      let agentKeys = 0;
      for await (const _ of store.sublevel('agents').keys()) agentKeys++;
      expect(agentKeys).toBe(0);
      expect(await sublevel(store, SUBLEVEL.router).get('cost')).toEqual({
        day: '2024-06-01',
        spentUsd: 0.5,
      });
    } finally {
      await store.close();
    }
    const again = await capture(() => forgetCommand.run(['--yes']));
    expect(again.out).toContain('deleted 0 agents');
    expect(again.out).toContain('deleted 1 audit'); // the previous forget's record
  });

  it('privacy set and reset --json print what changed, one JSON object each', async () => {
    const set = await capture(() => privacyCommand.run(['set', 'mic0', 'local_only', '--json']));
    // A sensor id names its kind's scope (router/privacy.ts); tightening is no loosening.
    expect(JSON.parse(set.out)).toEqual({
      via: 'store',
      scope: 'sensor:mic',
      tier: 'local_only',
      previous: 'private',
      loosened: false,
    });
    const reset = await capture(() => privacyCommand.run(['reset', 'sensor:mic', '--json']));
    expect(JSON.parse(reset.out)).toEqual({ via: 'store', reset: ['sensor:mic'] });
  });

  it('reports a locked store clearly', async () => {
    const store = await openStore(dir);
    try {
      await expect(auditCommand.run([])).rejects.toMatchObject({ code: 'E_STORAGE_LOCKED' });
    } finally {
      await store.close();
    }
  });
});
