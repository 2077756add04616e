/**
 * A models directory and manifest for the wake-word tests: the repository's own manifest and
 * Silero VAD, plus the generated openWakeWord test models (scripts/make-oww-test-models.ts) under
 * the real entries' file names. The real v0.5.1 files cannot be downloaded here, so the two
 * openWakeWord entries are re-pinned (sha256, size) to the generated files in this copy of the
 * manifest — the model manager then verifies them as it would the real ones.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type OwwTestClassifierOptions, writeOwwTestModels } from '../../scripts/make-oww-test-models.js';
import { REPO_ROOT } from './tools.js';

export const FEATURES_ID = 'openwakeword-features';
export const WORD_ID = 'openwakeword-hey-jarvis';

/** Writes `<dir>/models/…` and `<dir>/manifest.json`; returns their paths. */
export function writeWakeModels(
  dir: string,
  o: { readonly classifier?: OwwTestClassifierOptions; readonly withWakeFiles?: boolean } = {},
): { modelsDir: string; manifest: string } {
  const modelsDir = join(dir, 'models');
  mkdirSync(modelsDir, { recursive: true });
  symlinkSync(join(REPO_ROOT, 'models/vad'), join(modelsDir, 'vad'));
  const owwDir = join(modelsDir, 'openwakeword');
  if (o.withWakeFiles !== false) writeOwwTestModels(owwDir, o.classifier ?? {});
  const manifest = JSON.parse(readFileSync(join(REPO_ROOT, 'models/manifest.json'), 'utf8')) as {
    models: { id: string; files: { path: string; sha256: string | null; size_bytes: number | null }[] }[];
  };
  if (o.withWakeFiles !== false) {
    for (const entry of manifest.models.filter((m) => m.id === FEATURES_ID || m.id === WORD_ID)) {
      for (const f of entry.files) {
        const bytes = readFileSync(join(modelsDir, f.path));
        f.sha256 = createHash('sha256').update(bytes).digest('hex');
        f.size_bytes = bytes.length;
      }
    }
  }
  const manifestPath = join(dir, 'manifest.json');
  writeFileSync(manifestPath, JSON.stringify(manifest, null, 2));
  return { modelsDir, manifest: manifestPath };
}
