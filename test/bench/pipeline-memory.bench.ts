/**
 * Peak memory of the whole daemon with every model loaded: the compiled CLI replays
 * fixtures/demo as fast as it can (`replay --speed 0 --emit jsonl`) with VAD, face detector,
 * expression net and the full-size synthetic whisper-tiny (real dimensions, random weights:
 * same weights and activations in memory as the real model, generated into .bench/ on first use).
 * The STT model is resolved by id through a temporary copy of models/manifest.json with one more
 * entry, `whisper-synthetic-full`, pointing at the .bench folder.
 *
 * The child's peak RSS is read from /proc/<pid>/status (VmHWM, the kernel's high-water mark) while
 * it runs; the last reading before exit is the peak. Baseline in the same run: a bare Node process
 * with nothing loaded (`idle_node_peak_rss_mb`), so the models' share is visible.
 * Target: peak_rss_mb ≤ 700 (the daemon's budget on a device is 2048, `ratio_to_budget`). The peak
 * moves by ~70 MB between runs of the same code (562–635 MB on 2026-12-04, also at d259c21): it is
 * a high-water mark, set while the models load, and where V8's and ONNX Runtime's load-time
 * allocations meet a major GC decides it. The old informal 600 was met only by some runs.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FULL_SPEC, writeSyntheticWhisper } from '../../scripts/make-whisper-synthetic.js';
import type { BenchTarget } from './run.js';

export const name = 'memory';

const TARGET_MB = 700;

export const targets: readonly BenchTarget[] = [
  {
    figure: 'peak_rss_mb',
    max: TARGET_MB,
    why: 'peak RSS of a replay with every model loaded (high-water mark, ±35 MB run to run), a third of the 2 GB budget',
  },
];

const FULL_ID = 'whisper-synthetic-full';
const BUDGET_MB = 2048;
/** How often VmHWM is read, ms: the high-water mark only grows, so the last reading is the peak. */
const SAMPLE_INTERVAL_MS = 50;
/** A replay that takes longer than this is killed and reported as failed. */
const REPLAY_TIMEOUT_MS = 300_000;

/** The repository root (holds package.json and tsconfig.build.json), from test/bench or dist/test/bench. */
function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!(existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'tsconfig.build.json')))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('repository root not found');
    dir = parent;
  }
  return dir;
}

/** VmHWM and VmRSS of a live process, MB; undefined once it has exited. */
function readRss(pid: number): { hwmMb: number; rssMb: number } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const kb = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0);
  return { hwmMb: kb('VmHWM') / 1024, rssMb: kb('VmRSS') / 1024 };
}

interface ChildRun {
  peakRssMb: number;
  exitCode: number | null;
  wallMs: number;
  stdout: string;
  stderrTail: string;
}

/** Run `node args` in `cwd`, polling its VmHWM until it exits. */
function runSampled(args: readonly string[], cwd: string): Promise<ChildRun> {
  return new Promise((resolvePromise, reject) => {
    const started = performance.now();
    const child = spawn(process.execPath, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let peak = 0;
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
    });
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      // Keep only the tail: enough to explain a failure, bounded whatever the child logs.
      stderr = (stderr + d).slice(-8000);
    });
    const sample = (): void => {
      const r = child.pid === undefined ? undefined : readRss(child.pid);
      if (r !== undefined) peak = Math.max(peak, r.hwmMb);
    };
    const timer = setInterval(sample, SAMPLE_INTERVAL_MS);
    const killer = setTimeout(() => child.kill('SIGKILL'), REPLAY_TIMEOUT_MS);
    child.on('error', (err) => {
      clearInterval(timer);
      clearTimeout(killer);
      reject(err);
    });
    // By 'exit' the process has left /proc: the peak is the last reading, at most one interval old.
    child.on('exit', (code) => {
      clearInterval(timer);
      clearTimeout(killer);
      resolvePromise({
        peakRssMb: peak,
        exitCode: code,
        wallMs: performance.now() - started,
        stdout,
        stderrTail: stderr,
      });
    });
  });
}

async function ensureFullWhisper(root: string): Promise<string> {
  const dir = join(root, '.bench', 'whisper-tiny-synthetic');
  if (!existsSync(join(dir, 'onnx', 'decoder_model_merged.onnx')))
    await writeSyntheticWhisper(dir, FULL_SPEC);
  return dir;
}

/**
 * A models dir for the run: symlinks to the repository's models (the manifest's paths must stay
 * inside the models dir) plus `whisper-synthetic-full` → the .bench folder, and a manifest copy with
 * an entry for it (unpinned: sha256 null, so nothing hashes 150 MB at start).
 */
async function writeModels(root: string, whisperDir: string, modelsDir: string): Promise<string> {
  const manifest = JSON.parse(await readFile(join(root, 'models/manifest.json'), 'utf8')) as {
    models: Record<string, unknown>[];
  };
  await mkdir(modelsDir, { recursive: true });
  const linked = new Set<string>();
  for (const entry of manifest.models) {
    for (const f of entry.files as { path: string }[]) {
      const top = f.path.split('/')[0]!;
      if (f.path.startsWith('npm:') || linked.has(top) || !existsSync(join(root, 'models', top))) continue;
      await symlink(join(root, 'models', top), join(modelsDir, top));
      linked.add(top);
    }
  }
  await symlink(whisperDir, join(modelsDir, FULL_ID));
  const tiny = manifest.models.find((m) => m.id === 'whisper-synthetic-tiny');
  if (tiny === undefined) throw new Error('models/manifest.json has no whisper-synthetic-tiny entry to copy');
  const files = (tiny.files as { path: string }[]).map((f) => {
    const path = f.path.replace(/^whisper-synthetic-tiny\//, `${FULL_ID}/`);
    if (!existsSync(join(modelsDir, path))) throw new Error(`full-size synthetic whisper lacks ${path}`);
    return { path, sha256: null, size_bytes: null, pin: 'on-first-fetch', url: 'http://127.0.0.1/unused' };
  });
  manifest.models.push({ ...tiny, id: FULL_ID, bundled: false, files });
  const file = join(modelsDir, 'manifest.json');
  await writeFile(file, JSON.stringify(manifest, null, 2));
  return file;
}

export async function bench({
  quick: _quick,
}: {
  quick: boolean;
}): Promise<Record<string, number | string | boolean>> {
  const root = repoRoot();
  const cli = join(root, 'dist/daemon/cli/main.js');
  if (!existsSync(cli)) throw new Error(`${cli} missing: run npm run build first`);
  const whisperDir = await ensureFullWhisper(root);
  const tmp = await mkdtemp(join(tmpdir(), 'edgeloom-membench-'));
  try {
    const modelsDir = join(tmp, 'models');
    const manifestFile = await writeModels(root, whisperDir, modelsDir);
    const configFile = join(tmp, 'config.yaml');
    await writeFile(
      configFile,
      [
        'models:',
        `  dir: ${JSON.stringify(modelsDir)}`,
        `  manifest: ${JSON.stringify(manifestFile)}`,
        'pipeline:',
        '  vad: { enabled: true }',
        '  face: { enabled: true }',
        `  stt: { enabled: true, model: ${FULL_ID} }`,
        'cloud: { enabled: false }',
        'http: { enabled: false }',
        `storage: { dir: ${JSON.stringify(join(tmp, 'state'))} }`,
        '',
      ].join('\n'),
    );
    const idle = await runSampled(['-e', 'setTimeout(() => {}, 300)'], root);
    const run = await runSampled(
      [cli, 'replay', 'fixtures/demo', '--speed', '0', '--emit', 'jsonl', '--config', configFile],
      root,
    );
    if (run.exitCode !== 0) {
      throw new Error(`replay exited with ${run.exitCode}; stderr tail:\n${run.stderrTail}`);
    }
    const messages = run.stdout
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as { topic: string; payload: { kind?: string; model?: string } });
    const count = (suffix: string): number => messages.filter((m) => m.topic.endsWith(suffix)).length;
    // The router's decision on each transcript names the model that made it: proof the full-size
    // whisper ran, not the bundled tiny one.
    const sttModels = new Set(
      messages
        .filter((m) => m.topic.endsWith('/router/decision') && m.payload.kind === 'transcript')
        .map((m) => m.payload.model),
    );
    const peak = Math.round(run.peakRssMb);
    return {
      models: 'silero-vad-v5 + faceapi tiny detector + faceapi expression + whisper-synthetic-full',
      replay_wall_ms: Math.round(run.wallMs),
      published_messages: messages.length,
      transcripts_published: count('/voice/transcript'),
      stt_models: [...sttModels].join(','),
      face_emotion_messages_published: count('/face/emotion'),
      peak_rss_mb: peak,
      idle_node_peak_rss_mb: Math.round(idle.peakRssMb),
      budget_mb: BUDGET_MB,
      ratio_to_budget: Math.round((peak / BUDGET_MB) * 1000) / 1000,
      target_mb: TARGET_MB,
      meets_target: peak <= TARGET_MB,
    };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
