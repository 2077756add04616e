/**
 * When the storage directory cannot be renamed — it is a mount point here (EBUSY), as a dedicated
 * partition would be; under systemd it is the StateDirectory, whose parent the service may not
 * write (EACCES) — a damaged store is quarantined one level down, in `<dir>/damaged-<UTC time>/`,
 * and the fresh store opens beside it. A real tmpfs mounted on the storage directory (root only;
 * CI runs as root, and fails here when it cannot mount); the store is made and damaged on it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, truncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLogger } from '../../daemon/log.js';
import { listQuarantined, openCheckedStore } from '../../daemon/storage/quarantine.js';
import { STORE_VERIFIERS } from '../../daemon/storage/sublevels.js';

const CI = process.env.CI === 'true' || process.env.CI === '1';
const isRoot = process.getuid?.() === 0;
if (CI && !isRoot) throw new Error('store-quarantine-inside.test.ts needs root (a tmpfs mount) under CI');

describe.runIf(isRoot)('quarantine inside a storage directory that cannot be renamed', () => {
  let dir: string;
  let storage: string;
  let mounted = false;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'edgeloom-quarantine-inside-'));
    storage = join(dir, 'state');
    mkdirSync(storage);
    const r = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'edgeloom-test', storage], {
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(`mount tmpfs failed: ${r.stderr || r.error?.message}`);
    mounted = true;
  });

  afterAll(() => {
    if (mounted) spawnSync('umount', ['-l', storage]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('moves the damaged files into <dir>/damaged-<time>/ and opens a fresh store in <dir>', async () => {
    const db = new Level<string, unknown>(storage, { valueEncoding: 'json' });
    await db.open();
    await db.put('!outbox!0000000000000001', { topic: 't', payload: '1', retain: false, enqueued_ms: 1 });
    await db.close();
    truncateSync(join(storage, 'CURRENT'), 3);

    const opened = await openCheckedStore({
      dir: storage,
      logger: silentLogger(),
      verifiers: STORE_VERIFIERS,
      now: () => new Date('2026-01-02T03:04:05Z'),
    });
    try {
      const q = opened.quarantined;
      expect(q?.code).toBe('E_STORE_OPEN_CORRUPT');
      expect(q?.damagedDir).toBe(join(storage, 'damaged-2026-01-02T03-04-05Z'));
      expect(existsSync(join(q!.damagedDir, 'QUARANTINE.json'))).toBe(true);
      expect(readdirSync(q!.damagedDir)).toContain('CURRENT');
      // The outbox message came over (the copy was repaired), and the fresh store works.
      expect(q?.salvagedOutbox).toBe(1);
      expect(await opened.store.get('!outbox!0000000000000001')).toMatchObject({ topic: 't' });
      await opened.store.put('k', 'v');
    } finally {
      await opened.store.close();
    }
    const listed = await listQuarantined(storage);
    expect(listed.map((x) => x.dir)).toEqual([join(storage, 'damaged-2026-01-02T03-04-05Z')]);
    expect(listed[0]?.record?.code).toBe('E_STORE_OPEN_CORRUPT');

    // The next open finds the fresh store sound and the quarantine left where it is.
    const again = await openCheckedStore({
      dir: storage,
      logger: silentLogger(),
      verifiers: STORE_VERIFIERS,
    });
    expect(again.quarantined).toBeUndefined();
    await again.store.close();
  });
});
