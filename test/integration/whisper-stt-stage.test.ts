import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Bus } from '../../daemon/bus/bus.js';
import type { Envelope } from '../../daemon/bus/envelope.js';
import type { SpeechEvent, Transcript } from '../../daemon/bus/topics.js';
import { silentLogger } from '../../daemon/log.js';
import { SttStage } from '../../daemon/pipeline/stt/stt-stage.js';
import { WhisperModel } from '../../daemon/pipeline/stt/whisper/whisper.js';
import { SystemClock } from '../../daemon/util/clock.js';
import { TINY_EXPECTED_TEXT } from '../../scripts/make-whisper-synthetic.js';
import { REPO_ROOT } from '../helpers/tools.js';

const MODEL_DIR = join(REPO_ROOT, 'models', 'whisper-synthetic-tiny');

function speechEnd(startMs: number, seconds: number, sampleRateHz = 16000): SpeechEvent {
  const audio = new Int16Array(Math.round(seconds * sampleRateHz)).map((_, i) =>
    Math.round(6000 * Math.sin((2 * Math.PI * 220 * i) / sampleRateHz)),
  );
  return {
    kind: 'end',
    segmentId: `front:${startMs}`,
    modelId: 'silero',
    confidence: 0.9,
    latencyMs: 1,
    inputTsMs: startMs + seconds * 1000,
    startMs,
    endMs: startMs + seconds * 1000,
    sampleRateHz,
    audio,
  };
}

describe('SttStage on the bus with the synthetic whisper-tiny', () => {
  const clock = new SystemClock();
  const bus = new Bus({ clock, logger: silentLogger() });
  let stage: SttStage | undefined;
  afterEach(async () => {
    await stage?.stop();
  });

  it('turns speech ends into transcripts, ignores starts, refuses wrong rates, drops the oldest when full', async () => {
    stage = new SttStage({
      bus,
      clock,
      logger: silentLogger(),
      createModel: () => WhisperModel.load(MODEL_DIR, { modelId: 'whisper-synthetic-tiny' }),
      maxPendingSegments: 1,
    });
    await stage.start(new AbortController().signal);
    const got: Envelope<Transcript>[] = [];
    bus.subscribe('inference/stt/+', (env) => void got.push(env), {
      component: 'test',
    });

    bus.publish('inference/vad/front', {
      ...speechEnd(0, 1),
      kind: 'start',
      audio: undefined,
      endMs: undefined,
    });
    bus.publish('inference/vad/front', speechEnd(8000, 1, 8000)); // wrong rate
    // Three ends at once: the first runs, the second waits, the third pushes the second out.
    bus.publish('inference/vad/front', speechEnd(1000, 1));
    bus.publish('inference/vad/front', speechEnd(3000, 0.5));
    bus.publish('inference/vad/front', speechEnd(5000, 2));
    // Every segment is in the stage (its subscription only enqueues), then every transcription
    // has finished, then what it published has been delivered: the list below is final.
    await bus.drain(30_000);
    await stage.idle();
    await bus.drain(30_000);

    expect(got.map((e) => e.payload.segmentStartMs)).toEqual([1000, 5000]);
    const t = got[0]!.payload;
    expect(got[0]!.topic).toBe('inference/stt/front');
    expect(t.text).toBe(TINY_EXPECTED_TEXT);
    expect(t.modelId).toBe('whisper-synthetic-tiny');
    expect(t.durationMs).toBe(1000);
    expect(t.inputTsMs).toBe(2000);
    expect(t.confidence).toBeGreaterThan(0);
    expect(t.confidence).toBeLessThanOrEqual(1);
    expect(got[0]!.confidence).toBe(t.confidence);
    expect(got[1]!.payload.durationMs).toBe(2000);
    expect(stage.stats()).toMatchObject({
      segments: 4,
      transcripts: 2,
      dropped: 1,
      badSegments: 1,
      errors: 0,
    });
  });

  it('fails start-up with E_MODEL_MISSING when the model folder is absent', async () => {
    stage = new SttStage({
      bus,
      clock,
      logger: silentLogger(),
      createModel: () => WhisperModel.load('/nonexistent/whisper', { modelId: 'x' }),
    });
    await expect(stage.start(new AbortController().signal)).rejects.toMatchObject({
      code: 'E_MODEL_MISSING',
    });
  });
});
