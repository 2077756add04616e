import { readdir, readFile, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { EdgeloomError, ErrorCode } from '../../errors.js';
import { packageRoot } from '../../util/package-root.js';

/** One file served from memory. */
export interface StaticAsset {
  readonly body: Buffer;
  readonly contentType: string;
}

const TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
};

/** The pages: URL path → file in the static folder. Everything else is under /static/. */
export const PAGES: Readonly<Record<string, string>> = {
  '/': 'dashboard.html',
  '/display': 'display.html',
};

/** Total bytes loaded; the folder holds a few small hand-written files, so more means a mistake. */
const MAX_TOTAL_BYTES = 2 * 1024 * 1024;

/**
 * `<package root>/daemon/observe/http/static`: the same path from the TypeScript sources and from an
 * installed package (whose "files" must ship `daemon/observe/http/static/`), since tsc copies nothing.
 */
export function defaultStaticDir(): string {
  return join(packageRoot(), 'daemon', 'observe', 'http', 'static');
}

/**
 * Read every servable file of the folder into memory once at start: requests then never touch
 * the file system, and a path in a URL can only name a file that is in this map (no traversal).
 */
export async function loadStaticAssets(dir: string): Promise<Map<string, StaticAsset>> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (err) {
    throw new EdgeloomError(ErrorCode.E_HTTP_STATIC, `static folder not readable: ${dir}`, {
      where: dir,
      cause: err,
    });
  }
  const assets = new Map<string, StaticAsset>();
  let total = 0;
  for (const name of names.sort()) {
    const contentType = TYPES[extname(name).toLowerCase()];
    if (contentType === undefined) continue;
    const path = join(dir, name);
    if (!(await stat(path)).isFile()) continue;
    const body = await readFile(path);
    total += body.length;
    if (total > MAX_TOTAL_BYTES) {
      throw new EdgeloomError(ErrorCode.E_HTTP_STATIC, `static folder exceeds ${MAX_TOTAL_BYTES} bytes`, {
        where: path,
      });
    }
    assets.set(name, { body, contentType });
  }
  for (const page of Object.values(PAGES)) {
    if (!assets.has(page))
      throw new EdgeloomError(ErrorCode.E_HTTP_STATIC, `missing page ${page}`, { where: dir });
  }
  return assets;
}
