/**
 * The wake stage's decision rule on a real bus: a detection when the score reaches the threshold,
 * then none until the score has fallen below it and the refractory time has passed; each one
 * publishes `inference/wake/<mic>` and a `wake_word` window stamped with the audio's time. The
 * classifier is a scripted test double (one score per 80 ms step); the melspectrogram and
 * embedding doubles return zeros of the right size. The real models run in wake-word.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { Bus } from '../../daemon/bus/bus.js';
import type { Envelope } from '../../daemon/bus/envelope.js';
import type { ListenWindow, WakeDetection } from '../../daemon/bus/topics.js';
import { silentLogger } from '../../daemon/log.js';
import { type Feeds, tensor } from '../../daemon/pipeline/onnx-session.js';
import { melFrameCount, OWW_CLASSIFIER_STEPS } from '../../daemon/pipeline/wake/oww-framing.js';
import { WakeStage } from '../../daemon/pipeline/wake/wake-stage.js';
import { VirtualClock } from '../../daemon/util/virtual-clock.js';
import { until } from '../helpers/wait.js';

const T0 = 1_700_000_000_000;

function stage(scores: number[], refractoryMs: number) {
  const clock = new VirtualClock(T0);
  const bus = new Bus({ clock, logger: silentLogger() });
  let step = 0;
  const s = new WakeStage({
    bus,
    logger: silentLogger(),
    modelId: 'word-test',
    word: 'hey test',
    threshold: 0.5,
    windowMs: 4000,
    refractoryMs,
    createModel: async () => ({
      mel: {
        modelId: 'mel',
        run: async (f: Feeds) => {
          const n = melFrameCount(f.input!.dims[1]!) * 32;
          return { output: tensor('float32', new Float32Array(n), [1, 1, n / 32, 32]) };
        },
      },
      embedding: {
        modelId: 'emb',
        run: async () => ({ conv2d_19: tensor('float32', new Float32Array(96), [1, 1, 1, 96]) }),
      },
      classifier: {
        modelId: 'cls',
        run: async () => ({ '53': tensor('float32', new Float32Array([scores[step++] ?? 0]), [1, 1]) }),
      },
      release: async () => {},
    }),
  });
  const wakes: Envelope<WakeDetection>[] = [];
  const listens: Envelope<ListenWindow>[] = [];
  bus.subscribe('inference/wake/+', (e) => void wakes.push(e), { component: 'test', qos: 'batched' });
  bus.subscribe('action/listen', (e) => void listens.push(e), { component: 'test', qos: 'batched' });
  /** Feed enough 512-sample frames for `steps` scored steps (after the 16 that fill the history). */
  const feed = async (steps: number): Promise<void> => {
    const samples = (OWW_CLASSIFIER_STEPS - 1 + steps) * 1280;
    for (let i = 0; i < samples / 512; i++) {
      // One frame at a time: the stage's realtime queue would drop the oldest of a burst.
      await until('the frame taken', () => s.stats().frames === i);
      await bus.publish('sensor/mic/mic0/frame', {
        seq: i,
        tsMs: T0 + i * 32,
        sampleRateHz: 16000,
        samples: new Int16Array(512),
      });
    }
    await until(
      'every step scored',
      () => s.stats().steps === Math.floor((samples - (samples % 1280)) / 1280) - 15,
    );
  };
  return { s, wakes, listens, feed };
}

describe('wake stage', () => {
  it('fires once per crossing, re-arms below the threshold, honours the refractory time', async () => {
    // Steps are 80 ms apart; the first scored step ends at 1280 ms.
    const scores = [
      0.1, 0.6, 0.9, 0.7, 0.2, 0.8, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1,
      0.1, 0.1, 0.1, 0.9,
    ];
    const { s, wakes, listens, feed } = stage(scores, 1000);
    await s.start(new AbortController().signal);
    await feed(25);
    await until('two detections published', () => listens.length === 2);
    // Step 1 (1360 ms) fires; 0.9 and 0.7 stay above: no new one; step 5 (1680 ms) is re-armed but
    // inside the 1000 ms refractory time; step 24 (3200 ms) fires.
    expect(wakes.map((w) => w.tsMs - T0)).toEqual([1360, 3200]);
    expect(wakes[0]!.payload).toEqual({
      word: 'hey test',
      score: expect.closeTo(0.6, 5),
      modelId: 'word-test',
    });
    expect(wakes[0]!.topic).toBe('inference/wake/mic0');
    expect(listens.map((l) => [l.payload.reason, l.payload.untilMs - l.tsMs])).toEqual([
      ['wake_word', 4000],
      ['wake_word', 4000],
    ]);
    expect(s.stats()).toMatchObject({ detections: 2, steps: 25 });
    await s.stop();
  });

  it('without a refractory time still fires once per crossing, not once per step above', async () => {
    const { s, wakes, feed } = stage([0.1, 0.6, 0.9, 0.7, 0.2, 0.8, 0.1, 0.95], 0);
    await s.start(new AbortController().signal);
    await feed(8);
    await until('three detections', () => s.stats().detections === 3);
    await until('three published', () => wakes.length === 3);
    expect(wakes.map((w) => w.tsMs - T0)).toEqual([1360, 1680, 1840]);
    await s.stop();
  });
});
