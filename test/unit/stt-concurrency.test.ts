import { describe, expect, it } from 'vitest';
import { Bus } from '../../daemon/bus/bus.js';
import type { SpeechEvent } from '../../daemon/bus/topics.js';
import { silentLogger } from '../../daemon/log.js';
import type { SpeechToTextModel } from '../../daemon/pipeline/stt/stt-stage.js';
import { SttStage } from '../../daemon/pipeline/stt/stt-stage.js';
import type { WhisperResult } from '../../daemon/pipeline/stt/whisper/whisper.js';
import { SystemClock } from '../../daemon/util/clock.js';
import { until } from '../helpers/wait.js';

/**
 * The STT stage's scheduling with `concurrency`: how many transcriptions overlap, on which model
 * instance, and that every accepted segment is transcribed. The model is a gated test double
 * (the scheduling is under test, not Whisper; the real model runs in whisper-stt-stage.test.ts).
 */

const speechEnd = (startMs: number): SpeechEvent => ({
  kind: 'end',
  segmentId: `mic:${startMs}`,
  modelId: 'silero',
  confidence: 0.9,
  latencyMs: 1,
  inputTsMs: startMs + 500,
  startMs,
  endMs: startMs + 500,
  sampleRateHz: 16000,
  audio: new Int16Array(8000),
});

/** Instances that hold each transcription until the test releases it. */
function gatedModels() {
  const running: { instance: number; release: () => void }[] = [];
  let made = 0;
  const create = async (): Promise<SpeechToTextModel> => {
    const instance = ++made;
    return {
      modelId: `gated#${instance}`,
      transcribe: (_audio, _options, segment) =>
        new Promise<WhisperResult>((resolve) =>
          running.push({
            instance,
            release: () =>
              resolve({
                text: `segment at ${segment?.startMs}`,
                language: 'en',
                confidence: 1,
                avgLogProb: 0,
                noSpeechProb: 0,
                durationMs: 500,
                inferenceMs: 1,
                encoderMs: 1,
                decoderSteps: 1,
              } as WhisperResult),
          }),
        ),
      release: async () => {},
    };
  };
  return { running, create, made: () => made };
}

async function run(concurrency: number) {
  const clock = new SystemClock();
  const bus = new Bus({ clock, logger: silentLogger() });
  const models = gatedModels();
  const stage = new SttStage({ bus, clock, logger: silentLogger(), createModel: models.create, concurrency });
  await stage.start(new AbortController().signal);
  const texts: string[] = [];
  bus.subscribe('inference/stt/+', (env) => void texts.push(env.payload.text), { component: 'test' });
  for (const t of [0, 1000, 2000]) bus.publish('inference/vad/mic0', speechEnd(t));
  // Every segment is in the stage (its subscription only enqueues), so from here on what runs and
  // what waits is the stage's scheduling alone.
  await bus.drain(10_000);
  return { bus, stage, models, texts };
}

/** The stage's state once `n` transcriptions have been handed to a model. */
async function running(models: ReturnType<typeof gatedModels>, stage: SttStage, n: number) {
  await until(`${n} transcription(s) to start`, () => models.running.length >= n);
  return { started: models.running.length, waiting: stage.stats().pending };
}

describe('SttStage concurrency', () => {
  it('1 (default): one transcription at a time, in segment order', async () => {
    const { bus, stage, models, texts } = await run(1);
    expect(models.made()).toBe(1);
    for (let i = 0; i < 3; i++) {
      // The next starts only after the previous ended: the others wait in the queue.
      expect(await running(models, stage, i + 1)).toEqual({ started: i + 1, waiting: 2 - i });
      models.running[i]!.release();
      await until(`transcript ${i + 1}`, () => texts.length === i + 1);
    }
    await bus.drain(10_000);
    expect(texts).toEqual(['segment at 0', 'segment at 1000', 'segment at 2000']);
    await stage.stop();
  });

  it('2: two transcriptions overlap on two instances, the third waits for a free one', async () => {
    const { bus, stage, models, texts } = await run(2);
    expect(models.made()).toBe(2);
    expect(await running(models, stage, 2)).toEqual({ started: 2, waiting: 1 });
    expect(models.running.map((r) => r.instance).sort()).toEqual([1, 2]);
    models.running[1]!.release();
    // The instance that finished takes the waiting segment.
    expect(await running(models, stage, 3)).toEqual({ started: 3, waiting: 0 });
    expect(models.running[2]!.instance).toBe(models.running[1]!.instance);
    models.running[0]!.release();
    models.running[2]!.release();
    await until('three transcripts', () => texts.length === 3);
    await stage.idle();
    await bus.drain(10_000);
    expect([...texts].sort()).toEqual(['segment at 0', 'segment at 1000', 'segment at 2000']);
    expect(stage.idle()).toBeUndefined();
    await stage.stop();
  });

  it('refuses a concurrency that is not a positive integer, naming the option', () => {
    const clock = new SystemClock();
    const bus = new Bus({ clock, logger: silentLogger() });
    expect(
      () =>
        new SttStage({
          bus,
          clock,
          logger: silentLogger(),
          createModel: gatedModels().create,
          concurrency: 0,
        }),
    ).toThrow(/concurrency must be an integer >= 1/);
  });
});
