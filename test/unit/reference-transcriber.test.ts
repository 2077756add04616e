import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { isEdgeloomError } from '../../daemon/errors.js';
import {
  createReferenceTranscriber,
  matchTruth,
  REFERENCE_MODEL_ID,
} from '../../daemon/pipeline/stt/reference-transcriber.js';
import type { SpeechSegmentContext } from '../../daemon/pipeline/stt/stt-stage.js';
import { openFixture } from '../../daemon/recording/reader.js';
import { REPO_ROOT } from '../helpers/tools.js';

const SPEECH = join(REPO_ROOT, 'fixtures', 'speech');
/** fixtures/speech starts at 2024-01-01T00:00:00Z. */
const ORIGIN = Date.parse('2024-01-01T00:00:00.000Z');

const truth = [
  { start_ms: 1000, end_ms: 2000, text: 'one' },
  { start_ms: 3000, end_ms: 5000, text: 'two' },
];

function seg(startMs: number, endMs: number): SpeechSegmentContext {
  return { micId: 'mic', startMs, endMs, sampleRateHz: 16_000 };
}

describe('matchTruth', () => {
  it('picks the line overlapping the segment most, confidence = share of the line covered', () => {
    expect(matchTruth(truth, 800, 2500)).toEqual({ text: 'one', coverage: 1, overlapMs: 1000 });
    expect(matchTruth(truth, 1500, 4000)).toEqual({ text: 'two', coverage: 0.5, overlapMs: 1000 });
    expect(matchTruth(truth, 1900, 3050)).toEqual({ text: 'one', coverage: 0.1, overlapMs: 100 });
  });

  it('answers nothing when no line overlaps, and never matches a line without duration', () => {
    expect(matchTruth(truth, 2000, 3000)).toEqual({ text: '', coverage: 0, overlapMs: 0 });
    expect(matchTruth([{ start_ms: 10, end_ms: 10, text: 'x' }], 0, 100).text).toBe('');
  });

  it('coverage stays in 0..1 and is 0 exactly when the text is empty', () => {
    fc.assert(
      fc.property(fc.integer({ min: -1000, max: 8000 }), fc.integer({ min: 0, max: 6000 }), (s, len) => {
        const m = matchTruth(truth, s, s + len);
        expect(m.coverage).toBeGreaterThanOrEqual(0);
        expect(m.coverage).toBeLessThanOrEqual(1);
        expect(m.text === '').toBe(m.coverage === 0);
      }),
    );
  });
});

describe('ReferenceTranscriber on fixtures/speech', () => {
  let tmp: string | undefined;
  afterEach(async () => {
    if (tmp !== undefined) await rm(tmp, { recursive: true, force: true });
    tmp = undefined;
  });

  it('answers by clock time relative to the fixture start, labelled reference-transcript', async () => {
    const model = await createReferenceTranscriber({ fixtureDir: SPEECH });
    expect(model.modelId).toBe(REFERENCE_MODEL_ID);
    const audio = new Int16Array(16_000);
    const r = await model.transcribe(audio, { language: 'en' }, seg(ORIGIN + 808, ORIGIN + 2800));
    expect(r).toMatchObject({ text: 'turn on the kitchen light', confidence: 1, noSpeechProb: 0 });
    expect(r.durationMs).toBe(1000);
    const none = await model.transcribe(audio, {}, seg(ORIGIN + 2500, ORIGIN + 3500));
    expect(none).toMatchObject({ text: '', confidence: 0, noSpeechProb: 1 });
    // The same segment one pass later matches nothing without loop folding (past the last line).
    const late = await model.transcribe(audio, {}, seg(ORIGIN + 100_000 + 808, ORIGIN + 100_000 + 2800));
    expect(late.text).toBe('');
  });

  it('folds looped passes back onto the fixture (period = duration + loop gap)', async () => {
    const model = await createReferenceTranscriber({ fixtureDir: SPEECH, loop: true, loopGapMs: 1000 });
    const plain = await createReferenceTranscriber({ fixtureDir: SPEECH });
    const period = (await openFixture(SPEECH)).durationMs + 1000;
    const audio = new Int16Array(160);
    const second = ORIGIN + 2 * period;
    const r = await model.transcribe(audio, {}, seg(second + 5900, second + 7700));
    expect(r.text).toBe('turn off the bedroom light');
    expect((await plain.transcribe(audio, {}, seg(second + 5900, second + 7700))).text).not.toBe(
      'turn off the bedroom light',
    );
  });

  it('without a segment context it throws (it answers by time, not audio)', async () => {
    const model = await createReferenceTranscriber({ fixtureDir: SPEECH });
    await expect(model.transcribe(new Int16Array(10))).rejects.toMatchObject({ code: 'E_STT_SEGMENT' });
  });

  it('refuses to start without a replayed fixture, or on one without truth.speech, naming the key', async () => {
    const noReplay = await createReferenceTranscriber({ fixtureDir: undefined }).catch((e: unknown) => e);
    expect(isEdgeloomError(noReplay) && noReplay.code).toBe('E_CONFIG');
    expect((noReplay as Error).message).toContain('pipeline.stt.engine');

    tmp = await mkdtemp(join(tmpdir(), 'edgeloom-ref-'));
    await writeFile(
      join(tmp, 'fixture.json'),
      JSON.stringify({
        format: 'edgeloom-fixture',
        version: 1,
        sensors: [],
        start_time: '2024-01-01T00:00:00Z',
      }),
    );
    const noTruth = await createReferenceTranscriber({ fixtureDir: tmp }).catch((e: unknown) => e);
    expect(isEdgeloomError(noTruth) && noTruth.code).toBe('E_CONFIG');
    expect((noTruth as Error).message).toMatch(/pipeline\.stt\.engine.*truth\.speech/);
  });
});
