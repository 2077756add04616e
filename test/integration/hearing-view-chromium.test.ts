/**
 * The dashboard's hearing view in headless Chromium: the level meter rests in silence and moves
 * with sound (checked by the meter's painted pixels), the level it reports is the signal's dBFS,
 * and a VAD segment with its transcript lands on the timeline.
 */

import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AudioFrame } from '../../daemon/bus/topics.js';
import { MicLevels } from '../../daemon/observe/http/mic-levels.js';
import { screenshot } from '../helpers/chromium.js';
import { type PageRig, pageBus, rgbPixels, startPageRig } from '../helpers/page-rig.js';
import { needs } from '../helpers/tools.js';

const RATE = 16_000;
const FRAME = 512; // 32 ms
/** A sine of amplitude 8192 is −12 dBFS peak, −15.05 dBFS RMS. */
const TONE_AMPLITUDE = 8192;

interface Hearing {
  levels: number;
  last?: { tsMs: number; rmsDbfs: number; peakDbfs: number; vadProbability?: number };
  segments: { start: number; end?: number; text?: string }[];
  marks: { tsMs: number; kind: string; text: string }[];
}

describe.runIf(needs({ tools: ['chromium'] }))('dashboard hearing view', () => {
  const bus = pageBus();
  // The VAD stage's probability hook (VadStage.onProbability), driven by the test.
  let vadListener: ((micId: string, tsMs: number, p: number) => void) | undefined;
  const micLevels = new MicLevels({
    bus,
    vad: {
      onProbability: (l) => {
        vadListener = l;
        return () => {
          vadListener = undefined;
        };
      },
    },
  });
  let rig: PageRig;
  let seq = 0;
  const t0 = 1_700_000_000_000;

  function publishAudio(seconds: number, amplitude: number): void {
    for (let n = 0; n < Math.round((seconds * RATE) / FRAME); n++) {
      const samples = new Int16Array(FRAME);
      for (let i = 0; i < FRAME; i++) {
        const k = seq * FRAME + i;
        // Silence is not digital zero: ±2 LSB of noise, as a real ADC gives (about −86 dBFS).
        samples[i] =
          amplitude === 0
            ? ((k * 7919) % 5) - 2
            : Math.round(amplitude * Math.sin((2 * Math.PI * 440 * k) / RATE));
      }
      const frame: AudioFrame = { seq, tsMs: t0 + (seq * FRAME * 1000) / RATE, sampleRateHz: RATE, samples };
      bus.publish('sensor/mic/mic0/frame', frame);
      seq++;
    }
  }

  const hearing = (page: Page): Promise<Hearing | undefined> =>
    page.evaluate(
      () => (globalThis as unknown as { edgeloomHearing?: Record<string, Hearing> }).edgeloomHearing?.mic0,
    );

  /** The share of the meter's width painted in the fill's green. */
  async function meterFill(page: Page): Promise<number> {
    const png = await page.locator('[aria-label="microphone mic0"]').screenshot();
    const { data, info } = await rgbPixels(png);
    const y = Math.floor(info.height / 2);
    let green = 0;
    for (let x = 0; x < info.width; x++) {
      const i = (y * info.width + x) * 3;
      if (data[i + 1]! > 120 && data[i]! < 100 && data[i + 2]! < 120) green++;
    }
    return green / info.width;
  }

  beforeAll(async () => {
    rig = await startPageRig(bus, { parts: [micLevels], server: { micLevels } });
  });
  afterAll(() => rig?.close());

  it('rests in silence, moves with sound at its dBFS, and shows the segment with its transcript', async () => {
    const page = await rig.browser.newPage();
    await page.goto(`${rig.server.url()}/`);
    publishAudio(1, 0);
    await expect.poll(async () => (await hearing(page))?.levels ?? 0, { timeout: 10_000 }).toBeGreaterThan(5);
    const quiet = (await hearing(page))!.last!;
    expect(quiet.rmsDbfs).toBeLessThan(-80);
    expect(quiet.vadProbability).toBeUndefined();
    await expect.poll(() => meterFill(page), { timeout: 10_000 }).toBeLessThan(0.1);
    await screenshot(page, 'dashboard-hearing-silence');

    bus.publish('inference/vad/mic0', {
      kind: 'start',
      modelId: 'silero',
      confidence: 0.9,
      latencyMs: 1,
      inputTsMs: t0 + 1000,
      startMs: t0 + 1000,
      sampleRateHz: RATE,
      segmentId: 'mic0-1',
    });
    const speechFrom = seq;
    publishAudio(1, TONE_AMPLITUDE);
    // The VAD's probability for each of those frames, after the frames reached the meter (as
    // VadStage reports them, once its model has run on the frame): high in speech.
    await bus.drain(1000);
    for (let n = speechFrom; n < seq; n++) vadListener?.('mic0', t0 + (n * FRAME * 1000) / RATE, 0.93);
    await expect
      .poll(async () => (await hearing(page))?.last?.rmsDbfs ?? -96, { timeout: 10_000 })
      .toBeGreaterThan(-20);
    expect((await hearing(page))!.last!.vadProbability).toBeCloseTo(0.93, 5);
    const loud = (await hearing(page))!.last!;
    expect(loud.rmsDbfs).toBeCloseTo(-15.05, 0);
    expect(loud.peakDbfs).toBeCloseTo(-12.04, 0);
    // The meter spans −72..0 dBFS: −15 dBFS fills about 79 % of it.
    await expect.poll(() => meterFill(page), { timeout: 10_000 }).toBeGreaterThan(0.6);
    bus.publish('inference/vad/mic0', {
      kind: 'end',
      modelId: 'silero',
      confidence: 0.9,
      latencyMs: 1,
      inputTsMs: t0 + 2000,
      startMs: t0 + 1000,
      endMs: t0 + 2000,
      sampleRateHz: RATE,
      segmentId: 'mic0-1',
    });
    bus.publish('inference/stt/mic0', {
      modelId: 'reference',
      confidence: 0.9,
      latencyMs: 1,
      inputTsMs: t0 + 2000,
      text: 'turn on the kitchen light',
      language: 'en',
      noSpeechProb: 0,
      avgLogProb: -0.1,
      durationMs: 1000,
      inferenceMs: 1,
      segmentStartMs: t0 + 1000,
      segmentId: 'mic0-1',
    });
    await expect
      .poll(async () => (await hearing(page))?.segments ?? [], { timeout: 10_000 })
      .toEqual([{ start: t0 + 1000, end: t0 + 2000, text: 'turn on the kitchen light' }]);
    // The wake word heard, the intent recognised and the answer spoken are marked on the timeline.
    bus.publish(
      'inference/wake/mic0',
      { word: 'hey jarvis', score: 0.9, modelId: 'openwakeword-hey-jarvis' },
      { tsMs: t0 + 900 },
    );
    bus.publish(
      'agent/voice/intent',
      {
        intent: 'light_on',
        slots: { room: 'kitchen' },
        score: 1,
        text: 'turn on the kitchen light',
        source: 'local',
      },
      { tsMs: t0 + 2100 },
    );
    bus.publish('action/speaking', { state: 'start', text: 'the kitchen light is on' }, { tsMs: t0 + 2200 });
    await expect
      .poll(async () => (await hearing(page))?.marks ?? [], { timeout: 10_000 })
      .toEqual([
        { tsMs: t0 + 900, kind: 'wake', text: 'hey jarvis' },
        { tsMs: t0 + 2100, kind: 'intent', text: 'light_on' },
        { tsMs: t0 + 2200, kind: 'answer', text: 'the kitchen light is on' },
      ]);
    await screenshot(page, 'dashboard-hearing');
    expect(rig.browser.problems).toEqual([]);
    await page.close();
  });
});
