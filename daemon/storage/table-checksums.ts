/**
 * Every block of every LevelDB table (`*.ldb`, `*.sst`) checked against its CRC32C.
 *
 * Why: LevelDB reads blocks without checking their checksums unless asked
 * (`ReadOptions::verify_checksums` and `Options::paranoid_checks` are both false by default, and
 * classic-level exposes neither). A damaged byte inside a Snappy literal then decompresses to a
 * different byte, the entry still parses, and a full read of the store reports nothing. The
 * table format (LevelDB's doc/table_format.md) stores a masked CRC32C beside every block, so the
 * check reads each table file and recomputes them all.
 *
 * Layout it relies on (doc/table_format.md): data blocks, meta blocks (the filter), a metaindex
 * block, an index block, then a 48-byte footer (two block handles, padding, the magic number).
 * Each block is followed by a 1-byte type (0 none, 1 Snappy) and a fixed32 masked CRC32C of the
 * block contents and the type. The index block lists the data blocks, the metaindex the meta
 * blocks; both may themselves be Snappy-compressed.
 *
 * A file without the magic number at its end is left to LevelDB: a table whose write was cut off
 * by a crash is not in the MANIFEST (LevelDB writes the footer last and deletes such a file when
 * it opens the store), and a live table with a broken footer already fails LevelDB's own read.
 * Run it with the store open (LevelDB has then deleted obsolete files); a table that a background
 * compaction removes while it is checked is skipped (its entries are in the compaction's output).
 */
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const FOOTER_BYTES = 48;
const TRAILER_BYTES = 5;
/** 0xdb4775248b80fb57, stored little-endian. */
const MAGIC = Buffer.from([0x57, 0xfb, 0x80, 0x8b, 0x24, 0x75, 0x47, 0xdb]);
const MASK_DELTA = 0xa282ead8;

let crcTable: Uint32Array | undefined;

/** CRC32C (Castagnoli, reflected polynomial 0x82f63b78). */
export function crc32c(data: Uint8Array, crc = 0): number {
  if (crcTable === undefined) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = ~crc >>> 0;
  for (let i = 0; i < data.length; i++) c = (crcTable[(c ^ data[i]!) & 0xff]! ^ (c >>> 8)) >>> 0;
  return ~c >>> 0;
}

/** LevelDB's masking of a stored CRC (util/crc32c.h: a CRC of data containing CRCs). */
function masked(crc: number): number {
  return (((crc >>> 15) | (crc << 17)) + MASK_DELTA) >>> 0;
}

class TableDamage extends Error {}

interface Cursor {
  readonly buf: Uint8Array;
  pos: number;
}

function varint(c: Cursor): number {
  let result = 0;
  let scale = 1;
  for (let i = 0; i < 10; i++) {
    if (c.pos >= c.buf.length) throw new TableDamage('truncated varint');
    const b = c.buf[c.pos++]!;
    result += (b & 0x7f) * scale;
    if ((b & 0x80) === 0) return result;
    scale *= 128;
  }
  throw new TableDamage('varint too long');
}

interface Handle {
  readonly offset: number;
  readonly size: number;
}

function handle(c: Cursor): Handle {
  return { offset: varint(c), size: varint(c) };
}

/** Snappy's raw format (github.com/google/snappy, format_description.txt). */
function snappyDecompress(src: Uint8Array): Uint8Array {
  const c: Cursor = { buf: src, pos: 0 };
  const out = new Uint8Array(varint(c));
  let o = 0;
  while (c.pos < src.length) {
    const tag = src[c.pos++]!;
    let len: number;
    let offset = 0;
    switch (tag & 3) {
      case 0: {
        len = tag >>> 2;
        if (len >= 60) {
          const n = len - 59;
          len = 0;
          for (let i = 0; i < n; i++) len += src[c.pos++]! * 256 ** i;
        }
        len += 1;
        if (c.pos + len > src.length || o + len > out.length) throw new TableDamage('bad snappy literal');
        out.set(src.subarray(c.pos, c.pos + len), o);
        c.pos += len;
        o += len;
        continue;
      }
      case 1:
        len = ((tag >>> 2) & 7) + 4;
        offset = ((tag >>> 5) << 8) | src[c.pos++]!;
        break;
      case 2:
        len = (tag >>> 2) + 1;
        offset = src[c.pos]! | (src[c.pos + 1]! << 8);
        c.pos += 2;
        break;
      default:
        len = (tag >>> 2) + 1;
        offset =
          (src[c.pos]! | (src[c.pos + 1]! << 8) | (src[c.pos + 2]! << 16) | (src[c.pos + 3]! << 24)) >>> 0;
        c.pos += 4;
    }
    if (offset === 0 || offset > o || o + len > out.length || c.pos > src.length) {
      throw new TableDamage('bad snappy copy');
    }
    for (let i = 0; i < len; i++, o++) out[o] = out[o - offset]!;
  }
  if (o !== out.length) throw new TableDamage('snappy length mismatch');
  return out;
}

/** Where the block at `h` keeps its compression type byte (the byte after its contents). */
function typeAt(h: Handle): number {
  return h.offset + h.size;
}

/** Does the block at `h` match its checksum? Throws when `h` points outside the file. */
function blockIntact(file: Uint8Array, h: Handle, what: string): boolean {
  const end = typeAt(h);
  if (end + TRAILER_BYTES > file.length - FOOTER_BYTES)
    throw new TableDamage(`${what} at ${h.offset} past the end`);
  const stored = Buffer.from(file.buffer, file.byteOffset + end + 1, 4).readUInt32LE(0);
  // The CRC covers the contents and the type byte.
  return masked(crc32c(file.subarray(h.offset, end + 1))) === stored;
}

/** The block at `h`, its checksum verified; the contents decompressed. */
function readBlock(file: Uint8Array, h: Handle, what: string): Uint8Array {
  if (!blockIntact(file, h, what)) throw new TableDamage(`${what} at byte ${h.offset} fails its checksum`);
  const end = typeAt(h);
  const type = file[end]!;
  if (type === 0) return file.subarray(h.offset, end);
  if (type === 1) return snappyDecompress(file.subarray(h.offset, end));
  throw new TableDamage(`${what} at byte ${h.offset} has compression type ${type}`);
}

/** The values of a block's entries (block handles, for an index or metaindex block). */
function blockValues(block: Uint8Array): Uint8Array[] {
  if (block.length < 4) throw new TableDamage('block too short');
  const view = Buffer.from(block.buffer, block.byteOffset, block.length);
  const restarts = view.readUInt32LE(block.length - 4);
  const limit = block.length - 4 - restarts * 4;
  if (limit < 0) throw new TableDamage('bad restart count');
  const c: Cursor = { buf: block.subarray(0, limit), pos: 0 };
  const values: Uint8Array[] = [];
  while (c.pos < limit) {
    varint(c); // shared key bytes
    const unshared = varint(c);
    const valueBytes = varint(c);
    c.pos += unshared;
    if (c.pos + valueBytes > limit) throw new TableDamage('entry past the block end');
    values.push(c.buf.subarray(c.pos, c.pos + valueBytes));
    c.pos += valueBytes;
  }
  return values;
}

export interface TableScan {
  /** The first damage found, described; undefined when every block matches its checksum. */
  readonly damage: string | undefined;
  /**
   * Offsets of the type bytes of the blocks that fail (a damaged index or metaindex block, or a
   * broken handle, stands for the whole table: its index block's).
   */
  readonly badTypeBytes: readonly number[];
}

/** Every block of one table file against its checksum. */
export function scanTable(file: Uint8Array): TableScan {
  if (file.length < FOOTER_BYTES || !MAGIC.equals(file.subarray(file.length - 8))) {
    return { damage: undefined, badTypeBytes: [] };
  }
  const footer: Cursor = { buf: file.subarray(file.length - FOOTER_BYTES), pos: 0 };
  let index: Handle | undefined;
  let damage: string | undefined;
  const bad: number[] = [];
  try {
    const metaindex = handle(footer);
    index = handle(footer);
    for (const [h, what] of [
      ...blockValues(readBlock(file, index, 'index block')).map((v) => [v, 'data block'] as const),
      ...blockValues(readBlock(file, metaindex, 'metaindex block')).map((v) => [v, 'meta block'] as const),
    ]) {
      const block = handle({ buf: h, pos: 0 });
      if (!blockIntact(file, block, what)) {
        damage ??= `${what} at byte ${block.offset} fails its checksum`;
        bad.push(typeAt(block));
      }
    }
    return { damage, badTypeBytes: bad };
  } catch (err) {
    if (!(err instanceof TableDamage)) throw err;
    const whole = index !== undefined && typeAt(index) < file.length ? [typeAt(index)] : [];
    return { damage: err.message, badTypeBytes: whole };
  }
}

/** Every block of one table file; a description of the first damage, or undefined. */
export function verifyTable(file: Uint8Array): string | undefined {
  return scanTable(file).damage;
}

/**
 * Make every block of `dir`'s tables that fails its checksum unreadable to LevelDB, by giving it
 * a compression type no reader accepts: LevelDB then reports the block as corrupt (`bad block
 * type`) instead of returning its altered entries. For a copy of a damaged store only (the
 * quarantine's salvage): what is carried over from it is then what was written. Returns the
 * number of blocks marked.
 */
export async function markDamagedBlocksUnreadable(dir: string): Promise<number> {
  let marked = 0;
  for (const name of await tableFiles(dir)) {
    const path = join(dir, name);
    const file = await readFile(path);
    const { badTypeBytes } = scanTable(file);
    if (badTypeBytes.length === 0) continue;
    for (const at of badTypeBytes) file[at] = 0xff;
    await writeFile(path, file);
    marked += badTypeBytes.length;
  }
  return marked;
}

async function tableFiles(dir: string): Promise<string[]> {
  return (await readdir(dir)).filter((f) => f.endsWith('.ldb') || f.endsWith('.sst')).sort();
}

/** Every table in the store directory `dir`; the first damage found (`000005.ldb: ...`). */
export async function verifyTableChecksums(dir: string, signal?: AbortSignal): Promise<string | undefined> {
  for (const name of await tableFiles(dir)) {
    signal?.throwIfAborted();
    let file: Buffer;
    try {
      file = await readFile(join(dir, name));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue; // compacted away meanwhile
      throw err;
    }
    const damage = verifyTable(file);
    if (damage !== undefined) return `table ${name}: ${damage}`;
  }
  return undefined;
}
