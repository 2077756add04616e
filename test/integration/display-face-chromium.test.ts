/**
 * The kiosk page draws its faces (SVG shipped with the project), so it shows a face on a machine
 * with no colour emoji font — this one has none, nor do many kiosk images; an emoji there was an
 * empty box. Checked by the pixels Chromium paints, not by the DOM: the head's colour where the
 * cheek is, dark features, a different drawing for each emotion, and a face that fits the screen
 * in landscape and portrait kiosk sizes.
 */

import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DisplayAction, EMOTIONS } from '../../daemon/bus/topics.js';
import { screenshot } from '../helpers/chromium.js';
import { type PageRig, pageBus, rgbPixels, startPageRig } from '../helpers/page-rig.js';
import { needs } from '../helpers/tools.js';

/** The head's fill in display.css (#ffd23f). */
const HEAD_RGB = [0xff, 0xd2, 0x3f] as const;
/** Pixels darker than this (luma) are the drawn features (stroke #2d2a26, mouth #5a1f1f). */
const FEATURE_LUMA_MAX = 110;
/** Feature masks are compared on a grid of this many cells a side. */
const GRID = 64;

interface Raster {
  readonly width: number;
  readonly height: number;
  readonly data: Buffer;
}

async function rasterOf(page: Page, selector: string): Promise<Raster> {
  const png = await page.locator(selector).screenshot();
  const { data, info } = await rgbPixels(png);
  return { width: info.width, height: info.height, data };
}

function pixel(r: Raster, fx: number, fy: number): [number, number, number] {
  const x = Math.min(r.width - 1, Math.round(fx * r.width));
  const y = Math.min(r.height - 1, Math.round(fy * r.height));
  const i = (y * r.width + x) * 3;
  return [r.data[i]!, r.data[i + 1]!, r.data[i + 2]!];
}

/** Which grid cells hold a feature pixel. */
function featureMask(r: Raster): Uint8Array {
  const mask = new Uint8Array(GRID * GRID);
  for (let y = 0; y < r.height; y++) {
    for (let x = 0; x < r.width; x++) {
      const i = (y * r.width + x) * 3;
      const luma = 0.299 * r.data[i]! + 0.587 * r.data[i + 1]! + 0.114 * r.data[i + 2]!;
      if (luma < FEATURE_LUMA_MAX) {
        mask[Math.floor((y * GRID) / r.height) * GRID + Math.floor((x * GRID) / r.width)] = 1;
      }
    }
  }
  return mask;
}

function count(mask: Uint8Array): number {
  let n = 0;
  for (const v of mask) n += v;
  return n;
}

describe.runIf(needs({ tools: ['chromium'] }))(
  'the display page draws its faces (no emoji font needed)',
  () => {
    const bus = pageBus();
    let rig: PageRig;

    beforeAll(async () => {
      rig = await startPageRig(bus);
    });
    afterAll(() => rig?.close());

    async function show(page: Page, emotion: DisplayAction['emotion']): Promise<void> {
      bus.publish('action/display', { emotion, emoji: '', confidence: 0.8 }, { source: 'agent.emotion' });
      await page.waitForFunction(
        (e) =>
          (globalThis as unknown as { edgeloomDisplay?: { emotion: string } }).edgeloomDisplay?.emotion === e,
        emotion,
      );
    }

    it('paints a head and features for every emotion, each drawn differently', async () => {
      const page = await rig.browser.newPage();
      await page.setViewportSize({ width: 1024, height: 600 });
      await page.goto(`${rig.server.url()}/display`);
      await page.locator('#conn', { hasText: 'connected' }).waitFor({ state: 'attached' });
      const masks = new Map<string, Uint8Array>();
      for (const emotion of [...EMOTIONS, 'no_face'] as const) {
        await show(page, emotion);
        const r = await rasterOf(page, '#face');
        // The left cheek, (40, 124) on the 200×200 face: inside the head, clear of every feature.
        const cheek = pixel(r, 40 / 200, 124 / 200);
        if (emotion !== 'no_face') {
          for (let c = 0; c < 3; c++)
            expect(Math.abs(cheek[c]! - HEAD_RGB[c]!), `${emotion} cheek ${cheek}`).toBeLessThan(16);
        } else {
          // "Nobody there" is the same head, dimmed: still yellow, not the background.
          expect(cheek[0]! - cheek[2]!, `no_face cheek ${cheek}`).toBeGreaterThan(50);
        }
        const mask = featureMask(r);
        // Eyes, brows and mouth cover a few per cent of the face; an empty box or a blank head none.
        expect(count(mask) / mask.length, emotion).toBeGreaterThan(0.02);
        masks.set(emotion, mask);
        await screenshot(page, `display-face-${emotion}`);
      }
      const names = [...masks.keys()];
      for (let i = 0; i < names.length; i++) {
        for (let j = i + 1; j < names.length; j++) {
          const a = masks.get(names[i]!)!;
          const b = masks.get(names[j]!)!;
          let differ = 0;
          for (let k = 0; k < a.length; k++) differ += a[k] !== b[k] ? 1 : 0;
          expect(differ, `${names[i]} and ${names[j]} are drawn alike`).toBeGreaterThan(GRID);
        }
      }
      expect(rig.browser.problems).toEqual([]);
      await page.close();
    });

    it('shows "listening" during a speech segment and "speaking" while the assistant speaks, still fitting the screen', async () => {
      const page = await rig.browser.newPage();
      await page.setViewportSize({ width: 1024, height: 600 });
      await page.goto(`${rig.server.url()}/display`);
      await page.locator('#conn', { hasText: 'connected' }).waitFor({ state: 'attached' });
      await show(page, 'happy');
      const assistant = page.getByRole('status', { name: /^assistant: / });
      const state = (): Promise<string | null> => page.getAttribute('body', 'data-assistant');
      expect(await state()).toBe('idle');
      expect(await page.locator('#assistant').isHidden()).toBe(true);

      const vad = (kind: 'start' | 'end') =>
        bus.publish('inference/vad/mic0', {
          kind,
          modelId: 'silero',
          confidence: 0.9,
          latencyMs: 1,
          inputTsMs: 1000,
          startMs: 1000,
          ...(kind === 'end' ? { endMs: 2000 } : {}),
          sampleRateHz: 16_000,
          segmentId: 'mic0:1',
        });
      vad('start');
      await expect.poll(state).toBe('listening');
      expect(await page.getByRole('status', { name: 'assistant: listening' }).textContent()).toBe(
        'listening…',
      );
      vad('end');
      await expect.poll(state).toBe('idle');

      bus.publish(
        'action/speaking',
        { state: 'start', text: 'the kitchen light is on' },
        { source: 'tool.speak' },
      );
      await expect.poll(state).toBe('speaking');
      // Painted, and below the face, on screen.
      const face = (await page.locator('#face').boundingBox())!;
      const pill = (await assistant.boundingBox())!;
      expect(pill.y).toBeGreaterThanOrEqual(face.y + face.height - 1);
      expect(pill.y + pill.height).toBeLessThanOrEqual(600);
      await screenshot(page, 'display-speaking');
      // A speech start while speaking (a barge-in) keeps "speaking" shown until the speech ends.
      vad('start');
      await expect.poll(state).toBe('speaking');
      bus.publish(
        'action/speaking',
        { state: 'end', text: 'the kitchen light is on', ok: true },
        { source: 'tool.speak' },
      );
      await expect.poll(state).toBe('listening');
      vad('end');
      await expect.poll(state).toBe('idle');
      // The answer shows as it streams: a sentence, the next one added, then the whole text.
      const answer = (text: string, final: boolean) =>
        bus.publish('agent/voice/answer', { text, final, conversationId: 'conversation-1' });
      const shown = () => page.locator('#answer').textContent();
      answer('Everest is the tallest mountain.', false);
      await expect.poll(shown).toBe('Everest is the tallest mountain.');
      answer('It is 8,849 metres high.', false);
      await expect.poll(shown).toBe('Everest is the tallest mountain. It is 8,849 metres high.');
      answer('Everest is the tallest mountain. It is 8,849 metres high.', true);
      await expect.poll(() => page.getAttribute('#answer', 'data-final')).toBe('true');
      expect(await page.locator('#answer').isVisible()).toBe(true);
      await screenshot(page, 'display-answer');
      // The next answer replaces it.
      answer('About 8.8 kilometres.', false);
      await expect.poll(shown).toBe('About 8.8 kilometres.');
      expect(await page.getAttribute('body', 'data-emotion')).toBe('happy');
      expect(rig.browser.problems).toEqual([]);
      await page.close();
    });

    for (const [name, width, height] of [
      ['landscape 1024×600', 1024, 600],
      ['portrait 600×1024', 600, 1024],
      ['phone 390×844', 390, 844],
    ] as const) {
      it(`fits the screen with its label in ${name}`, async () => {
        const page = await rig.browser.newPage();
        await page.setViewportSize({ width, height });
        await page.goto(`${rig.server.url()}/display`);
        await page.locator('#conn', { hasText: 'connected' }).waitFor({ state: 'attached' });
        await show(page, 'happy');
        const faceBox = (await page.locator('#face').boundingBox())!;
        const labelBox = (await page.locator('#label').boundingBox())!;
        // Big (at least 40 % of the short side), wholly on screen, the label below it and on screen.
        expect(faceBox.width).toBeGreaterThanOrEqual(0.4 * Math.min(width, height));
        expect(faceBox.x).toBeGreaterThanOrEqual(0);
        expect(faceBox.y).toBeGreaterThanOrEqual(0);
        expect(faceBox.x + faceBox.width).toBeLessThanOrEqual(width);
        expect(labelBox.y).toBeGreaterThanOrEqual(faceBox.y + faceBox.height - 1);
        expect(labelBox.y + labelBox.height).toBeLessThanOrEqual(height);
        // And it is painted there: the head's colour at the cheek in a whole-screen capture.
        const png = await page.screenshot();
        const { data, info } = await rgbPixels(png);
        const screen = { width: info.width, height: info.height, data };
        const cheek = pixel(
          screen,
          (faceBox.x + (40 / 200) * faceBox.width) / width,
          (faceBox.y + (124 / 200) * faceBox.height) / height,
        );
        for (let c = 0; c < 3; c++)
          expect(Math.abs(cheek[c]! - HEAD_RGB[c]!), `cheek ${cheek}`).toBeLessThan(16);
        await screenshot(page, `display-${width}x${height}`);
        await page.close();
      });
    }
  },
);
