import { afterEach, describe, expect, it } from 'vitest';
import { Bus } from '../../daemon/bus/bus.js';
import type { SpeechEvent } from '../../daemon/bus/topics.js';
import { EdgeloomError } from '../../daemon/errors.js';
import { silentLogger } from '../../daemon/log.js';
import { type VadModel, VadStage } from '../../daemon/pipeline/vad/vad-stage.js';
import { SystemClock } from '../../daemon/util/clock.js';

/**
 * The stage's own logic (per-mic state, misfire closing, bounds, error counting, shutdown flush)
 * with a model that replays a recorded probability per frame: the first sample of each frame
 * carries the probability ×1000, so the sequence is in the audio itself. Probabilities < 0 throw.
 */
class ReplayModel implements VadModel {
  readonly modelId = 'replay';
  released = false;
  async process(frame: Int16Array): Promise<number> {
    const p = frame[0]! / 1000;
    if (p < 0) throw new EdgeloomError('E_ONNX_RUN', 'scripted failure');
    return p;
  }
  reset(): void {}
  async release(): Promise<void> {
    this.released = true;
  }
}

const frame = (p: number): Int16Array => {
  const f = new Int16Array(512);
  f[0] = Math.round(p * 1000);
  return f;
};

describe('VadStage', () => {
  const clock = new SystemClock();
  let bus: Bus;
  let stage: VadStage;
  const models: ReplayModel[] = [];
  const got: { topic: string; e: SpeechEvent }[] = [];

  async function setup(maxMics = 4): Promise<void> {
    bus = new Bus({ clock, logger: silentLogger() });
    got.length = 0;
    models.length = 0;
    stage = new VadStage({
      bus,
      clock,
      logger: silentLogger(),
      maxMics,
      queueCapacity: 256,
      segmenter: { minSpeechMs: 100, redemptionMs: 64, preRollMs: 0 },
      createModel: async () => {
        const m = new ReplayModel();
        models.push(m);
        return m;
      },
    });
    bus.subscribe(
      'inference/vad/+',
      (env) => void got.push({ topic: env.topic, e: env.payload as SpeechEvent }),
      {
        component: 'test',
      },
    );
    await stage.start(new AbortController().signal);
  }

  function feed(mic: string, probs: number[], seq0 = 0): void {
    probs.forEach((p, i) => {
      const seq = seq0 + i;
      bus.publish(`sensor/mic/${mic}/frame`, { seq, tsMs: seq * 32, sampleRateHz: 16000, samples: frame(p) });
    });
  }

  afterEach(async () => {
    await stage.stop();
    await bus.close(1000);
  });

  it('closes a misfire with an end without audio and confidence 0', async () => {
    await setup();
    feed('a', [0, 0.9, 0.9, 0, 0, 0, 0.9, 0.9, 0.9, 0.9, 0, 0]);
    await bus.drain(5000);
    expect(got.map((g) => [g.e.kind, g.e.audio === undefined])).toEqual([
      ['start', true],
      ['end', true],
      ['start', true],
      ['end', false],
    ]);
    expect(got[1]!.e.confidence).toBe(0);
    expect(got[3]!.e).toMatchObject({ startMs: 6 * 32, endMs: 10 * 32 });
    expect(got[3]!.e.confidence).toBeCloseTo(0.9, 6);
    expect(stage.stats()).toMatchObject({ misfires: 1, segments: 1 });
  });

  it('keeps one model and segmenter per microphone, bounded by maxMics', async () => {
    await setup(2);
    feed('a', [0.9, 0.9, 0.9, 0.9]);
    feed('b', [0, 0, 0, 0]);
    feed('c', [0.9, 0.9]);
    await bus.drain(5000);
    expect(models).toHaveLength(2);
    expect(stage.stats().unknownMicDrops).toBe(2);
    expect(got.every((g) => g.topic === 'inference/vad/a')).toBe(true);
  });

  it('counts inference failures, reports degraded health, and recovers', async () => {
    await setup();
    feed('a', [0, -1, -1]);
    await bus.drain(5000);
    expect(stage.stats().inferenceErrors).toBe(2);
    expect(stage.health().status).toBe('degraded');
    feed('a', [0], 3);
    await bus.drain(5000);
    expect(stage.health().status).toBe('ok');
  });

  it('on stop, ends an open segment and releases every model', async () => {
    await setup();
    feed('a', [0.9, 0.9, 0.9, 0.9, 0.9]);
    await bus.drain(5000);
    expect(got.map((g) => g.e.kind)).toEqual(['start']);
    await stage.stop();
    await bus.drain(5000);
    expect(got.map((g) => g.e.kind)).toEqual(['start', 'end']);
    expect(got[1]!.e.audio!.length).toBe(5 * 512);
    expect(models.every((m) => m.released)).toBe(true);
  });
});
