import { LineInput } from './line-input.js';
import { scanEnd, scanNumber } from './number.js';
import {
  type BadReason,
  CounterBlock,
  type ImuParser,
  type ImuParserCounters,
  type ImuReading,
  type ImuUnits,
  unitScales,
} from './types.js';

/**
 * JSON lines, one object per line, either flat or nested:
 *   {"ax":0.01,"ay":-0.02,"az":1,"gx":0.5,"gy":-0.1,"gz":0,"mx":..,"my":..,"mz":..,"t_ms":1234}
 *   {"accel":[0.01,-0.02,1],"gyro":[0.5,-0.1,0],"mag":[..],"t":1234}
 * Time keys, first present wins: `t_ms`, `t`, `ts` (ms), `t_us` (µs). A nested vector wins over
 * the flat keys of the same sensor. The magnetometer is optional (all three axes or none).
 *
 * Fast path: the common shape (known keys, number or 3-number-array values, no escapes) is
 * scanned straight from bytes. Anything else (unknown keys, strings, nulls, odd whitespace,
 * invalid JSON) falls back to JSON.parse, so results never depend on which path ran.
 */

export interface JsonlParserOptions {
  /** Wire units of accel and gyro values; default g and deg/s. */
  readonly units?: ImuUnits;
  /** Longest line in bytes; longer lines are discarded and counted (default 1024). */
  readonly maxLineBytes?: number;
}

// Slot layout shared by both paths: which key landed where.
// Slots 0..8: ax ay az gx gy gz mx my mz.
const S_T_MS = 9;
const S_T = 10;
const S_TS = 11;
const S_T_US = 12;
const S_ACCEL = 13; // 13..15
const S_GYRO = 16; // 16..18
const S_MAG = 19; // 19..21
const SLOT_COUNT = 22;

const SCALAR_KEYS: ReadonlyMap<string, number> = new Map([
  ['ax', 0],
  ['ay', 1],
  ['az', 2],
  ['gx', 3],
  ['gy', 4],
  ['gz', 5],
  ['mx', 6],
  ['my', 7],
  ['mz', 8],
  ['t_ms', S_T_MS],
  ['t', S_T],
  ['ts', S_TS],
  ['t_us', S_T_US],
]);
const VECTOR_KEYS: ReadonlyMap<string, number> = new Map([
  ['accel', S_ACCEL],
  ['gyro', S_GYRO],
  ['mag', S_MAG],
]);

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;

/** Sentinel: the fast path gave up; run JSON.parse. */
const FALLBACK = -1;

export class JsonlImuParser implements ImuParser {
  /** Lines decoded by the byte scanner. */
  fastPathLines = 0;
  /** Lines that needed JSON.parse. */
  slowPathLines = 0;
  private readonly input: LineInput;
  private readonly c = new CounterBlock();
  private readonly accelScale: number;
  private readonly gyroScale: number;
  private readonly slots = new Float64Array(SLOT_COUNT);
  /** Bit i set when slot group i was seen on this line (scalars by slot, vectors by first slot). */
  private seen = 0;
  private readonly onLine = (buf: Uint8Array, start: number, end: number, rawBytes: number): void =>
    this.line(buf, start, end, rawBytes);
  private emit: (reading: ImuReading) => void = () => {};

  constructor(options: JsonlParserOptions = {}) {
    this.input = new LineInput(this.c, options.maxLineBytes ?? 1024, this.onLine);
    const scales = unitScales(options.units);
    this.accelScale = scales.accel;
    this.gyroScale = scales.gyro;
  }

  push(chunk: Uint8Array, onReading: (reading: ImuReading) => void): void {
    this.emit = onReading;
    this.input.push(chunk);
  }

  counters(): ImuParserCounters {
    return this.input.counters();
  }

  reset(): void {
    this.input.reset();
  }

  private line(buf: Uint8Array, start: number, end: number, rawBytes: number): void {
    const s = skipWs(buf, start, end);
    if (s === end) {
      this.c.skipped++;
      this.c.bytesAccepted += rawBytes;
      return;
    }
    this.seen = 0;
    let verdict: BadReason | undefined;
    if (this.fast(buf, s, end) !== FALLBACK) {
      this.fastPathLines++;
      verdict = undefined;
    } else {
      this.slowPathLines++;
      this.seen = 0;
      verdict = this.slow(buf, start, end);
    }
    if (verdict === undefined) {
      const reading = this.finish();
      if (reading === undefined) verdict = 'missing_field';
      else {
        this.c.ok++;
        this.c.bytesAccepted += rawBytes;
        this.emit(reading);
        return;
      }
    }
    this.c.bad[verdict]++;
    this.c.bytesDiscarded += rawBytes;
  }

  /** Scan the common shape from bytes; returns FALLBACK at the first thing it does not handle. */
  private fast(buf: Uint8Array, pos: number, end: number): number {
    if (buf[pos] !== LBRACE) return FALLBACK;
    pos = skipWs(buf, pos + 1, end);
    for (;;) {
      if (buf[pos] !== QUOTE) return FALLBACK;
      const keyStart = ++pos;
      while (pos < end && buf[pos] !== QUOTE) if (buf[pos++] === BACKSLASH) return FALLBACK;
      const slot = keySlot(buf, keyStart, pos);
      pos = skipWs(buf, pos + 1, end);
      if (slot === FALLBACK || buf[pos] !== COLON) return FALLBACK;
      pos = skipWs(buf, pos + 1, end);
      if (slot < S_ACCEL) {
        const v = scanNumber(buf, pos, end, true);
        if (scanEnd === pos || !Number.isFinite(v)) return FALLBACK;
        this.slots[slot] = v;
        this.seen |= 1 << slot;
        pos = scanEnd;
      } else {
        if (buf[pos] !== LBRACKET) return FALLBACK;
        pos = skipWs(buf, pos + 1, end);
        for (let k = 0; k < 3; k++) {
          const v = scanNumber(buf, pos, end, true);
          if (scanEnd === pos || !Number.isFinite(v)) return FALLBACK;
          this.slots[slot + k] = v;
          pos = skipWs(buf, scanEnd, end);
          if (buf[pos] !== (k < 2 ? COMMA : RBRACKET)) return FALLBACK;
          pos = skipWs(buf, pos + 1, end);
        }
        this.seen |= 1 << slot;
      }
      pos = skipWs(buf, pos, end);
      const c = buf[pos];
      if (c === COMMA) {
        pos = skipWs(buf, pos + 1, end);
        continue;
      }
      if (c !== RBRACE) return FALLBACK;
      return skipWs(buf, pos + 1, end) === end ? 0 : FALLBACK;
    }
  }

  /** JSON.parse and pick the known keys; returns the rejection reason, if any. */
  private slow(buf: Uint8Array, start: number, end: number): BadReason | undefined {
    let value: unknown;
    try {
      value = JSON.parse(Buffer.from(buf.buffer, buf.byteOffset + start, end - start).toString('utf8'));
    } catch {
      return 'bad_json';
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'bad_json';
    const obj = value as Record<string, unknown>;
    for (const [key, slot] of SCALAR_KEYS) {
      if (!Object.hasOwn(obj, key)) continue;
      const v = obj[key];
      if (typeof v !== 'number' || !Number.isFinite(v)) return 'not_a_number';
      this.slots[slot] = v;
      this.seen |= 1 << slot;
    }
    for (const [key, slot] of VECTOR_KEYS) {
      if (!Object.hasOwn(obj, key)) continue;
      const v = obj[key];
      if (!Array.isArray(v) || v.length !== 3) return 'missing_field';
      for (let k = 0; k < 3; k++) {
        const x: unknown = v[k];
        if (typeof x !== 'number' || !Number.isFinite(x)) return 'not_a_number';
        this.slots[slot + k] = x;
      }
      this.seen |= 1 << slot;
    }
    return undefined;
  }

  /** Merge the slots into a reading in canonical units, or undefined when a sensor is missing. */
  private finish(): ImuReading | undefined {
    const s = this.slots;
    const seen = this.seen;
    const has = (slot: number): boolean => (seen & (1 << slot)) !== 0;
    const accel = has(S_ACCEL) ? S_ACCEL : has(0) && has(1) && has(2) ? 0 : FALLBACK;
    const gyro = has(S_GYRO) ? S_GYRO : has(3) && has(4) && has(5) ? 3 : FALLBACK;
    if (accel === FALLBACK || gyro === FALLBACK) return undefined;
    const mag = has(S_MAG) ? S_MAG : has(6) && has(7) && has(8) ? 6 : FALLBACK;
    const deviceTsMs = has(S_T_MS)
      ? s[S_T_MS]!
      : has(S_T)
        ? s[S_T]!
        : has(S_TS)
          ? s[S_TS]!
          : has(S_T_US)
            ? s[S_T_US]! / 1000
            : undefined;
    const a = this.accelScale;
    const g = this.gyroScale;
    return {
      ax: s[accel]! * a,
      ay: s[accel + 1]! * a,
      az: s[accel + 2]! * a,
      gx: s[gyro]! * g,
      gy: s[gyro + 1]! * g,
      gz: s[gyro + 2]! * g,
      mx: mag === FALLBACK ? undefined : s[mag]!,
      my: mag === FALLBACK ? undefined : s[mag + 1]!,
      mz: mag === FALLBACK ? undefined : s[mag + 2]!,
      deviceTsMs,
    };
  }
}

function isWs(c: number): boolean {
  return c === 0x20 || c === 0x09 || c === 0x0d || c === 0x0a;
}

function skipWs(buf: Uint8Array, pos: number, end: number): number {
  while (pos < end && isWs(buf[pos]!)) pos++;
  return pos;
}

/** Slot of a known key spelled by bytes [start, end), or FALLBACK. */
function keySlot(buf: Uint8Array, start: number, end: number): number {
  const len = end - start;
  if (len === 2) {
    const c0 = buf[start]!;
    const c1 = buf[start + 1]!;
    const axis = c1 - 0x78; // x, y, z → 0, 1, 2
    if (axis >= 0 && axis <= 2) {
      if (c0 === 0x61) return axis; // a
      if (c0 === 0x67) return 3 + axis; // g
      if (c0 === 0x6d) return 6 + axis; // m
    }
    if (c0 === 0x74 && c1 === 0x73) return S_TS; // ts
    return FALLBACK;
  }
  if (len === 1) return buf[start] === 0x74 ? S_T : FALLBACK;
  // `t_ms` is on most lines: match it without building a string.
  if (
    len === 4 &&
    buf[start] === 0x74 &&
    buf[start + 1] === 0x5f &&
    buf[start + 2] === 0x6d &&
    buf[start + 3] === 0x73
  ) {
    return S_T_MS;
  }
  const key = Buffer.from(buf.buffer, buf.byteOffset + start, len).toString('latin1');
  return SCALAR_KEYS.get(key) ?? VECTOR_KEYS.get(key) ?? FALLBACK;
}
