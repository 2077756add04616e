/**
 * Decimal numbers straight from bytes, without building a string per field (the hot path of the
 * CSV and JSON-lines parsers at 1 kHz+). Uses Clinger's fast path: a mantissa of at most 15
 * significant digits is an exact double, and so is 10^k for k <= 22, so one multiply or divide
 * gives the correctly rounded result. Anything outside that (long mantissas, huge exponents)
 * falls back to Number() on the slice, so results always equal Number(text).
 */

const POW10: readonly number[] = Array.from({ length: 23 }, (_, k) => 10 ** k);
const CH_0 = 0x30;
const CH_9 = 0x39;
const CH_MINUS = 0x2d;
const CH_PLUS = 0x2b;
const CH_DOT = 0x2e;
const CH_E = 0x65;
const CH_UPPER_E = 0x45;
/** Significant digits kept in the integer mantissa; more than this takes the slow path. */
const MAX_FAST_DIGITS = 15;

/** Where the last scanNumber() stopped (index of the first byte not part of the number). */
export let scanEnd = 0;

/**
 * Scan a decimal number starting at `pos` (no leading whitespace) and return its value, or NaN
 * when no number starts there. `scanEnd` is set to the index after the number. With `json`, only
 * JSON's grammar is accepted (no `+`, no leading `.`, no leading zeros, digits after `.` and `e`);
 * otherwise it is as lenient as Number() for plain decimals (`+1`, `.5`, `1.`).
 */
export function scanNumber(buf: Uint8Array, pos: number, end: number, json = false): number {
  const start = pos;
  let negative = false;
  let c = pos < end ? buf[pos]! : -1;
  if (c === CH_MINUS || (c === CH_PLUS && !json)) {
    negative = c === CH_MINUS;
    pos++;
  }
  let mantissa = 0;
  let sigDigits = 0;
  let exp10 = 0;
  let intDigits = 0;
  let slow = false;
  const intStart = pos;
  while (pos < end && (c = buf[pos]!) >= CH_0 && c <= CH_9) {
    if (sigDigits > 0 || c !== CH_0) {
      if (sigDigits < MAX_FAST_DIGITS) mantissa = mantissa * 10 + (c - CH_0);
      else slow = true;
      sigDigits++;
    }
    intDigits++;
    pos++;
  }
  if (json && intDigits > 1 && buf[intStart] === CH_0) return fail(start);
  let fracDigits = 0;
  if (pos < end && buf[pos] === CH_DOT) {
    pos++;
    while (pos < end && (c = buf[pos]!) >= CH_0 && c <= CH_9) {
      if (sigDigits > 0 || c !== CH_0) {
        if (sigDigits < MAX_FAST_DIGITS) {
          mantissa = mantissa * 10 + (c - CH_0);
          exp10--;
        } else slow = true;
        sigDigits++;
      } else exp10--;
      fracDigits++;
      pos++;
    }
    if (json && fracDigits === 0) return fail(start);
    if (json && intDigits === 0) return fail(start);
  }
  if (intDigits === 0 && fracDigits === 0) return fail(start);
  if (pos < end && ((c = buf[pos]!) === CH_E || c === CH_UPPER_E)) {
    let p = pos + 1;
    let expNegative = false;
    const s = p < end ? buf[p]! : -1;
    if (s === CH_MINUS || s === CH_PLUS) {
      expNegative = s === CH_MINUS;
      p++;
    }
    let expValue = 0;
    let expDigits = 0;
    while (p < end && (c = buf[p]!) >= CH_0 && c <= CH_9) {
      if (expValue < 100_000) expValue = expValue * 10 + (c - CH_0);
      expDigits++;
      p++;
    }
    if (expDigits === 0) {
      // `1e` is not a number in JSON; Number('1e') is NaN too, so both modes reject it.
      return fail(start);
    }
    exp10 += expNegative ? -expValue : expValue;
    pos = p;
  }
  scanEnd = pos;
  if (slow) return Number(latin1(buf, start, pos));
  if (mantissa === 0) return negative ? -0 : 0;
  let value: number;
  if (exp10 === 0) value = mantissa;
  else if (exp10 > 0 && exp10 <= 22) value = mantissa * POW10[exp10]!;
  else if (exp10 < 0 && exp10 >= -22) value = mantissa / POW10[-exp10]!;
  else return Number(latin1(buf, start, pos));
  return negative ? -value : value;
}

function fail(start: number): number {
  scanEnd = start;
  return Number.NaN;
}

/** Bytes as a latin1 string (numbers are ASCII, so this is exact for them). */
export function latin1(buf: Uint8Array, start: number, end: number): string {
  let s = '';
  for (let i = start; i < end; i++) s += String.fromCharCode(buf[i]!);
  return s;
}
