/**
 * ONNX Runtime's telemetry stays off (pipeline/ort-telemetry-off.ts). The Linux build of
 * onnxruntime-node 1.30 carries Microsoft's 1DS client: a process that creates a session writes a
 * device ID and an upload queue under $HOME/.cache/Microsoft/DeveloperTools/.onnxruntime and a
 * mat-debug-<pid>.log in $TMPDIR, and uploads the queue when the collector is reachable (it is not
 * from here, so the upload itself cannot be observed; the files it uploads from can).
 *
 * Each case is a real Node child with its own empty HOME and TMPDIR that loads the real Silero
 * model. The control loads it through onnxruntime-node directly and must leave the files behind,
 * so the check can see telemetry on this build; edgeloom's loader must leave none, even with
 * ORT_DISABLE_TELEMETRY=0 in its environment.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/tools.js';

const run = promisify(execFile);
const MODEL = join(REPO_ROOT, 'models', 'vad', 'silero_vad_v5.onnx');

/** A child that creates one session through `how` and exits; what it left in its HOME and TMPDIR. */
async function loadIn(
  dir: string,
  how: 'edgeloom' | 'onnxruntime-node',
): Promise<{ home: string[]; tmp: string[] }> {
  const home = join(dir, how, 'home');
  const tmp = join(dir, how, 'tmp');
  mkdirSync(home, { recursive: true });
  mkdirSync(tmp, { recursive: true });
  const script =
    how === 'edgeloom'
      ? `const { OnnxModel } = await import(${JSON.stringify(`${REPO_ROOT}dist/daemon/pipeline/onnx-session.js`)});
         const m = await OnnxModel.load(${JSON.stringify(MODEL)}, { modelId: 'silero', outputs: [] });
         await m.release();`
      : `const ort = await import('onnxruntime-node');
         const s = await ort.InferenceSession.create(${JSON.stringify(MODEL)});
         await s.release();`;
  // A device's environment: ONNX Runtime keeps quiet by itself under a CI's variables (CI,
  // TF_BUILD, GITHUB_ACTIONS), which a device does not have. And one that asks for telemetry:
  // edgeloom must switch it off regardless.
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, TMPDIR: tmp, ORT_DISABLE_TELEMETRY: '0' };
  for (const ci of ['CI', 'TF_BUILD', 'GITHUB_ACTIONS']) delete env[ci];
  await run(process.execPath, ['--input-type=module', '-e', script], { cwd: REPO_ROOT, env });
  const list = (d: string): string[] =>
    readdirSync(d, { recursive: true, encoding: 'utf8' }).map((p) => p.replaceAll('\\', '/'));
  return { home: list(home), tmp: list(tmp) };
}

describe('ONNX Runtime telemetry', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'edgeloom-ort-telemetry-'));
    if (!existsSync(MODEL)) throw new Error(`model missing: ${MODEL}`);
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('is on in onnxruntime-node as shipped (the control: the check can see it)', async () => {
    const left = await loadIn(dir, 'onnxruntime-node');
    expect(left.home).toContain('.cache/Microsoft/DeveloperTools/.onnxruntime/deviceid');
    expect(left.tmp.some((f) => /^mat-debug-\d+\.log$/.test(f))).toBe(true);
  });

  it('is off in every process that loads a model through edgeloom: no device ID, no queue, no log', async () => {
    const left = await loadIn(dir, 'edgeloom');
    expect(left.home).toEqual([]);
    expect(left.tmp).toEqual([]);
  });
});
