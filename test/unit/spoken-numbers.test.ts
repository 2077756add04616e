import { describe, expect, it } from 'vitest';
import { words } from '../../daemon/agents/intents.js';
import {
  formatDuration,
  parseSpokenDuration,
  parseSpokenNumber,
} from '../../daemon/agents/skills/spoken-numbers.js';

describe('parseSpokenNumber', () => {
  it.each([
    ['zero', 0],
    ['five', 5],
    ['2', 2],
    ['2.5', 2.5],
    ['1,000', 1000],
    ['twelve', 12],
    ['twenty', 20],
    ['twenty one', 21],
    ['twenty-one', 21],
    ['ninety nine', 99],
    ['a hundred', 100],
    ['one hundred', 100],
    ['one hundred and five', 105],
    ['three hundred twenty', 320],
    ['nineteen hundred', 1900],
    ['two thousand three hundred', 2300],
    ['a thousand and one', 1001],
    ['two million', 2_000_000],
    ['two and a half', 2.5],
    ['one and a quarter', 1.25],
    ['7 and a half', 7.5],
    ['half', 0.5],
    ['a half', 0.5],
    ['a quarter', 0.25],
    ['three quarters', 0.75],
  ])('%j → %d', (text, n) => expect(parseSpokenNumber(words(text))).toBe(n));

  it.each([
    '',
    'a',
    'and',
    'hundred',
    'five five',
    'twenty ten',
    'eleven three',
    'twenty one minutes',
    'five apples',
    'one hundred and',
    'two and',
    'thousand thousand',
    '2.5.1',
  ])('%j is not a number', (text) => expect(parseSpokenNumber(words(text))).toBeUndefined());
});

describe('parseSpokenDuration', () => {
  it.each([
    ['five minutes', 300],
    ['a minute', 60],
    ['one minute', 60],
    ['an hour', 3600],
    ['an hour and a half', 5400],
    ['one and a half hours', 5400],
    ['1.5 hours', 5400],
    ['90 seconds', 90],
    ['ninety seconds', 90],
    ['one hour ten minutes', 4200],
    ['one hour and ten minutes', 4200],
    ['2 hours 30 minutes and 15 seconds', 9015],
    ['half an hour', 1800],
    ['half a minute', 30],
    ['a quarter of an hour', 900],
    ['quarter of an hour', 900],
    ['three quarters of an hour', 2700],
    ['a minute and a half', 90],
    ['two and a half minutes', 150],
    ['two minutes thirty', 150],
    ['one hour twenty', 4800],
    ['one hour ten minutes twenty', 4220],
    ['twenty five minutes', 1500],
    ['a hundred seconds', 100],
    ['5 min', 300],
    ['10 secs', 10],
    ['2 hrs', 7200],
    ['a day', 86_400],
    ['five-minute', 300],
    ['one hour twenty five minutes and thirty seconds', 5130],
  ])('%j → %d s', (text, s) => expect(parseSpokenDuration(words(text))).toBe(s));

  it.each([
    '',
    'five',
    'minutes',
    'a',
    'five apples',
    'five minutes and',
    'five minutes five minutes',
    'ten minutes two minutes',
    'five minutes pasta',
    'for five minutes',
    'thirty seconds ten',
  ])('%j is not a duration', (text) => expect(parseSpokenDuration(words(text))).toBeUndefined());
});

describe('formatDuration', () => {
  it.each([
    [0, false, '0 seconds'],
    [1, false, '1 second'],
    [45, false, '45 seconds'],
    [60, false, '1 minute'],
    [300, false, '5 minutes'],
    [300, true, '5 minute'],
    [5400, false, '1 hour and 30 minutes'],
    [5400, true, '1 hour and 30 minute'],
    [9015, false, '2 hours, 30 minutes and 15 seconds'],
    [89.6, false, '1 minute and 30 seconds'],
  ])('%d s (adjective %s) → %j', (s, adjective, text) => expect(formatDuration(s, adjective)).toBe(text));
});
