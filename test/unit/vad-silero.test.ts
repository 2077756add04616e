import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isEdgeloomError } from '../../daemon/errors.js';
import { OnnxModel, tensor } from '../../daemon/pipeline/onnx-session.js';
import {
  defaultSileroModelPath,
  SILERO_CONTEXT_SAMPLES,
  SILERO_FRAME_SAMPLES,
  SileroVad,
} from '../../daemon/pipeline/vad/silero-vad.js';

/** Deterministic noisy tone bursts: enough structure for the probabilities to vary frame to frame. */
function frames(n: number): Float32Array[] {
  let seed = 7;
  const rnd = (): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31 - 0.5;
  };
  return Array.from({ length: n }, (_, f) => {
    const out = new Float32Array(SILERO_FRAME_SAMPLES);
    const amp = f % 6 < 3 ? 0.4 : 0.01;
    for (let i = 0; i < out.length; i++) {
      const t = f * SILERO_FRAME_SAMPLES + i;
      out[i] = amp * (Math.sin(t * 0.07) * Math.sin(t * 0.0031) + 0.3 * rnd());
    }
    return out;
  });
}

describe('SileroVad', () => {
  let vad: SileroVad;
  beforeAll(async () => {
    vad = await SileroVad.load();
  });
  afterAll(async () => {
    await vad.release();
  });

  it('matches a by-hand run that prepends 64 samples of context and carries the state', async () => {
    const input = frames(12);
    vad.reset();
    const ours: number[] = [];
    for (const f of input) ours.push(await vad.process(f));

    // The reference: the same model, driven directly, as silero-vad's OnnxWrapper does it.
    const ref = await OnnxModel.load(defaultSileroModelPath(), { modelId: 'ref', outputs: [] });
    let state = tensor('float32', new Float32Array(256), [2, 1, 128]);
    let context = new Float32Array(SILERO_CONTEXT_SAMPLES);
    const expected: number[] = [];
    for (const f of input) {
      const x = new Float32Array(SILERO_CONTEXT_SAMPLES + SILERO_FRAME_SAMPLES);
      x.set(context);
      x.set(f, SILERO_CONTEXT_SAMPLES);
      context = f.slice(-SILERO_CONTEXT_SAMPLES);
      const out = await ref.run({
        input: tensor('float32', x, [1, x.length]),
        state,
        sr: tensor('int64', BigInt64Array.from([16000n]), []),
      });
      state = out.stateN!;
      expected.push((out.output!.data as Float32Array)[0]!);
    }
    await ref.release();
    expect(ours).toEqual(expected);
    // Sanity: the state matters, so a stateless run would differ somewhere.
    expect(new Set(ours.map((p) => p.toFixed(4))).size).toBeGreaterThan(1);
  });

  it('reset() forgets state and context: the same input gives the same probabilities again', async () => {
    const input = frames(6);
    vad.reset();
    const a: number[] = [];
    for (const f of input) a.push(await vad.process(f));
    vad.reset();
    const b: number[] = [];
    for (const f of input) b.push(await vad.process(f));
    expect(b).toEqual(a);
  });

  it('takes Int16 PCM scaled to [-1, 1)', async () => {
    const input = frames(4);
    vad.reset();
    const fromFloat: number[] = [];
    for (const f of input) {
      // Quantise first so both paths see identical sample values.
      const q = Float32Array.from(f, (v) => Math.round(v * 32767) / 32768);
      fromFloat.push(await vad.process(q));
    }
    vad.reset();
    const fromInt: number[] = [];
    for (const f of input) fromInt.push(await vad.process(Int16Array.from(f, (v) => Math.round(v * 32767))));
    fromInt.forEach((p, i) => {
      expect(p).toBeCloseTo(fromFloat[i]!, 5);
    });
  });

  it('refuses frames of the wrong length and overlapping calls', async () => {
    const e1 = await vad.process(new Float32Array(480)).catch((e: unknown) => e);
    expect(isEdgeloomError(e1, 'E_VAD_FRAME')).toBe(true);
    const f = frames(1)[0]!;
    const [a, b] = await Promise.allSettled([vad.process(f), vad.process(f)]);
    expect(a.status).toBe('fulfilled');
    expect(b.status === 'rejected' && isEdgeloomError(b.reason, 'E_VAD_BUSY')).toBe(true);
  });

  it('gives silence a low probability', async () => {
    vad.reset();
    let p = 1;
    for (let i = 0; i < 5; i++) p = await vad.process(new Float32Array(SILERO_FRAME_SAMPLES));
    expect(p).toBeLessThan(0.1);
  });
});
