import { describe, expect, it } from 'vitest';
import { SentenceStream } from '../../daemon/agents/sentence-stream.js';
import { wordSimilarity } from '../../daemon/agents/voice-phrases.js';
import { turnsWithin } from '../../daemon/agents/voice-state.js';

describe('voice phrases', () => {
  it('scores a better hearing of the same words high and another sentence low', () => {
    expect(wordSimilarity('turn on the hall light', 'turn on the kitchen light')).toBeCloseTo(0.8);
    expect(wordSimilarity('what time is it', 'turn on the kitchen light')).toBeLessThan(0.5);
    expect(wordSimilarity('Turn on the light.', 'turn on the light')).toBe(1);
    expect(wordSimilarity('', '')).toBe(1);
  });
});

describe('SentenceStream', () => {
  it('cuts fragments into sentences as they complete, the rest at the end marked last', () => {
    const out: [string, boolean][] = [];
    const s = new SentenceStream((t, last) => out.push([t, last]));
    s.push('It is su');
    s.push('nny. Highs of');
    expect(out).toEqual([['It is sunny.', false]]);
    s.push(' twenty! And');
    s.finish('It is sunny. Highs of twenty! And a breeze');
    expect(out).toEqual([
      ['It is sunny.', false],
      ['Highs of twenty!', false],
      ['And a breeze', true],
    ]);
  });

  it('takes the reply as authoritative when fragments were lost, and speaks a runaway text in pieces', () => {
    const out: string[] = [];
    const s = new SentenceStream((t) => out.push(t));
    s.finish('One. Two.');
    expect(out).toEqual(['One.', 'Two.']);
    const long: string[] = [];
    const r = new SentenceStream((t) => long.push(t));
    r.push(`${'word '.repeat(200)}`);
    expect(long.length).toBeGreaterThan(0);
    expect(long.every((t) => t.length <= 400)).toBe(true);
  });
});

describe('conversation context budget', () => {
  it('keeps the newest turns within the token budget, and always the newest one', () => {
    const turn = (n: number, chars: number) => ({ user: `q${n}`, assistant: 'a'.repeat(chars), atMs: n });
    const turns = [turn(1, 400), turn(2, 400), turn(3, 400)];
    expect(turnsWithin(turns, 250).map((t) => t.atMs)).toEqual([2, 3]);
    expect(turnsWithin(turns, 10).map((t) => t.atMs)).toEqual([3]);
    expect(turnsWithin(turns, 10_000)).toHaveLength(3);
  });
});
