/**
 * sha256 of model files, remembered per (path, size, mtime) so a daemon start does not re-hash
 * ~40 MB of Whisper on a Pi's SD card every time (about a second of I/O and CPU). A file that was
 * replaced gets a new mtime or size and is hashed again. The cache is optional and best effort:
 * when its file cannot be written (read-only state dir) the hashes still come out right.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

export interface FileDigest {
  readonly sha256: string;
  readonly sizeBytes: number;
}

interface CacheRecord {
  readonly sizeBytes: number;
  readonly mtimeMs: number;
  readonly sha256: string;
}

/** Hash a file by streaming it (model files can be larger than we want to hold in memory twice). */
export async function sha256File(path: string): Promise<FileDigest> {
  const hash = createHash('sha256');
  let sizeBytes = 0;
  for await (const chunk of createReadStream(path)) {
    hash.update(chunk as Buffer);
    sizeBytes += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), sizeBytes };
}

export class ChecksumCache {
  /** Hashes computed since start; also filled from `file`. Bounded by the number of model files. */
  private readonly records = new Map<string, CacheRecord>();
  private loaded: Promise<void> | undefined;
  /** Files hashed (not served from the cache), for tests and health. */
  hashed = 0;

  /** @param file JSON file persisting the cache across starts; undefined keeps it in memory only. */
  constructor(private readonly file?: string) {}

  /** sha256 and size of `path`, from the cache when the file's size and mtime are unchanged. */
  async digest(path: string): Promise<FileDigest> {
    await this.load();
    const st = await stat(path);
    const known = this.records.get(path);
    if (known !== undefined && known.sizeBytes === st.size && known.mtimeMs === st.mtimeMs) {
      return { sha256: known.sha256, sizeBytes: known.sizeBytes };
    }
    const d = await sha256File(path);
    this.hashed++;
    this.records.set(path, { sizeBytes: d.sizeBytes, mtimeMs: st.mtimeMs, sha256: d.sha256 });
    await this.save();
    return d;
  }

  private load(): Promise<void> {
    this.loaded ??= (async () => {
      if (this.file === undefined) return;
      try {
        const data = JSON.parse(await readFile(this.file, 'utf8')) as Record<string, CacheRecord>;
        for (const [path, r] of Object.entries(data)) {
          if (
            typeof r?.sha256 === 'string' &&
            typeof r.sizeBytes === 'number' &&
            typeof r.mtimeMs === 'number'
          ) {
            this.records.set(path, r);
          }
        }
      } catch {
        // Absent or damaged cache: start empty; it is rebuilt by hashing.
      }
    })();
    return this.loaded;
  }

  private async save(): Promise<void> {
    if (this.file === undefined) return;
    try {
      await mkdir(dirname(this.file), { recursive: true });
      const tmp = `${this.file}.${process.pid}.tmp`;
      await writeFile(tmp, JSON.stringify(Object.fromEntries(this.records)));
      await rename(tmp, this.file);
    } catch {
      // Best effort (see the module comment).
    }
  }
}
