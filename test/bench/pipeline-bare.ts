/**
 * The compute floor of the `pipeline` benchmark (issue #16 item 4): the CPU seconds of the daemon's
 * model inferences run bare, `session.run` and nothing else.
 *
 * Inputs: the demo fixture replayed at speed 0 through edgeloom's own pipeline (buildPipeline with
 * the embedded demo config, so the same models, session options and preprocessing as the daemon),
 * in this process, with every OnnxModel.run recorded (model, a copy of its feeds, fetches, and the
 * fixture time it ran at) on the way. That pass is not timed. Then the recorded runs are run again
 * with `runUnchecked` (the bare `session.run`: no queue, no output checks, no stats), one at a
 * time, with nothing else running in this process, two ways:
 * - paced (the floor the daemon is held to): every recorded run in the recorded order, each at its
 *   fixture time on the wall clock (speed 1, a 1 s gap between passes, as the daemon's loop), for
 *   as many passes as the daemon's window, over that same window (idle.bench.ts). This is the
 *   least a program must spend to run these models on live sensors: it wakes for each input, and
 *   each run starts with the caches another model, or the idle CPU, left behind.
 * - batched: as many runs per model as the daemon made in its window, model after model, back to
 *   back, cycling through the recordings. Warm caches and no wake-ups: what the models cost a
 *   batch job, reported beside the floor (on this VM it is ~4× below it: a wake-up from idle costs
 *   ~0.1 ms of CPU, and the VAD alone wakes 31 times a second).
 * The frames the face stage analysed are recorded too, for its preprocessing run bare
 * (preprocessMsPerFrame): not floor, but the cost every camera pipeline has before its models.
 */
import { join } from 'node:path';
import { Bus } from '../../daemon/bus/bus.js';
import type { Component } from '../../daemon/component.js';
import { loadConfig } from '../../daemon/config/index.js';
import { silentLogger } from '../../daemon/log.js';
import { buildPipeline } from '../../daemon/pipeline/build.js';
import { FaceAnalyser } from '../../daemon/pipeline/face/face-analyser.js';
import { tinyFaceDetectorInput } from '../../daemon/pipeline/face/face-api.js';
import {
  type Feeds,
  OnnxModel,
  type Outputs,
  type RunOptions,
  type Tensor,
  tensor,
} from '../../daemon/pipeline/onnx-session.js';
import { decodeRgb } from '../../daemon/pipeline/preprocess/decode.js';
import { ReplaySource } from '../../daemon/replay/replay-source.js';
import { packageRoot } from '../../daemon/util/package-root.js';
import { releaseNow } from '../../daemon/util/release-now.js';
import { VirtualClock } from '../../daemon/util/virtual-clock.js';

interface Recorded {
  readonly model: OnnxModel;
  /** Fixture time of the run, ms from the start of the pass. */
  readonly atMs: number;
  readonly feeds: Feeds;
  readonly fetches: readonly string[] | undefined;
}

/** Every model run of one pass over the demo, recorded at speed 0 (not timed). */
export interface RecordedPass {
  /** Runs per model id, in order. */
  readonly byModel: ReadonlyMap<string, readonly Recorded[]>;
  /** All runs in the order the pipeline made them. */
  readonly sequence: readonly Recorded[];
  /** The camera frames the face stage analysed (its JPEG bytes, copied), in order. */
  readonly faceFrames: readonly Uint8Array[];
  /** The face detector's input edge (pipeline.face.input_size), pixels. */
  readonly faceInputSize: number;
  /** The face detector's model id (one run per analysed frame). */
  readonly faceDetectorId: string;
  /** Length of one pass of the fixture, ms. */
  readonly durationMs: number;
  /** Stops the pipeline that owns the sessions. */
  stop(): Promise<void>;
}

export interface PacedResult {
  /** CPU seconds (user + system, every thread of this process) of the paced passes. */
  readonly cpuS: number;
  /** Fixture seconds the passes stood for. */
  readonly sensorS: number;
  /** Runs per model id. */
  readonly runs: Readonly<Record<string, number>>;
  /**
   * CPU seconds per model id: each run's share is the CPU from the end of the run before it to
   * its own end, so the wake-up that started it is billed to it. Sums to about `cpuS`.
   */
  readonly cpuSByModel: Readonly<Record<string, number>>;
}

export interface BareResult {
  /** CPU seconds (user + system, every thread of this process) of all the bare runs. */
  readonly cpuS: number;
  /** Bare runs per model id (= the daemon's runs in its window). */
  readonly runs: Readonly<Record<string, number>>;
  /** Distinct inputs recorded per model id (the runs cycle through them). */
  readonly recorded: Readonly<Record<string, number>>;
}

/**
 * Copies of feed tensors as they are at the run. The stages reuse their input buffers (the VAD's
 * and the face detector's are written in place for every frame), so a recorded tensor must be a
 * copy; one whose bytes have not changed since its last copy (Whisper's cross-attention keys and
 * values, 18 MB, fed unchanged to every decoder step) shares that copy.
 */
class FeedCopies {
  private readonly last = new Map<object, Tensor>();

  copy(feeds: Feeds): Feeds {
    const out: Record<string, Tensor> = {};
    for (const [name, t] of Object.entries(feeds)) out[name] = this.copyTensor(t);
    return out;
  }

  private copyTensor(t: Tensor): Tensor {
    const data = t.data as ArrayBufferView;
    const prev = this.last.get(data);
    if (prev !== undefined && bytes(prev.data as ArrayBufferView).equals(bytes(data))) return prev;
    const copy = tensor(t.type, (t.data as Float32Array).slice() as never, t.dims);
    this.last.set(data, copy);
    return copy;
  }
}

function bytes(v: ArrayBufferView): Buffer {
  return Buffer.from(v.buffer, v.byteOffset, v.byteLength);
}

/** Replay the demo once at speed 0 through the pipeline alone, recording every model run's inputs. */
export async function recordPass(): Promise<RecordedPass> {
  const root = packageRoot();
  const config = loadConfig({ file: join(root, 'config', 'default.yaml'), env: {} });
  const fixtureDir = join(root, config.source.replay.fixture);
  const clock = new VirtualClock(0);
  const logger = silentLogger();
  const bus = new Bus({ clock, logger });
  const pipeline = buildPipeline({
    config,
    bus,
    clock,
    logger,
    baseDir: root,
    replay: { fixtureDir, loop: false },
  });
  const replay = new ReplaySource({
    fixtureDir,
    speed: 0,
    loop: false,
    clock,
    bus,
    logger,
    ids: { camera: config.sensors.camera.id, mic: config.sensors.mic.id, imu: config.sensors.imu.id },
    imuEventRateHz: config.sensors.imu.event_rate_hz,
    micFrameSamples: config.sensors.mic.frame_samples,
    components: () => pipeline.components,
  });
  const byModel = new Map<string, Recorded[]>();
  const sequence: Recorded[] = [];
  const copies = new FeedCopies();
  // Every model's inputs pass OnnxModel.run (pipeline/onnx-session.ts is the only ORT importer).
  const proto = OnnxModel.prototype as { run: (feeds: Feeds, options?: RunOptions) => Promise<Outputs> };
  const run = proto.run;
  // And every analysed frame passes FaceAnalyser.process (the stage's only way to the models).
  const faceFrames: Uint8Array[] = [];
  const faceProto = FaceAnalyser.prototype;
  const analyse = faceProto.process;
  faceProto.process = function (this: FaceAnalyser, frame, where) {
    faceFrames.push(Uint8Array.from(frame.jpeg));
    return analyse.call(this, frame, where);
  };
  proto.run = function (this: OnnxModel, feeds: Feeds, options?: RunOptions): Promise<Outputs> {
    let list = byModel.get(this.modelId);
    if (list === undefined) byModel.set(this.modelId, (list = []));
    const r: Recorded = {
      model: this,
      atMs: clock.now() - replay.originMs,
      feeds: copies.copy(feeds),
      fetches: options?.fetches,
    };
    list.push(r);
    sequence.push(r);
    return run.call(this, feeds, options);
  };
  const started: Component[] = [];
  const signal = new AbortController().signal;
  try {
    for (const c of [...pipeline.components, replay]) {
      await c.start(signal);
      started.push(c);
    }
    await replay.done;
  } finally {
    proto.run = run;
    faceProto.process = analyse;
  }
  const stop = async (): Promise<void> => {
    for (const c of started.reverse()) await c.stop();
  };
  return {
    byModel,
    sequence,
    faceFrames,
    faceInputSize: config.pipeline.face.input_size,
    faceDetectorId: config.pipeline.face.detector_model,
    durationMs: replay.opened?.durationMs ?? 0,
    stop,
  };
}

/** Run each model bare `runs[model]` times on the recorded inputs, back to back; CPU seconds. */
export async function batchedBare(
  pass: RecordedPass,
  runs: Readonly<Record<string, number>>,
): Promise<BareResult> {
  const recorded: Record<string, number> = {};
  for (const [id, list] of pass.byModel) recorded[id] = list.length;
  for (const id of Object.keys(runs)) {
    if ((runs[id] ?? 0) > 0 && (pass.byModel.get(id)?.length ?? 0) === 0)
      throw new Error(`the daemon ran ${id}, but the recording pass never did`);
  }
  const cpu0 = process.cpuUsage();
  for (const [id, n] of Object.entries(runs)) {
    const list = pass.byModel.get(id) ?? [];
    for (let i = 0; i < n; i++) {
      const r = list[i % list.length]!;
      await r.model.runUnchecked(r.feeds, r.fetches);
    }
  }
  const cpu = process.cpuUsage(cpu0);
  return { cpuS: (cpu.user + cpu.system) / 1e6, runs, recorded };
}

/**
 * The recorded pass `passes` times, every run at its fixture time on the wall clock (passes
 * `gapMs` apart, as the daemon's loop, the first from `startMs`, a performance.now() time);
 * CPU seconds. A run that falls behind (one inference longer than the gap to the next) is followed
 * by the next at once, as a live sensor's would be.
 */
export async function pacedBare(
  pass: RecordedPass,
  passes: number,
  o: { readonly startMs?: number; readonly gapMs?: number } = {},
): Promise<PacedResult> {
  const gapMs = o.gapMs ?? 1000;
  const runs: Record<string, number> = {};
  const cpuSByModel: Record<string, number> = {};
  const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
  const cpuNowS = (): number => {
    const c = process.cpuUsage();
    return (c.user + c.system) / 1e6;
  };
  const t0 = o.startMs ?? performance.now();
  const first = t0 - performance.now();
  if (first >= 1) await sleep(first);
  const cpu0 = cpuNowS();
  let lastS = cpu0;
  for (let p = 0; p < passes; p++) {
    const passStartMs = t0 + p * (pass.durationMs + gapMs);
    for (const r of pass.sequence) {
      const aheadMs = passStartMs + r.atMs - performance.now();
      if (aheadMs >= 1) await sleep(aheadMs);
      await r.model.runUnchecked(r.feeds, r.fetches);
      const id = r.model.modelId;
      runs[id] = (runs[id] ?? 0) + 1;
      const nowS = cpuNowS();
      cpuSByModel[id] = (cpuSByModel[id] ?? 0) + (nowS - lastS);
      lastS = nowS;
    }
  }
  return { cpuS: cpuNowS() - cpu0, sensorS: (passes * pass.durationMs) / 1000, runs, cpuSByModel };
}

/**
 * The face stage's preprocessing run bare: the JPEG decode (decodeRgb, sharp) and the resize into
 * the tiny face detector's input (tinyFaceDetectorInput: the demo's detector; another detector
 * prepares its input its own way) of every recorded frame, back to back after one
 * untimed round (JIT, libvips start-up); CPU milliseconds per frame, every thread of this process
 * (libvips decodes on its own threads). Not part of the floor (the floor is `session.run`
 * alone), but what any program running these models on a camera must spend besides, reported so
 * the daemon's overhead can be read with and without it. Measured apart from everything else, so
 * it is the low figure.
 */
export async function preprocessMsPerFrame(pass: RecordedPass, rounds = 3): Promise<number> {
  if (pass.faceFrames.length === 0) return 0;
  const size = pass.faceInputSize;
  const input = new Float32Array(3 * size * size);
  const once = async (jpeg: Uint8Array): Promise<void> => {
    const image = await decodeRgb(jpeg, 'bench');
    tinyFaceDetectorInput(image, size, input);
    // As FaceAnalyser.process does: kept, the frames would bring this process's collector round
    // (it holds the recording, ~100 MB) and bill its work to the decode.
    releaseNow(image.data);
  };
  for (const jpeg of pass.faceFrames) await once(jpeg);
  const cpu0 = process.cpuUsage();
  for (let r = 0; r < rounds; r++) for (const jpeg of pass.faceFrames) await once(jpeg);
  const cpu = process.cpuUsage(cpu0);
  return (cpu.user + cpu.system) / 1000 / (rounds * pass.faceFrames.length);
}
