/**
 * Compare a manifest entry's files on disk against their recorded sha256 and size. Shared by the
 * ModelManager (before the first load) and `edgeloom models list|verify`.
 */
import { stat } from 'node:fs/promises';
import { EdgeloomError, ErrorCode } from '../errors.js';
import type { ChecksumCache } from './checksum.js';
import { type ModelEntry, resolveModelFile } from './manifest.js';

/**
 * - `ok`: present, size and sha256 match.
 * - `missing`: not on disk.
 * - `mismatch`: present but the size or sha256 differs.
 * - `unpinned`: present, but the manifest has no sha256 to compare with yet.
 */
export type FileState = 'ok' | 'missing' | 'mismatch' | 'unpinned';

export interface FileCheck {
  /** As written in the manifest. */
  readonly path: string;
  readonly absPath: string;
  readonly state: FileState;
  readonly expectedSha256: string | null;
  readonly actualSha256?: string;
  readonly expectedSizeBytes: number | null;
  readonly actualSizeBytes?: number;
}

export async function checkEntryFiles(
  entry: ModelEntry,
  modelsDir: string,
  cache: ChecksumCache,
): Promise<FileCheck[]> {
  const out: FileCheck[] = [];
  for (const file of entry.files) {
    const absPath = resolveModelFile(file.path, modelsDir);
    const base = {
      path: file.path,
      absPath,
      expectedSha256: file.sha256,
      expectedSizeBytes: file.size_bytes,
    };
    const st = await stat(absPath).catch(() => undefined);
    if (st === undefined || !st.isFile()) {
      out.push({ ...base, state: 'missing' });
      continue;
    }
    // A size mismatch settles it without reading the file.
    if (file.size_bytes !== null && st.size !== file.size_bytes) {
      out.push({ ...base, state: 'mismatch', actualSizeBytes: st.size });
      continue;
    }
    const d = await cache.digest(absPath);
    const state: FileState = file.sha256 === null ? 'unpinned' : d.sha256 === file.sha256 ? 'ok' : 'mismatch';
    out.push({ ...base, state, actualSha256: d.sha256, actualSizeBytes: d.sizeBytes });
  }
  return out;
}

/**
 * Throw unless every file is present and matches: `E_MODEL_MISSING` or `E_MODEL_CHECKSUM`
 * naming the file, the expected and the actual value. Unpinned files pass (they were accepted
 * by `models fetch` with `pin: on-first-fetch`); `onUnpinned` is told about each.
 */
export function assertFilesOk(
  entryId: string,
  checks: readonly FileCheck[],
  onUnpinned?: (c: FileCheck) => void,
): void {
  for (const c of checks) {
    if (c.state === 'missing') {
      throw new EdgeloomError(
        ErrorCode.E_MODEL_MISSING,
        `model ${entryId}: ${c.absPath} is missing (try: edgeloom models fetch ${entryId})`,
        { where: c.absPath },
      );
    }
    if (c.state === 'mismatch') {
      const what =
        c.actualSha256 === undefined
          ? `size ${c.actualSizeBytes} bytes, expected ${c.expectedSizeBytes}`
          : `sha256 ${c.actualSha256}, expected ${c.expectedSha256}`;
      throw new EdgeloomError(ErrorCode.E_MODEL_CHECKSUM, `model ${entryId}: ${c.absPath} has ${what}`, {
        where: c.absPath,
      });
    }
    if (c.state === 'unpinned') onUnpinned?.(c);
  }
}
