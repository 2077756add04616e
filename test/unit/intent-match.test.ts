import { describe, expect, it } from 'vitest';
import {
  align,
  compileIntents,
  compileTemplate,
  levenshtein,
  MAX_MATCH_WORDS,
  matchIntent,
  normalize,
  substituteSlots,
  wordCost,
} from '../../daemon/agents/intents.js';
import type { IntentConfig } from '../../daemon/config/index.js';
import { isEdgeloomError } from '../../daemon/errors.js';

const INTENTS: IntentConfig[] = [
  {
    name: 'light',
    templates: ['turn (on|off) the {room} light', '(please|) switch the {room} light (on|off)'],
    action: { tool: 'mqtt.publish', args: { topic: 'demo/{room}/light/set', payload: 'ON' } },
  },
  { name: 'status', templates: ['status report', 'how are you'], action: { tool: '', args: {} } },
  { name: 'timer', templates: ['set a timer for {minutes} minutes'], action: { tool: '', args: {} } },
];
const compiled = compileIntents(INTENTS);

describe('normalize', () => {
  it.each([
    ['  Turn ON the Kitchen light!! ', 'turn on the kitchen light'],
    ["What's   up,\tdoc?", 'whats up doc'],
    ['Ça va — très bien.', 'ça va très bien'],
    ['...', ''],
  ])('%j → %j', (input, out) => expect(normalize(input)).toBe(out));
});

describe('matchIntent', () => {
  it.each([
    // text, intent, slots, score range
    ['Turn on the kitchen light.', 'light', { room: 'kitchen' }, [1, 1]],
    ['turn off the garage light', 'light', { room: 'garage' }, [1, 1]],
    ['turn on the living room light', 'light', { room: 'living room' }, [1, 1]],
    ['please switch the hall light off', 'light', { room: 'hall' }, [1, 1]],
    ['switch the hall light on', 'light', { room: 'hall' }, [1, 1]],
    ['how are you', 'status', {}, [1, 1]],
    ['set a timer for ten minutes', 'timer', { minutes: 'ten' }, [1, 1]],
    // near misses: a typo, an extra word, a missing word
    ['turn on the kitchen lights', 'light', { room: 'kitchen' }, [0.95, 0.99]],
    ['turn on the kitchen lite', 'light', { room: 'kitchen' }, [0.85, 0.9]],
    ['could you turn on the kitchen light', 'light', { room: 'kitchen' }, [0.6, 0.8]],
    ['turn on kitchen light', 'light', { room: 'kitchen' }, [0.7, 0.85]],
    ['status reprot', 'status', {}, [0.6, 0.9]],
  ] as const)('%j → %s %j', (text, intent, slots, [lo, hi]) => {
    const m = matchIntent(compiled, text)!;
    expect(m.intent).toBe(intent);
    expect(m.slots).toEqual(slots);
    expect(m.score).toBeGreaterThanOrEqual(lo);
    expect(m.score).toBeLessThanOrEqual(hi);
  });

  it.each(['what is the weather like tomorrow', 'play some music', 'banana'])(
    '%j scores below 0.6',
    (text) => {
      expect(matchIntent(compiled, text)!.score).toBeLessThan(0.6);
    },
  );

  it('returns undefined for empty text or no intents', () => {
    expect(matchIntent(compiled, ' ?! ')).toBeUndefined();
    expect(matchIntent([], 'turn on the light')).toBeUndefined();
  });

  it('does not align a text longer than MAX_MATCH_WORDS words (a 20k-word transcript is not a command)', () => {
    const sentence = 'turn on the kitchen light';
    const huge = Array.from({ length: 4000 }, () => sentence).join(' ');
    expect(matchIntent(compiled, huge)).toBeUndefined();
    const words = (n: number) =>
      Array.from({ length: n }, (_, i) => (i < 5 ? sentence.split(' ')[i] : 'um')).join(' ');
    // Up to the bound the matcher works as before (a long ramble scores low but is aligned).
    expect(matchIntent(compiled, words(MAX_MATCH_WORDS))?.intent).toBe('light');
    expect(matchIntent(compiled, words(MAX_MATCH_WORDS + 1))).toBeUndefined();
  });

  it('ranks the exact alternative above a near one (on vs off are different words)', () => {
    expect(wordCost('on', 'off')).toBe(1);
    const on = align(compileTemplate('turn on the {room} light', 't')[0]!, [
      'turn',
      'off',
      'the',
      'hall',
      'light',
    ]);
    expect(on.score).toBeCloseTo(1 - 1 / 5, 6);
  });
});

describe('templates', () => {
  it('expands alternatives, including empty ones, into variants', () => {
    expect(
      compileTemplate('(please|) switch (on|off)', 'x').map((v) =>
        v.map((t) => (t.kind === 'word' ? t.word : `{${t.name}}`)).join(' '),
      ),
    ).toEqual(['please switch on', 'please switch off', 'switch on', 'switch off']);
  });

  it.each(['turn (on the light', 'turn {} light', 'turn {room light', '(|)'])(
    'rejects %j naming the config key',
    (t) => {
      try {
        compileIntents([{ name: 'x', templates: ['ok', t], action: { tool: '', args: {} } }]);
        expect.unreachable();
      } catch (err) {
        expect(isEdgeloomError(err, 'E_INTENT_TEMPLATE')).toBe(true);
        expect((err as Error).message).toContain('agents.voice.intents[0].templates[1]');
      }
    },
  );
});

describe('helpers', () => {
  it('levenshtein', () => {
    expect(levenshtein('kitten', 'sitting')).toBe(3);
    expect(levenshtein('', 'abc')).toBe(3);
    expect(levenshtein('light', 'light')).toBe(0);
  });

  it('substitutes slots deeply and leaves unknown placeholders visible', () => {
    expect(
      substituteSlots(
        { topic: 'demo/{room}/set', payload: ['{room}', 3, { x: '{nope}' }] },
        { room: 'hall' },
      ),
    ).toEqual({
      topic: 'demo/hall/set',
      payload: ['hall', 3, { x: '{nope}' }],
    });
  });
});

describe('typed slots', () => {
  const TYPED = compileIntents([
    {
      name: 'timer_set',
      templates: ['set a timer for {seconds:duration}', 'set a {seconds:duration} timer'],
      action: { tool: 'timer.set', args: { seconds: '{seconds}' } },
    },
    {
      name: 'volume',
      templates: ['set the volume to {level:number}'],
      action: { tool: 'x', args: { level: '{level}', text: 'level {level}' } },
    },
    { name: 'light', templates: ['turn on the {room} light'], action: { tool: '', args: {} } },
  ]);

  it.each([
    ['set a timer for five minutes', 'timer_set', { seconds: 300 }],
    ['Set a timer for an hour and a half.', 'timer_set', { seconds: 5400 }],
    ['set a timer for 90 seconds', 'timer_set', { seconds: 90 }],
    ['set a timer for one hour ten minutes', 'timer_set', { seconds: 4200 }],
    ['set a timer for 1.5 hours', 'timer_set', { seconds: 5400 }],
    ['set a timer for one hour twenty five minutes and thirty seconds', 'timer_set', { seconds: 5130 }],
    ['set a twenty-minute timer', 'timer_set', { seconds: 1200 }],
    ['set the volume to twenty one', 'volume', { level: 21 }],
    ['set the volume to 7', 'volume', { level: 7 }],
    ['set the volume to two and a half', 'volume', { level: 2.5 }],
    ['turn on the living room light', 'light', { room: 'living room' }],
  ] as const)('%j → %s %j (exact)', (text, intent, slots) => {
    const m = matchIntent(TYPED, text)!;
    expect(m.intent).toBe(intent);
    expect(m.slots).toEqual(slots);
    expect(m.score).toBe(1);
  });

  it('takes only a span that parses: a word that is not a duration stays outside the slot', () => {
    const m = matchIntent(TYPED, 'set a timer for five minutes please')!;
    expect(m.slots).toEqual({ seconds: 300 });
    expect(m.score).toBeLessThan(1);
    // Nothing parses: the slot is missing (cost 1), so the match is weaker and carries no value.
    const none = matchIntent(TYPED, 'set a timer for pasta')!;
    expect(none.slots).toEqual({});
    expect(none.score).toBeLessThan(0.8);
  });

  it('a typed slot reaches the tool as a number; inside text it is written out', () => {
    const m = matchIntent(TYPED, 'set the volume to twenty one')!;
    expect(substituteSlots(m.action.args, m.slots)).toEqual({ level: 21, text: 'level 21' });
    const t = matchIntent(TYPED, 'set a timer for five minutes')!;
    expect(substituteSlots(t.action.args, t.slots)).toEqual({ seconds: 300 });
  });

  it.each(['{n:colour}', '{n:number:x}', '{:number}'])('rejects the slot %j naming the key', (slot) => {
    try {
      compileTemplate(`set {x} to ${slot}`, 'agents.voice.intents[2].templates[0]');
      expect.unreachable();
    } catch (err) {
      expect(isEdgeloomError(err, 'E_INTENT_TEMPLATE')).toBe(true);
      expect((err as Error).message).toContain('agents.voice.intents[2].templates[0]');
    }
  });

  it('normalize keeps a decimal point between digits and drops a thousands comma', () => {
    expect(normalize('Set it to 2.5, then 1,000. Done.')).toBe('set it to 2.5 then 1000 done');
    expect(normalize('v.2 and .5 and 3.')).toBe('v 2 and 5 and 3');
  });
});

describe('key words', () => {
  const KEYED = compileIntents([
    { name: 'weather', templates: ['whats the [weather]'], action: { tool: '', args: {} } },
    { name: 'plain', templates: ['whats the forecast'], action: { tool: '', args: {} } },
  ]);

  it('a key word matches itself or a near typo, never another word, and is never missing', () => {
    expect(matchIntent(KEYED, "what's the weather")).toMatchObject({ intent: 'weather', score: 1 });
    expect(matchIntent(KEYED, "what's the wether")!.score).toBeGreaterThan(0.9);
    // Without the key word the same phrase one word away would score 0.67 and match.
    const news = matchIntent(KEYED, "what's the news")!;
    expect(news.intent).toBe('plain');
    expect(news.score).toBeCloseTo(1 - wordCost('forecast', 'news') / 3, 6);
    const [variant] = compileTemplate('whats the [weather]', 't');
    expect(align(variant!, ['whats', 'the', 'news']).score).toBe(0);
    expect(align(variant!, ['whats', 'the']).score).toBe(0);
    expect(align(variant!, ['so', 'whats', 'the', 'weather']).score).toBeCloseTo(0.75, 6);
  });

  it('key words may sit inside alternatives', () => {
    const [a, b] = compileTemplate('([cancel]|[delete]) it', 't');
    expect(a).toEqual([
      { kind: 'word', word: 'cancel', key: true },
      { kind: 'word', word: 'it' },
    ]);
    expect(b![0]).toEqual({ kind: 'word', word: 'delete', key: true });
  });

  it.each(['whats the [weather', 'whats the weather]', 'whats the []'])('rejects %j', (t) => {
    expect(() => compileTemplate(t, 'agents.voice.intents[0].templates[0]')).toThrow(/templates\[0\]/);
  });
});
