import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SileroVad } from '../../daemon/pipeline/vad/silero-vad.js';
import { type SegmenterEvent, SpeechSegmenter } from '../../daemon/pipeline/vad/speech-segmenter.js';
import { openFixture } from '../../daemon/recording/reader.js';
import { REPO_ROOT } from '../helpers/tools.js';

const DIR = join(REPO_ROOT, 'fixtures/speech');
const TOLERANCE_MS = 150;

interface Truth {
  readonly start_ms: number;
  readonly end_ms: number;
  readonly text: string;
}

describe('Silero VAD + segmenter on the bundled speech fixture', () => {
  it('finds every utterance within ±150 ms of the fixture truth', async () => {
    const truth = (
      JSON.parse(readFileSync(join(DIR, 'fixture.json'), 'utf8')) as { truth: { speech: Truth[] } }
    ).truth.speech;
    const fixture = await openFixture(DIR);
    const vad = await SileroVad.load();
    // No pre-roll: the segment start is then the detected onset, comparable with the truth.
    const seg = new SpeechSegmenter({ preRollMs: 0 });
    const events: SegmenterEvent[] = [];
    try {
      for await (const f of fixture.micFrames(512))
        events.push(...seg.push(f.samples, await vad.process(f.samples), f.tMs));
      events.push(...seg.flush());
    } finally {
      await vad.release();
    }
    const ends = events.filter((e) => e.kind === 'speech-end');
    expect(events.filter((e) => e.kind === 'misfire')).toEqual([]);
    expect(ends).toHaveLength(truth.length);
    truth.forEach((t, i) => {
      const e = ends[i]!;
      expect(Math.abs(e.startMs - t.start_ms), `start of "${t.text}"`).toBeLessThanOrEqual(TOLERANCE_MS);
      expect(Math.abs(e.endMs - t.end_ms), `end of "${t.text}"`).toBeLessThanOrEqual(TOLERANCE_MS);
    });
  });
});
