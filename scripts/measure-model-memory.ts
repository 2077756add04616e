/**
 * How the manifest's `memory_mb` figures are measured, so anyone can re-measure on their board:
 *
 *   node dist/scripts/measure-model-memory.js [--manifest FILE] [--models-dir DIR] [ID...]
 *
 * For each model, a fresh Node process (run with --expose-gc) imports onnxruntime-node through
 * daemon/pipeline/onnx-session.ts and creates one throwaway session on the smallest bundled model,
 * so the runtime's own one-off cost (shared library pages, thread pool) is in the baseline and not
 * charged to the first model measured; it then collects garbage, reads RSS, creates a session for
 * every `.onnx` file of the entry with edgeloom's session options (no CPU arena), collects garbage
 * again, and reads RSS. `memory_mb` is the median delta of three runs, rounded up. Activation
 * memory of a run is not included; the figures in the manifest add the headroom noted there.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadManifest, resolveModelFile } from '../daemon/models/manifest.js';
import { packageRoot } from '../daemon/util/package-root.js';

const MIB = 1024 * 1024;
const RUNS = 3;

async function child(files: string[]): Promise<void> {
  const { OnnxModel } = await import('../daemon/pipeline/onnx-session.js');
  const gc = (globalThis as { gc?: () => void }).gc ?? (() => undefined);
  const warm = await OnnxModel.load(
    join(packageRoot(), 'models/whisper-synthetic-tiny/onnx/encoder_model.onnx'),
    {
      modelId: 'warm-up',
      outputs: [],
    },
  );
  await warm.release();
  gc();
  await new Promise((r) => setTimeout(r, 100));
  const before = process.memoryUsage.rss();
  const held = [];
  for (const f of files) held.push(await OnnxModel.load(f, { modelId: f, outputs: [] }));
  gc();
  await new Promise((r) => setTimeout(r, 100));
  const after = process.memoryUsage.rss();
  process.stdout.write(`${JSON.stringify({ deltaMb: (after - before) / MIB, sessions: held.length })}\n`);
}

function parent(argv: string[]): void {
  const flag = (name: string): string | undefined => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv.splice(i, 2)[1] : undefined;
  };
  const root = packageRoot();
  const manifestFile = flag('--manifest') ?? join(root, 'models/manifest.json');
  const modelsDir = flag('--models-dir') ?? join(root, 'models');
  const manifest = loadManifest(manifestFile);
  const ids = argv.length > 0 ? argv : manifest.models.map((m) => m.id);
  const self = fileURLToPath(import.meta.url);
  for (const id of ids) {
    const entry = manifest.models.find((m) => m.id === id);
    if (entry === undefined) throw new Error(`no model ${id} in ${manifestFile}`);
    const files = entry.files
      .filter((f) => f.path.endsWith('.onnx'))
      .map((f) => resolveModelFile(f.path, modelsDir));
    const deltas: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      const r = spawnSync(process.execPath, ['--expose-gc', self, '--child', ...files], { encoding: 'utf8' });
      if (r.status !== 0) {
        process.stdout.write(`${id}: not measurable (${r.stderr.trim().split('\n').at(-1)})\n`);
        break;
      }
      deltas.push((JSON.parse(r.stdout) as { deltaMb: number }).deltaMb);
    }
    if (deltas.length === RUNS) {
      const median = deltas.sort((a, b) => a - b)[1]!;
      process.stdout.write(
        `${id}: ${median.toFixed(1)} MiB (runs: ${deltas.map((d) => d.toFixed(1)).join(', ')})\n`,
      );
    }
  }
}

const args = process.argv.slice(2);
if (args[0] === '--child') {
  child(args.slice(1)).catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  });
} else {
  parent(args);
}
