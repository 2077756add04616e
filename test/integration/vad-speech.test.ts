import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Bus } from '../../daemon/bus/bus.js';
import type { Envelope } from '../../daemon/bus/envelope.js';
import type { SpeechEvent } from '../../daemon/bus/topics.js';
import { silentLogger } from '../../daemon/log.js';
import { SileroVad } from '../../daemon/pipeline/vad/silero-vad.js';
import { type SegmenterEvent, SpeechSegmenter } from '../../daemon/pipeline/vad/speech-segmenter.js';
import { VadStage } from '../../daemon/pipeline/vad/vad-stage.js';
import { SystemClock } from '../../daemon/util/clock.js';
import { needs } from '../helpers/tools.js';
import { frames, type SpeechTrack, speak, track } from '../helpers/vad-audio.js';

const TOLERANCE_MS = 150;
const FRAME_MS = 32;

describe.runIf(needs({ tools: ['espeak-ng', 'sox'] }))('Silero VAD + segmenter on espeak-ng speech', () => {
  let one: SpeechTrack;
  let two: SpeechTrack;
  beforeAll(() => {
    one = track([speak('turn on the kitchen light')]);
    two = track([speak('turn on the kitchen light'), speak('what time is it')]);
  });

  it('finds one segment within ±150 ms of the speech measured from its energy', async () => {
    const vad = await SileroVad.load();
    const seg = new SpeechSegmenter({ preRollMs: 0 });
    const events: SegmenterEvent[] = [];
    try {
      for (const [i, f] of frames(one.samples).entries()) {
        events.push(...seg.push(f, await vad.process(f), i * FRAME_MS));
      }
      events.push(...seg.flush());
    } finally {
      await vad.release();
    }
    const ends = events.filter((e) => e.kind === 'speech-end');
    expect(events.map((e) => e.kind)).toEqual(['speech-start', 'speech-end']);
    const truth = one.speech[0]!;
    const end = ends[0]!;
    expect(Math.abs(end.startMs - truth.startMs)).toBeLessThanOrEqual(TOLERANCE_MS);
    expect(Math.abs(end.endMs - truth.endMs)).toBeLessThanOrEqual(TOLERANCE_MS);
    expect(end.meanProbability).toBeGreaterThan(0.5);
    expect(end.truncated).toBe(false);
  });

  describe('through the VAD stage on the real bus', () => {
    const clock = new SystemClock();
    const bus = new Bus({ clock, logger: silentLogger() });
    const preRollMs = 96;
    const stage = new VadStage({
      bus,
      clock,
      logger: silentLogger(),
      segmenter: { preRollMs },
      // The test publishes faster than real time; the live default (64) would drop frames.
      queueCapacity: 1024,
    });
    const got: Envelope<SpeechEvent>[] = [];
    const t0 = 1_700_000_000_000;

    beforeAll(async () => {
      bus.subscribe('inference/vad/+', (env) => void got.push(env), {
        component: 'test',
      });
      await stage.start(new AbortController().signal);
    });
    afterAll(async () => {
      await stage.stop();
      await bus.close(1000);
    });

    it('publishes start/end pairs per utterance, with audio, within ±150 ms', async () => {
      const fs = frames(two.samples);
      fs.forEach((samples, seq) => {
        bus.publish('sensor/mic/kitchen/frame', {
          seq,
          tsMs: t0 + seq * FRAME_MS,
          sampleRateHz: 16000,
          samples,
        });
      });
      await bus.drain(30_000);
      expect(got.every((e) => e.topic === 'inference/vad/kitchen')).toBe(true);
      const events = got.map((e) => e.payload);
      expect(events.map((e) => e.kind)).toEqual(['start', 'end', 'start', 'end']);
      for (const [i, truth] of two.speech.entries()) {
        const start = events[2 * i]!;
        const end = events[2 * i + 1]!;
        expect(start.modelId).toBe('silero-vad-v5');
        expect(start.confidence).toBeGreaterThanOrEqual(0.5);
        expect(end.startMs).toBe(start.startMs);
        expect(Math.abs(start.startMs + preRollMs - (t0 + truth.startMs))).toBeLessThanOrEqual(TOLERANCE_MS);
        expect(Math.abs(end.endMs! - (t0 + truth.endMs))).toBeLessThanOrEqual(TOLERANCE_MS);
        expect(end.audio!.length).toBe(((end.endMs! - end.startMs) * 16000) / 1000);
        expect(end.latencyMs).toBeGreaterThan(0);
        expect(end.inputTsMs).toBeGreaterThanOrEqual(end.endMs!);
      }
      expect(stage.stats()).toMatchObject({ frames: fs.length, gaps: 0, badFrames: 0, segments: 2 });
    });

    it('counts gaps and bad frames without stopping', async () => {
      const before = stage.stats();
      const silence = new Int16Array(512);
      const seq0 = 100_000;
      bus.publish('sensor/mic/kitchen/frame', {
        seq: seq0,
        tsMs: t0 + 900_000,
        sampleRateHz: 16000,
        samples: silence,
      });
      bus.publish('sensor/mic/kitchen/frame', {
        seq: seq0 + 1,
        tsMs: t0 + 900_032,
        sampleRateHz: 8000,
        samples: silence,
      });
      bus.publish('sensor/mic/kitchen/frame', {
        seq: seq0 + 1,
        tsMs: t0 + 900_032,
        sampleRateHz: 16000,
        samples: new Int16Array(100),
      });
      bus.publish('sensor/mic/kitchen/frame', {
        seq: seq0 + 5,
        tsMs: t0 + 900_192,
        sampleRateHz: 16000,
        samples: silence,
      });
      await bus.drain(5000);
      const after = stage.stats();
      // The first frame jumps from the previous test's stream; the last skips 4 frames.
      expect(after.gaps - before.gaps).toBe(2);
      expect(after.badFrames - before.badFrames).toBe(2);
      expect(after.frames - before.frames).toBe(2);
      expect(stage.health().status).toBe('ok');
    });
  });
});
