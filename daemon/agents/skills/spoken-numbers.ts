/**
 * Numbers and durations as people say them (and as speech-to-text writes them), for the typed
 * intent slots (`{n:number}`, `{seconds:duration}`, intents.ts) and the skills' spoken answers.
 *
 * Input is a list of normalised words (intents.ts `words()`: lowercase, no punctuation except a
 * decimal point between digits). A parse must use every word it is given, so the matcher can
 * try each span of the utterance and keep the longest one that parses.
 *
 * Numbers: digits (`2`, `2.5`), cardinals in words up to the millions (`twenty one`, `a hundred`,
 * `one hundred and five`, `two thousand three hundred`), with a fraction (`two and a half`,
 * `one and a quarter`) or alone (`half`, `a quarter`, `three quarters`).
 * Durations: groups of an amount and a unit (second, minute, hour, day; short forms `sec`, `min`,
 * `hr`), joined by `and` or nothing: `five minutes`, `an hour and a half`, `90 seconds`,
 * `one hour ten minutes`, `half an hour`, `a quarter of an hour`, `1.5 hours`; a bare number after
 * a group is the next smaller unit (`two minutes thirty` = 150 s). Each unit at most once.
 */

const UNITS: Readonly<Record<string, number>> = {
  zero: 0,
  one: 1,
  two: 2,
  three: 3,
  four: 4,
  five: 5,
  six: 6,
  seven: 7,
  eight: 8,
  nine: 9,
};
const TEENS: Readonly<Record<string, number>> = {
  ten: 10,
  eleven: 11,
  twelve: 12,
  thirteen: 13,
  fourteen: 14,
  fifteen: 15,
  sixteen: 16,
  seventeen: 17,
  eighteen: 18,
  nineteen: 19,
};
const TENS: Readonly<Record<string, number>> = {
  twenty: 20,
  thirty: 30,
  forty: 40,
  fourty: 40,
  fifty: 50,
  sixty: 60,
  seventy: 70,
  eighty: 80,
  ninety: 90,
};
const SCALES: Readonly<Record<string, number>> = { hundred: 100, thousand: 1000, million: 1_000_000 };

/** Seconds per unit word, singular and plural and the short forms speech-to-text writes. */
const DURATION_UNITS: Readonly<Record<string, number>> = {
  second: 1,
  seconds: 1,
  sec: 1,
  secs: 1,
  s: 1,
  minute: 60,
  minutes: 60,
  min: 60,
  mins: 60,
  m: 60,
  hour: 3600,
  hours: 3600,
  hr: 3600,
  hrs: 3600,
  h: 3600,
  day: 86_400,
  days: 86_400,
};
/** The unit a bare trailing number stands for after a group of this unit (`two minutes thirty`). */
const NEXT_SMALLER: Readonly<Record<number, number>> = { 86400: 3600, 3600: 60, 60: 1 };

const DIGITS = /^\d+(\.\d+)?$/;

interface Parsed {
  readonly value: number;
  /** Index of the first word not used. */
  readonly next: number;
}

/** A whole cardinal in words starting at i (longest), e.g. `two thousand three hundred and five`. */
function cardinal(ws: readonly string[], i: number): Parsed | undefined {
  let total = 0;
  let current = 0;
  /** What the last word was: decides what may follow (no `five five`, no `twenty ten`). */
  let last: 'none' | 'unit' | 'teen' | 'tens' | 'scale' = 'none';
  let j = i;
  let end: Parsed | undefined;
  // `a hundred`, `a thousand`: the article counts as one only before a scale word.
  if (ws[j] === 'a' && ws[j + 1] !== undefined && SCALES[ws[j + 1]!] !== undefined) {
    current = 1;
    last = 'unit';
    j++;
  }
  for (; j < ws.length; j++) {
    const w = ws[j]!;
    const unit = UNITS[w];
    const teen = TEENS[w];
    const tens = TENS[w];
    const scale = SCALES[w];
    if (unit !== undefined && (last === 'none' || last === 'tens' || last === 'scale')) {
      current += unit;
      last = 'unit';
    } else if (teen !== undefined && (last === 'none' || last === 'scale')) {
      current += teen;
      last = 'teen';
    } else if (tens !== undefined && (last === 'none' || last === 'scale')) {
      current += tens;
      last = 'tens';
    } else if (scale !== undefined && last !== 'none' && last !== 'scale') {
      if (scale === 100) {
        if (current % 100 !== current) return end;
        current *= 100;
      } else {
        total += current * scale;
        current = 0;
      }
      last = 'scale';
    } else if (w === 'and' && last === 'scale' && j + 1 < ws.length && isSmallNumberWord(ws[j + 1]!)) {
      continue; // `one hundred and five`
    } else break;
    end = { value: total + current, next: j + 1 };
  }
  return end;
}

function isSmallNumberWord(w: string): boolean {
  return UNITS[w] !== undefined || TEENS[w] !== undefined || TENS[w] !== undefined;
}

/** A fraction word group at i: `half`, `a half`, `a quarter`, `quarter`, `three quarters`. */
function fraction(ws: readonly string[], i: number): Parsed | undefined {
  let j = i;
  if (ws[j] === 'a' || ws[j] === 'one') j++;
  if (ws[j] === 'half') return { value: 0.5, next: j + 1 };
  if (ws[j] === 'quarter') return { value: 0.25, next: j + 1 };
  if (ws[i] === 'three' && ws[i + 1] === 'quarters') return { value: 0.75, next: i + 2 };
  return undefined;
}

/** A number at i (longest): digits or words, with an optional `and a half`/`and a quarter`. */
function numberAt(ws: readonly string[], i: number): Parsed | undefined {
  const w = ws[i];
  if (w === undefined) return undefined;
  let whole: Parsed | undefined;
  if (DIGITS.test(w)) whole = { value: Number(w), next: i + 1 };
  else whole = cardinal(ws, i);
  const part = fraction(ws, i);
  // `three quarters` is a fraction, not three.
  if (whole === undefined || (part !== undefined && part.next > whole.next)) return part;
  if (ws[whole.next] === 'and') {
    const f = fraction(ws, whole.next + 1);
    if (f !== undefined && f.value < 1) return { value: whole.value + f.value, next: f.next };
  }
  return whole;
}

/** The number the words say, every word used; undefined when they are not a number. */
export function parseSpokenNumber(ws: readonly string[]): number | undefined {
  const p = numberAt(ws, 0);
  return p !== undefined && p.next === ws.length && Number.isFinite(p.value) ? p.value : undefined;
}

/** One amount-and-unit group at i, e.g. `an hour and a half`, `half an hour`, `5 min`. */
function group(
  ws: readonly string[],
  i: number,
): { seconds: number; unit: number; next: number } | undefined {
  // `half an hour`, `a quarter of an hour`, `three quarters of an hour`
  const f = fraction(ws, i);
  if (f !== undefined) {
    let j = f.next;
    if (ws[j] === 'of') j++;
    if (ws[j] === 'a' || ws[j] === 'an') j++;
    const unit = DURATION_UNITS[ws[j] ?? ''];
    if (unit !== undefined) return { seconds: f.value * unit, unit, next: j + 1 };
  }
  let amount: Parsed | undefined;
  if ((ws[i] === 'a' || ws[i] === 'an') && DURATION_UNITS[ws[i + 1] ?? ''] !== undefined)
    amount = { value: 1, next: i + 1 };
  else amount = numberAt(ws, i);
  if (amount === undefined) return undefined;
  const unit = DURATION_UNITS[ws[amount.next] ?? ''];
  if (unit === undefined) return undefined;
  let seconds = amount.value * unit;
  let next = amount.next + 1;
  // `an hour and a half`: the fraction is of the unit just said.
  if (ws[next] === 'and' && Number.isInteger(amount.value)) {
    const g = fraction(ws, next + 1);
    if (g !== undefined && g.value < 1 && DURATION_UNITS[ws[g.next] ?? ''] === undefined) {
      seconds += g.value * unit;
      next = g.next;
    }
  }
  return { seconds, unit, next };
}

/**
 * The duration the words say, in seconds (rounded to whole seconds), every word used; undefined
 * when they are not a duration (a number without a unit is not one).
 */
export function parseSpokenDuration(ws: readonly string[]): number | undefined {
  let i = 0;
  let total = 0;
  let lastUnit = 0;
  const used = new Set<number>();
  while (i < ws.length) {
    if (i > 0 && (ws[i] === 'and' || ws[i] === 'plus')) i++;
    const g = group(ws, i);
    if (g === undefined) {
      // A bare number closing the phrase: the next smaller unit (`one hour ten`, `two minutes thirty`).
      const smaller = NEXT_SMALLER[lastUnit];
      const n = numberAt(ws, i);
      if (smaller === undefined || n === undefined || n.next !== ws.length || used.has(smaller))
        return undefined;
      total += n.value * smaller;
      i = n.next;
      break;
    }
    if (used.has(g.unit)) return undefined;
    used.add(g.unit);
    total += g.seconds;
    lastUnit = g.unit;
    i = g.next;
  }
  if (i !== ws.length || used.size === 0 || !Number.isFinite(total)) return undefined;
  return Math.round(total);
}

/**
 * Seconds as words to speak: `5 minutes`, `1 hour and 30 minutes`, `2 hours, 10 minutes and
 * 5 seconds`. `adjective` gives the singular form used before a noun (`a 5 minute timer`).
 */
export function formatDuration(totalSeconds: number, adjective = false): string {
  const s = Math.max(0, Math.round(totalSeconds));
  const parts: string[] = [];
  const push = (n: number, unit: string): void => {
    if (n > 0) parts.push(`${n} ${unit}${n === 1 || adjective ? '' : 's'}`);
  };
  push(Math.floor(s / 3600), 'hour');
  push(Math.floor((s % 3600) / 60), 'minute');
  push(s % 60, 'second');
  if (parts.length === 0) return adjective ? '0 second' : '0 seconds';
  if (parts.length === 1) return parts[0]!;
  return `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1]}`;
}
