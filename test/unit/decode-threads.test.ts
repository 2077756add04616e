/**
 * The face stage's decode runs libvips on one thread (preprocess/decode.ts DECODE_THREADS): the
 * CPU per frame is benchmarked (npm run bench pipeline, face_preprocess_ms_per_frame); this checks
 * the setting is in force once the decoder is loaded, and that a frame still decodes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { DECODE_THREADS, decodeRgb } from '../../daemon/pipeline/preprocess/decode.js';
import { REPO_ROOT } from '../helpers/tools.js';

describe('decodeRgb threads', () => {
  it('runs libvips with DECODE_THREADS (1) threads per operation, not one per core', async () => {
    expect(DECODE_THREADS).toBe(1);
    expect(sharp.concurrency()).toBe(1);
    const index = readFileSync(join(REPO_ROOT, 'fixtures', 'demo', 'camera.index.jsonl'), 'utf8');
    const first = JSON.parse(index.split('\n')[0]!) as { offset: number; length: number };
    const mjpeg = readFileSync(join(REPO_ROOT, 'fixtures', 'demo', 'camera.mjpeg'));
    const image = await decodeRgb(mjpeg.subarray(first.offset, first.offset + first.length), 'test');
    expect([image.width, image.height, image.data.length]).toEqual([640, 480, 640 * 480 * 3]);
  });
});
