/**
 * The daemon's one LevelDB store (`storage.dir`), and the one way to open it. One process may
 * open a LevelDB directory at a time, so the daemon opens it once (quarantine.ts: opened, read
 * back, replaced when damaged), StorageComponent owns it, and every user keeps to its own
 * sublevel, each listed in the table of sublevels.ts.
 */
import { Level } from 'level';
import { EdgeloomError, ErrorCode } from '../errors.js';

/** The store every owner of a sublevel is handed (JSON values by default). */
export type Store = Level<string, unknown>;

/**
 * Open the store at `dir` (created when missing). A store held by a running daemon fails with
 * `E_STORAGE_LOCKED` naming the directory, instead of LevelDB's generic open error.
 */
export async function openStore(dir: string): Promise<Store> {
  const db = new Level<string, unknown>(dir, { valueEncoding: 'json' });
  try {
    await db.open();
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause;
    if (cause?.code === 'LEVEL_LOCKED') {
      throw new EdgeloomError(
        ErrorCode.E_STORAGE_LOCKED,
        `storage ${dir} is in use by another process (is the daemon running?)`,
        {
          where: dir,
          cause: err,
        },
      );
    }
    throw new EdgeloomError(
      ErrorCode.E_STORAGE_OPEN,
      `cannot open storage ${dir}: ${(err as Error).message}`,
      {
        where: dir,
        cause: err,
      },
    );
  }
  return db;
}
