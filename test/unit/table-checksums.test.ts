/**
 * The store check reads every block of every table against its checksum (table-checksums.ts).
 * LevelDB itself reads without checking checksums, so a byte changed inside a compressed literal
 * reads back changed and unnoticed: the case below is that damage, made on a real LevelDB table,
 * and shown to pass a full read of every entry while the checksum check finds it.
 */
import { createHash } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../daemon/log.js';
import { checkStore } from '../../daemon/storage/check.js';
import { openCheckedStore } from '../../daemon/storage/quarantine.js';
import { crc32c, verifyTable, verifyTableChecksums } from '../../daemon/storage/table-checksums.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** 64 bytes of 'Z' in the middle of the marker's literal, in the table that holds it. */
function damageMarker(dir: string, marker: string): void {
  const table = tables(dir).find((t) => readFileSync(t).includes(marker));
  expect(table).toBeDefined();
  const fd = openSync(table!, 'r+');
  writeSync(fd, Buffer.alloc(64, 0x5a), 0, 64, readFileSync(table!).indexOf(marker) + 32);
  closeSync(fd);
}

/** A store whose entries sit in `.ldb` tables: written, closed, and reopened (the log is flushed). */
async function storeWithTables(): Promise<{ dir: string; marker: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'edgeloom-crc-'));
  dirs.push(dir);
  const db = new Level<string, unknown>(dir, { valueEncoding: 'json' });
  await db.open();
  // Repetitive values (Snappy compresses them, so blocks hold copies and literals) and one long
  // string without repeats (fixed, so every run lays the table out the same): one Snappy literal.
  const marker = [0, 1, 2, 3].map((i) => createHash('sha256').update(`m${i}`).digest('base64')).join('');
  const batch = db.batch();
  for (let i = 0; i < 400; i++) {
    batch.put(`!agents!!a${i % 7}!l!${String(i).padStart(16, '0')}`, {
      kind: 'face',
      score: i / 400,
      note: 'x'.repeat(40),
    });
  }
  batch.put('!outbox!0000000000000001', { topic: 'home/kitchen/light/set', payload: marker });
  await batch.write();
  await db.close();
  const again = new Level<string, unknown>(dir, { valueEncoding: 'json' });
  await again.open();
  await again.close();
  expect(readdirSync(dir).some((f) => f.endsWith('.ldb'))).toBe(true);
  return { dir, marker };
}

function tables(dir: string): string[] {
  return readdirSync(dir)
    .filter((f) => f.endsWith('.ldb'))
    .map((f) => join(dir, f));
}

describe('table checksums', () => {
  it('computes CRC32C (the check value of the Castagnoli polynomial)', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
  });

  it('passes an undamaged store, and every table in it is checked', async () => {
    const { dir } = await storeWithTables();
    expect(await verifyTableChecksums(dir)).toBeUndefined();
    // The check really walks the table: any single damaged byte of it is found.
    const file = readFileSync(tables(dir)[0]!);
    for (let at = 0; at < file.length; at += Math.max(1, Math.floor(file.length / 97))) {
      const damaged = Buffer.from(file);
      damaged[at] = damaged[at]! ^ 0x01;
      const found = verifyTable(damaged);
      // A flipped bit in the magic number makes it "not a table" (LevelDB's own read fails it).
      if (at < file.length - 8) expect(found, `byte ${at}`).toBeDefined();
    }
  });

  it('finds garbage inside a compressed literal that a full read of every entry does not see', async () => {
    const { dir, marker } = await storeWithTables();
    damageMarker(dir, marker);

    const db = new Level<string, unknown>(dir, { valueEncoding: 'json' });
    await db.open();
    try {
      // Without the checksums: every entry reads back, parses, and matches its lookup.
      const read = await checkStore(db, { verifiers: [] });
      expect(read.damage).toBeUndefined();
      const value = (await db.get('!outbox!0000000000000001')) as { payload: string };
      expect(value.payload).toContain('Z'.repeat(64));
      // With them: the damaged block is named.
      const checked = await checkStore(db, { verifiers: [], dir });
      expect(checked.damage?.code).toBe('E_STORE_CORRUPT');
      expect(checked.damage?.message).toMatch(/^table \d+\.ldb: data block at byte \d+ fails its checksum$/);
    } finally {
      await db.close();
    }
  });

  it("quarantines such a store and carries over none of the damaged block's altered entries", async () => {
    const { dir, marker } = await storeWithTables();
    damageMarker(dir, marker);
    const opened = await openCheckedStore({ dir, logger: silentLogger() });
    try {
      expect(opened.quarantined?.code).toBe('E_STORE_CORRUPT');
      dirs.push(opened.quarantined!.damagedDir);
      // The outbox entry sat in the damaged block: LevelDB would have handed it out with the
      // garbage in its payload; it is not carried over.
      expect(opened.quarantined?.salvagedOutbox).toBe(0);
      const rows: string[] = [];
      for await (const v of opened.store.values<string, string>({
        keyEncoding: 'utf8',
        valueEncoding: 'utf8',
      })) {
        rows.push(v);
      }
      expect(rows.some((v) => v.includes('ZZZZ'))).toBe(false);
    } finally {
      await opened.store.close();
    }
  });
});
