import { LineInput } from './line-input.js';
import { scanEnd, scanNumber } from './number.js';
import {
  CounterBlock,
  type ImuParser,
  type ImuParserCounters,
  type ImuReading,
  type ImuUnits,
  unitScales,
} from './types.js';

/**
 * CSV lines, one reading per line, e.g. `0.01,-0.02,1.00,0.5,-0.1,0.0,1234`.
 *
 * Column order: configurable (`columns`); by default it is chosen from the field count:
 *   6 → ax,ay,az,gx,gy,gz   7 → …,t   9 → …,mx,my,mz   10 → …,mx,my,mz,t
 * A header row (first byte a letter) naming the columns (`ax`…, `t`/`t_ms`/`ts`, `t_us`) replaces
 * the mapping from then on; unknown names are ignored columns. `#` starts a comment line.
 * Every field mapped to a value must be a finite decimal; a line with another field count than the
 * mapping is a bad line (`column_count`), never a guess.
 */

/** What a CSV column holds. `t` is device time in ms, `t_us` in µs; `skip` is ignored. */
export type CsvColumn = 'ax' | 'ay' | 'az' | 'gx' | 'gy' | 'gz' | 'mx' | 'my' | 'mz' | 't' | 't_us' | 'skip';

export interface CsvParserOptions {
  /** Fixed column order; default: chosen from the field count (see above). */
  readonly columns?: readonly CsvColumn[];
  /** Wire units of accel and gyro columns; default g and deg/s. */
  readonly units?: ImuUnits;
  /** Longest line in bytes; longer lines are discarded and counted (default 512). */
  readonly maxLineBytes?: number;
}

const SLOT: Record<CsvColumn, number> = {
  ax: 0,
  ay: 1,
  az: 2,
  gx: 3,
  gy: 4,
  gz: 5,
  mx: 6,
  my: 7,
  mz: 8,
  t: 9,
  t_us: 9,
  skip: -1,
};
const SLOT_COUNT = 10;
const SLOT_T = 9;
/** Most fields a line may have; more is a `column_count` bad line. */
const MAX_FIELDS = 32;

/** Header names accepted for each column, lower case. */
const HEADER_NAMES: Readonly<Record<string, CsvColumn>> = {
  ax: 'ax',
  ay: 'ay',
  az: 'az',
  gx: 'gx',
  gy: 'gy',
  gz: 'gz',
  mx: 'mx',
  my: 'my',
  mz: 'mz',
  t: 't',
  t_ms: 't',
  ts: 't',
  ts_ms: 't',
  time_ms: 't',
  timestamp: 't',
  t_us: 't_us',
  ts_us: 't_us',
};

const DEFAULT_LAYOUTS: Readonly<Record<number, readonly CsvColumn[]>> = {
  6: ['ax', 'ay', 'az', 'gx', 'gy', 'gz'],
  7: ['ax', 'ay', 'az', 'gx', 'gy', 'gz', 't'],
  9: ['ax', 'ay', 'az', 'gx', 'gy', 'gz', 'mx', 'my', 'mz'],
  10: ['ax', 'ay', 'az', 'gx', 'gy', 'gz', 'mx', 'my', 'mz', 't'],
};

/** A column order compiled for the hot path: slot index and multiplier per field. */
interface Layout {
  readonly slots: Int8Array;
  readonly scales: Float64Array;
  readonly hasMag: boolean;
  readonly hasTime: boolean;
}

const COMMA = 0x2c;
const SPACE = 0x20;
const TAB = 0x09;
const HASH = 0x23;

export class CsvImuParser implements ImuParser {
  private readonly input: LineInput;
  private readonly c = new CounterBlock();
  private readonly accelScale: number;
  private readonly gyroScale: number;
  /** The mapping in force: configured, or set by a header row; undefined → by field count. */
  private layout: Layout | undefined;
  private readonly defaults = new Map<number, Layout>();
  private readonly values = new Float64Array(SLOT_COUNT);
  private readonly fieldValues = new Float64Array(MAX_FIELDS);
  private readonly onLine = (buf: Uint8Array, start: number, end: number, rawBytes: number): void =>
    this.line(buf, start, end, rawBytes);
  private emit: (reading: ImuReading) => void = () => {};

  constructor(options: CsvParserOptions = {}) {
    this.input = new LineInput(this.c, options.maxLineBytes ?? 512, this.onLine);
    const scales = unitScales(options.units);
    this.accelScale = scales.accel;
    this.gyroScale = scales.gyro;
    if (options.columns !== undefined) this.layout = this.compile(options.columns);
    for (const [count, cols] of Object.entries(DEFAULT_LAYOUTS))
      this.defaults.set(Number(count), this.compile(cols));
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
    while (start < end && (buf[start] === SPACE || buf[start] === TAB)) start++;
    if (start === end || buf[start] === HASH) {
      this.skip(rawBytes);
      return;
    }
    const first = buf[start]! | 0x20;
    if ((first >= 0x61 && first <= 0x7a) || buf[start] === 0x5f) {
      this.header(buf, start, end, rawBytes);
      return;
    }

    // One pass: scan every field as a number (NaN when it is not one; an unmapped column may hold
    // text), then apply the layout chosen by the field count.
    const fieldValues = this.fieldValues;
    let fields = 0;
    let pos = start;
    for (;;) {
      while (pos < end && (buf[pos] === SPACE || buf[pos] === TAB)) pos++;
      let v = scanNumber(buf, pos, end);
      pos = scanEnd;
      while (pos < end && (buf[pos] === SPACE || buf[pos] === TAB)) pos++;
      if (pos < end && buf[pos] !== COMMA) {
        v = Number.NaN;
        while (pos < end && buf[pos] !== COMMA) pos++;
      }
      if (fields === MAX_FIELDS) {
        this.reject('column_count', rawBytes);
        return;
      }
      fieldValues[fields++] = v;
      if (pos >= end) break;
      pos++;
    }
    const layout = this.layout ?? this.defaults.get(fields);
    if (layout === undefined || layout.slots.length !== fields) {
      this.reject('column_count', rawBytes);
      return;
    }
    const values = this.values;
    const slots = layout.slots;
    for (let f = 0; f < fields; f++) {
      const slot = slots[f]!;
      if (slot < 0) continue;
      const v = fieldValues[f]!;
      // NaN and ±Infinity (`1e999`) both fail here: only finite numbers become readings.
      if (!Number.isFinite(v)) {
        this.reject('not_a_number', rawBytes);
        return;
      }
      values[slot] = v * layout.scales[f]!;
    }
    this.c.ok++;
    this.c.bytesAccepted += rawBytes;
    this.emit({
      ax: values[0]!,
      ay: values[1]!,
      az: values[2]!,
      gx: values[3]!,
      gy: values[4]!,
      gz: values[5]!,
      mx: layout.hasMag ? values[6]! : undefined,
      my: layout.hasMag ? values[7]! : undefined,
      mz: layout.hasMag ? values[8]! : undefined,
      deviceTsMs: layout.hasTime ? values[SLOT_T]! : undefined,
    });
  }

  private header(buf: Uint8Array, start: number, end: number, rawBytes: number): void {
    const text = Buffer.from(buf.buffer, buf.byteOffset + start, end - start).toString('latin1');
    const columns = text.split(',').map((name) => {
      const key = name
        .trim()
        .replace(/^["']|["']$/g, '')
        .toLowerCase();
      return HEADER_NAMES[key] ?? 'skip';
    });
    const required: CsvColumn[] = ['ax', 'ay', 'az', 'gx', 'gy', 'gz'];
    if (!required.every((r) => columns.includes(r))) {
      this.reject('bad_header', rawBytes);
      return;
    }
    this.layout = this.compile(columns);
    this.skip(rawBytes);
  }

  private compile(columns: readonly CsvColumn[]): Layout {
    const slots = new Int8Array(columns.length);
    const scales = new Float64Array(columns.length);
    columns.forEach((col, i) => {
      slots[i] = SLOT[col];
      scales[i] =
        col === 't_us'
          ? 0.001
          : SLOT[col] >= 0 && SLOT[col] < 3
            ? this.accelScale
            : SLOT[col] < 6
              ? this.gyroScale
              : 1;
    });
    const hasMag = columns.includes('mx') && columns.includes('my') && columns.includes('mz');
    // A partial magnetometer mapping reads nothing rather than a reading with stale axes.
    if (!hasMag) {
      columns.forEach((col, i) => {
        if (SLOT[col] >= 6 && SLOT[col] <= 8) slots[i] = -1;
      });
    }
    return { slots, scales, hasMag, hasTime: columns.includes('t') || columns.includes('t_us') };
  }

  private skip(rawBytes: number): void {
    this.c.skipped++;
    this.c.bytesAccepted += rawBytes;
  }

  private reject(reason: 'column_count' | 'not_a_number' | 'bad_header', rawBytes: number): void {
    this.c.bad[reason]++;
    this.c.bytesDiscarded += rawBytes;
  }
}
