import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EdgeloomError, isEdgeloomError } from '../../daemon/errors.js';
import { type Feeds, OnnxModel, type OutputSpec, tensor } from '../../daemon/pipeline/onnx-session.js';
import type { Clock } from '../../daemon/util/clock.js';
import { SystemClock } from '../../daemon/util/clock.js';
import { REPO_ROOT } from '../helpers/tools.js';

// The real Silero VAD v5 model serves as the test model: its outputs are known
// (`output` float32 [1,1], `stateN` float32 [2,1,128]), so wrong specs must be caught.
const MODEL = join(REPO_ROOT, 'models/vad/silero_vad_v5.onnx');
const OUTPUTS: OutputSpec[] = [
  { name: 'output', type: 'float32', dims: [1, 1] },
  { name: 'stateN', type: 'float32', dims: [2, 1, 128] },
];

function feeds(seed = 0): Feeds {
  const input = new Float32Array(576);
  for (let i = 0; i < input.length; i++) input[i] = Math.sin((i + seed) * 0.05) * 0.3;
  return {
    input: tensor('float32', input, [1, 576]),
    state: tensor('float32', new Float32Array(256), [2, 1, 128]),
    sr: tensor('int64', BigInt64Array.from([16000n]), []),
  };
}

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof EdgeloomError) return err.code;
    throw err;
  }
  return 'resolved';
}

describe('OnnxModel', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'edgeloom-onnx-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('loads, reports its io names and checks a valid run', async () => {
    const model = await OnnxModel.load(MODEL, {
      modelId: 'vad',
      outputs: OUTPUTS,
      inputs: ['input', 'state', 'sr'],
    });
    try {
      expect([...model.inputNames].sort()).toEqual(['input', 'sr', 'state']);
      const out = await model.run(feeds());
      const p = (out.output!.data as Float32Array)[0]!;
      expect(p).toBeGreaterThanOrEqual(0);
      expect(p).toBeLessThanOrEqual(1);
      const s = model.stats();
      expect(s.runs).toBe(1);
      expect(s.loadMs).toBeGreaterThan(0);
      expect(s.p99Ms).toBeGreaterThanOrEqual(s.p50Ms);
    } finally {
      await model.release();
    }
  });

  it('loads from bytes as well as from a path: the same model, the same outputs', async () => {
    const bytes = await readFile(MODEL);
    const fromBytes = await OnnxModel.load(new Uint8Array(bytes), { modelId: 'vad-bytes', outputs: OUTPUTS });
    const fromPath = await OnnxModel.load(MODEL, { modelId: 'vad-path', outputs: OUTPUTS });
    try {
      expect([...fromBytes.inputNames].sort()).toEqual(['input', 'sr', 'state']);
      const a = await fromBytes.run(feeds(11));
      const b = await fromPath.run(feeds(11));
      expect(a.output!.dims).toEqual([1, 1]);
      expect(a.stateN!.dims).toEqual([2, 1, 128]);
      expect(Array.from(a.output!.data as Float32Array)).toEqual(Array.from(b.output!.data as Float32Array));
      expect(Array.from(a.stateN!.data as Float32Array)).toEqual(Array.from(b.stateN!.data as Float32Array));
      // Real numbers came back: the recurrent state of a sine input is not all zeros.
      expect((a.stateN!.data as Float32Array).some((x) => x !== 0)).toBe(true);
      expect(fromBytes.stats()).toMatchObject({ runs: 1, failures: 0 });
    } finally {
      await fromBytes.release();
      await fromPath.release();
    }
  });

  it.each([
    ['wrong type', { name: 'output', type: 'int64', dims: [1, 1] }],
    ['wrong rank', { name: 'output', type: 'float32', dims: [1] }],
    ['wrong size', { name: 'stateN', type: 'float32', dims: [2, 1, 64] }],
  ] as const)(
    'rejects a run whose output has the %s with E_ONNX_OUTPUT naming model and output',
    async (_, spec) => {
      const model = await OnnxModel.load(MODEL, { modelId: 'silero-test', outputs: [spec] });
      try {
        const err = await model.run(feeds()).catch((e: unknown) => e);
        expect(isEdgeloomError(err, 'E_ONNX_OUTPUT')).toBe(true);
        expect((err as Error).message).toContain('silero-test');
        expect((err as Error).message).toContain(spec.name);
        expect(model.stats().failures).toBe(1);
        // A failed check does not wedge the queue.
        expect(model.stats().queueDepth).toBe(0);
      } finally {
        await model.release();
      }
    },
  );

  it('accepts null (any) dimensions, and still checks the fixed ones beside them', async () => {
    const model = await OnnxModel.load(MODEL, {
      modelId: 'vad',
      outputs: [{ name: 'stateN', type: 'float32', dims: [null, null, 128] }],
    });
    try {
      const out = await model.run(feeds());
      expect(out.stateN!.dims).toEqual([2, 1, 128]);
      expect(model.stats()).toMatchObject({ runs: 1, failures: 0 });
    } finally {
      await model.release();
    }
    const wrong = await OnnxModel.load(MODEL, {
      modelId: 'vad',
      outputs: [{ name: 'stateN', type: 'float32', dims: [null, null, 64] }],
    });
    try {
      expect(await codeOf(wrong.run(feeds()))).toBe('E_ONNX_OUTPUT');
    } finally {
      await wrong.release();
    }
  });

  it('fetches an output subset: only those come back, declared ones among them are still checked', async () => {
    const model = await OnnxModel.load(MODEL, { modelId: 'vad', outputs: OUTPUTS });
    try {
      const full = await model.run(feeds(3));
      const only = await model.run(feeds(3), { fetches: ['output'] });
      expect(Object.keys(only)).toEqual(['output']);
      expect(only.output!.data).toEqual(full.output!.data);
      expect(await codeOf(model.run(feeds(), { fetches: ['prob'] }))).toBe('E_ONNX_OUTPUT');
      expect(await codeOf(model.run(feeds(), { fetches: ['output', 'output'] }))).toBe('E_ONNX_OUTPUT');
      expect(await codeOf(model.run(feeds(), { fetches: [] }))).toBe('E_ONNX_OUTPUT');
      expect(model.stats().failures).toBe(3);
    } finally {
      await model.release();
    }
    // A fetched output that breaks its declaration still fails the run.
    const strict = await OnnxModel.load(MODEL, {
      modelId: 'vad',
      outputs: [{ name: 'stateN', type: 'float32', dims: [2, 1, 64] }],
    });
    try {
      expect(await codeOf(strict.run(feeds(), { fetches: ['output'] }))).toBe('resolved');
      expect(await codeOf(strict.run(feeds(), { fetches: ['stateN'] }))).toBe('E_ONNX_OUTPUT');
    } finally {
      await strict.release();
    }
  });

  it('computes the same outputs without pre-packed weights', async () => {
    const packed = await OnnxModel.load(MODEL, { modelId: 'vad', outputs: OUTPUTS });
    const unpacked = await OnnxModel.load(MODEL, { modelId: 'vad', outputs: OUTPUTS, prepackWeights: false });
    try {
      const a = await packed.run(feeds(7));
      const b = await unpacked.run(feeds(7));
      expect((b.output!.data as Float32Array)[0]).toBeCloseTo((a.output!.data as Float32Array)[0]!, 5);
      const sa = a.stateN!.data as Float32Array;
      const sb = b.stateN!.data as Float32Array;
      for (let i = 0; i < sa.length; i++) expect(sb[i]).toBeCloseTo(sa[i]!, 4);
    } finally {
      await packed.release();
      await unpacked.release();
    }
  });

  it('refuses undeclared outputs and inputs at load, and unfed inputs at run', async () => {
    const bad = [{ name: 'prob', type: 'float32', dims: [1, 1] }] as const;
    expect(await codeOf(OnnxModel.load(MODEL, { modelId: 'vad', outputs: bad }))).toBe('E_ONNX_OUTPUT');
    expect(await codeOf(OnnxModel.load(MODEL, { modelId: 'vad', outputs: OUTPUTS, inputs: ['h'] }))).toBe(
      'E_ONNX_INPUT',
    );
    const model = await OnnxModel.load(MODEL, { modelId: 'vad', outputs: OUTPUTS });
    const { sr: _sr, ...partial } = feeds();
    expect(await codeOf(model.run(partial))).toBe('E_ONNX_INPUT');
    await model.release();
    expect(await codeOf(model.run(feeds()))).toBe('E_ONNX_RELEASED');
  });

  it('names a missing file (E_MODEL_MISSING) and a corrupt one (E_MODEL_CORRUPT)', async () => {
    const missing = join(dir, 'nope.onnx');
    const e1 = await OnnxModel.load(missing, { modelId: 'm', outputs: [] }).catch((e: unknown) => e);
    expect(isEdgeloomError(e1, 'E_MODEL_MISSING')).toBe(true);
    expect((e1 as Error).message).toContain(missing);

    const corrupt = join(dir, 'corrupt.onnx');
    const good = await readFile(MODEL);
    await writeFile(corrupt, good.subarray(0, 4096)); // a truncated download
    const e2 = await OnnxModel.load(corrupt, { modelId: 'm', outputs: [] }).catch((e: unknown) => e);
    expect(isEdgeloomError(e2, 'E_MODEL_CORRUPT')).toBe(true);
    expect((e2 as Error).message).toContain(corrupt);
  });

  it('serialises concurrent runs: in call order, never overlapping', async () => {
    // The model reads the clock once at the start and once at the end of each run; recording how
    // many runs had completed at each read shows whether a run started before the previous ended.
    const sys = new SystemClock();
    const completedAtRead: number[] = [];
    let model: OnnxModel | undefined;
    const probe: Clock = {
      now: () => sys.now(),
      monotonicMs: () => {
        if (model) completedAtRead.push(model.stats().runs);
        return sys.monotonicMs();
      },
      setTimeout: (fn, ms) => sys.setTimeout(fn, ms),
      setInterval: (fn, ms) => sys.setInterval(fn, ms),
      sleep: (ms, signal) => sys.sleep(ms, signal),
    };
    model = await OnnxModel.load(MODEL, { modelId: 'vad', outputs: OUTPUTS, clock: probe, maxQueueDepth: 8 });
    const order: number[] = [];
    const runs = [0, 1, 2, 3, 4].map((i) => model!.run(feeds(i * 100)).then(() => order.push(i)));
    expect(model.stats().queueDepth).toBe(4);
    await Promise.all(runs);
    expect(order).toEqual([0, 1, 2, 3, 4]);
    expect(completedAtRead).toEqual([0, 0, 1, 1, 2, 2, 3, 3, 4, 4]);
    await model.release();
  });

  it('bounds the waiting queue: past maxQueueDepth the newest run is refused with E_ONNX_BUSY', async () => {
    const model = await OnnxModel.load(MODEL, { modelId: 'vad', outputs: OUTPUTS, maxQueueDepth: 2 });
    const results = await Promise.all([0, 1, 2, 3, 4].map((i) => codeOf(model.run(feeds(i)))));
    expect(results).toEqual(['resolved', 'resolved', 'resolved', 'E_ONNX_BUSY', 'E_ONNX_BUSY']);
    expect(model.stats().rejected).toBe(2);
    // The queue recovers once it drains.
    expect(await codeOf(model.run(feeds()))).toBe('resolved');
    await model.release();
  });

  it('keeps latency stats over a bounded window', async () => {
    const model = await OnnxModel.load(MODEL, { modelId: 'vad', outputs: OUTPUTS, latencyWindow: 4 });
    await model.warmup(feeds(), 6);
    const s = model.stats();
    expect(s.runs).toBe(6);
    expect(s.p50Ms).toBeGreaterThan(0);
    expect(s.p99Ms).toBeGreaterThanOrEqual(s.p50Ms);
    await model.release();
  });
});
