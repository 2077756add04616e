import { describe, expect, it } from 'vitest';
import { stripWakePhrase } from '../../daemon/agents/wake-phrase.js';

describe('stripWakePhrase', () => {
  it('returns the command after the phrase, whatever the punctuation and case', () => {
    expect(stripWakePhrase('Hey, edgeloom: what time is it', 'hey edgeloom')).toBe('what time is it');
    expect(stripWakePhrase('hey Edgeloom! Turn on the light.', 'hey edgeloom')).toBe('Turn on the light.');
    expect(stripWakePhrase('  Hey edgeloom, what time is it?', 'hey edgeloom')).toBe('what time is it?');
    expect(stripWakePhrase('HEY EDGELOOM... stop', 'Hey, Edgeloom')).toBe('stop');
  });

  it('takes the phrase split or joined differently by the transcriber', () => {
    expect(stripWakePhrase('Hey edge loom, what time is it', 'hey edgeloom')).toBe('what time is it');
    expect(stripWakePhrase('Hey-edgeloom what time is it', 'hey edgeloom')).toBe('what time is it');
  });

  it('returns an empty command when the phrase is all that was said', () => {
    expect(stripWakePhrase('Hey edgeloom.', 'hey edgeloom')).toBe('');
    expect(stripWakePhrase('hey edgeloom', 'hey edgeloom')).toBe('');
  });

  it('refuses text that does not start with the phrase', () => {
    expect(stripWakePhrase('what time is it', 'hey edgeloom')).toBeUndefined();
    expect(stripWakePhrase('I said hey edgeloom', 'hey edgeloom')).toBeUndefined();
    expect(stripWakePhrase('hey', 'hey edgeloom')).toBeUndefined();
    expect(stripWakePhrase('hey edgeloomish thing', 'hey edgeloom')).toBeUndefined();
    expect(stripWakePhrase('hey edge', 'hey edgeloom')).toBeUndefined();
  });

  it('matches nothing with an empty or punctuation-only phrase', () => {
    expect(stripWakePhrase('hey edgeloom what', '')).toBeUndefined();
    expect(stripWakePhrase('hey edgeloom what', ' ,. ')).toBeUndefined();
  });
});
