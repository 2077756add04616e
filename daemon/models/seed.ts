/**
 * Seed a service's models directory: this installation's manifest and bundled models copied to
 * where a configuration's `models.dir` / `models.manifest` point (`edgeloom install-service`), so
 * that `models list|fetch`, `doctor` and the first start find them.
 *
 * Modes are set explicitly, whatever the umask (root's may be 077): directories 0755, files 0644.
 * The service's DynamicUser= account reads them; only root writes them, so a compromised daemon
 * cannot swap its own models.
 *
 * A manifest already there is the administrator's (`models fetch --pin` writes pins into it, or it
 * belongs to another version): it is kept, and so are the files; one identical to this version's
 * only gets its bundled files restored where they are missing or damaged. Files of models that
 * are not bundled (`models fetch` downloads) are never touched.
 */
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
} from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { EdgeloomError, ErrorCode } from '../errors.js';
import { ChecksumCache } from './checksum.js';
import { loadManifest, NPM_PREFIX } from './manifest.js';
import { checkEntryFiles } from './verify.js';

const DIR_MODE = 0o755;
const FILE_MODE = 0o644;

export interface SeedOptions {
  /** This installation's models/ (the package root's). */
  readonly sourceDir: string;
  /** Where the files go (`models.dir`, with any install root prefixed). */
  readonly modelsDir: string;
  /** Where the manifest goes (`models.manifest`, with any install root prefixed). */
  readonly manifestFile: string;
}

export interface SeedReport {
  /**
   * - `seeded`: there was no manifest; it and every bundled file were written.
   * - `checked`: the same manifest was there; `restored` bundled files were missing or damaged.
   * - `kept`: a different manifest was there; nothing was written.
   * - `in-place`: the destination is this installation's own models/.
   */
  readonly action: 'seeded' | 'checked' | 'kept' | 'in-place';
  /** Bundled files written. */
  readonly written: number;
}

/** Create `dir` and its missing parents up to an existing directory, each 0755. */
function mkdirs(dir: string): void {
  if (existsSync(dir)) return;
  mkdirs(dirname(dir));
  mkdirSync(dir);
  chmodSync(dir, DIR_MODE);
}

/** Copy through a temporary name, so a crash never leaves a half-written file under the real one. */
function install(from: string, to: string): void {
  mkdirs(dirname(to));
  const tmp = `${to}.${process.pid}.tmp`;
  copyFileSync(from, tmp);
  chmodSync(tmp, FILE_MODE);
  renameSync(tmp, to);
}

/** `path` inside `dir` (a manifest path must not climb out of its models directory). */
function inside(dir: string, path: string): string {
  const abs = resolve(dir, path);
  if (relative(dir, abs).split(sep)[0] === '..') {
    throw new EdgeloomError(ErrorCode.E_MODEL_MANIFEST, `model file ${path} is outside ${dir}`, {
      where: path,
    });
  }
  return abs;
}

export async function seedModels(options: SeedOptions): Promise<SeedReport> {
  const sourceDir = resolve(options.sourceDir);
  const modelsDir = resolve(options.modelsDir);
  const sourceManifestFile = join(sourceDir, 'manifest.json');
  if (modelsDir === sourceDir && resolve(options.manifestFile) === sourceManifestFile) {
    return { action: 'in-place', written: 0 };
  }
  const sourceText = readFileSync(sourceManifestFile, 'utf8');
  const manifest = loadManifest(sourceManifestFile);
  const seeding = !existsSync(options.manifestFile);
  if (!seeding && readFileSync(options.manifestFile, 'utf8') !== sourceText) {
    return { action: 'kept', written: 0 };
  }

  const cache = new ChecksumCache();
  let written = 0;
  for (const entry of manifest.models.filter((m) => m.bundled)) {
    const checks = await checkEntryFiles(entry, modelsDir, cache);
    for (const check of checks) {
      if (check.path.startsWith(NPM_PREFIX) || check.state === 'ok') continue;
      install(inside(sourceDir, check.path), inside(modelsDir, check.path));
      written++;
    }
    // Licence files beside the model files (models/vad/LICENSE) travel with them.
    for (const dir of new Set(entry.files.map((f) => dirname(f.path)))) {
      if (dir === '.' || dir.startsWith(NPM_PREFIX) || !existsSync(inside(sourceDir, dir))) continue;
      for (const name of readdirSync(inside(sourceDir, dir))) {
        if (!/^(LICEN[CS]E|NOTICE|COPYING)/i.test(name)) continue;
        const to = inside(modelsDir, join(dir, name));
        if (!existsSync(to)) install(join(sourceDir, dir, name), to);
      }
    }
  }
  // Every bundled file now matches the manifest: a damaged source fails here, before the manifest
  // that would vouch for it is written.
  for (const entry of manifest.models.filter((m) => m.bundled)) {
    const bad = (await checkEntryFiles(entry, modelsDir, new ChecksumCache())).filter(
      (c) => c.state !== 'ok',
    );
    if (bad.length > 0) {
      throw new EdgeloomError(
        ErrorCode.E_MODEL_SEED,
        `seeding ${modelsDir}: ${bad.map((c) => `${c.absPath} is ${c.state}`).join(', ')}`,
        { where: modelsDir },
      );
    }
  }
  // The manifest last: until it is there, a rerun seeds again.
  if (seeding) install(sourceManifestFile, options.manifestFile);
  return { action: seeding ? 'seeded' : 'checked', written };
}
