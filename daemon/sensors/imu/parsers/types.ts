/**
 * Shared shapes of the IMU wire parsers (CSV, JSON lines, binary frames). Parsers are pure and
 * streaming: bytes in, readings out through a callback, counters always consistent, never a throw
 * on input. Host timestamps are not their business: the source (../imu.ts) stamps readings.
 */

import type { ImuSample } from '../../../bus/topics.js';

/**
 * One reading as decoded from the wire, already in canonical units (g, deg/s, µT, ms): an
 * ImuSample before the source stamps it with host time (`deviceTsMs` is the device's own clock,
 * when the wire format carries one).
 */
export type ImuReading = Omit<ImuSample, 'tMs'>;

export type AccelUnit = 'g' | 'm_s2';
export type GyroUnit = 'deg_s' | 'rad_s';

/** Units the device sends in; parsers convert to g and deg/s. Binary frames carry raw counts instead. */
export interface ImuUnits {
  /** `g` (default) or `m_s2` (divided by standard gravity 9.80665). */
  readonly accel?: AccelUnit;
  /** `deg_s` (default) or `rad_s` (multiplied by 180/π). */
  readonly gyro?: GyroUnit;
}

/** Standard gravity, m/s² per g (CGPM 1901, exact by definition). */
export const STANDARD_GRAVITY_M_S2 = 9.80665;
export const DEG_PER_RAD = 180 / Math.PI;

/** Multipliers from wire units to canonical units. */
export function unitScales(units: ImuUnits | undefined): { accel: number; gyro: number } {
  return {
    accel: units?.accel === 'm_s2' ? 1 / STANDARD_GRAVITY_M_S2 : 1,
    gyro: units?.gyro === 'rad_s' ? DEG_PER_RAD : 1,
  };
}

/** Why a line or frame was rejected. Every rejection is counted under exactly one reason. */
export type BadReason =
  /** A line longer than the framer's bound (discarded up to the next newline). */
  | 'too_long'
  /** CSV: the number of fields does not match the column mapping. */
  | 'column_count'
  /** A field that should be a finite number is not. */
  | 'not_a_number'
  /** JSON lines: not valid JSON, or not an object. */
  | 'bad_json'
  /** A required field (ax..gz) is missing, or a vector has the wrong length. */
  | 'missing_field'
  /** CSV: a header row that does not name ax, ay, az, gx, gy, gz. */
  | 'bad_header'
  /** Binary: the CRC did not match (resynchronised at the next sync). */
  | 'bad_crc';

export const BAD_REASONS: readonly BadReason[] = [
  'too_long',
  'column_count',
  'not_a_number',
  'bad_json',
  'missing_field',
  'bad_header',
  'bad_crc',
];

/**
 * Counters, consistent at every moment:
 *   bytesIn === bytesAccepted + bytesDiscarded + pendingBytes
 * where pendingBytes are held for the next chunk (a partial line or frame, bounded).
 */
export interface ImuParserCounters {
  /** Lines or frames that became a reading. */
  readonly ok: number;
  /** Rejected lines or frames, by reason. */
  readonly bad: Readonly<Record<BadReason, number>>;
  /** Lines that were understood but carry no reading: header rows, blank lines. */
  readonly skipped: number;
  readonly bytesIn: number;
  /** Bytes of ok and skipped lines/frames, terminators included. */
  readonly bytesAccepted: number;
  /** Bytes of bad lines, overlong lines and garbage between frames. */
  readonly bytesDiscarded: number;
  /** Bytes held for the next chunk (bounded by the line or frame size limit). */
  readonly pendingBytes: number;
}

/** Streaming parser contract shared by every wire format. */
export interface ImuParser {
  /** Feed one chunk of bytes; `onReading` is called synchronously for each reading decoded. */
  push(chunk: Uint8Array, onReading: (reading: ImuReading) => void): void;
  /** Snapshot of the counters. */
  counters(): ImuParserCounters;
  /**
   * Forget partial input (a reconnect starts mid-line). Counters are kept; the pending bytes
   * are counted as discarded.
   */
  reset(): void;
}

/** Mutable counter block the parsers share. */
export class CounterBlock {
  ok = 0;
  skipped = 0;
  bytesIn = 0;
  bytesAccepted = 0;
  bytesDiscarded = 0;
  readonly bad: Record<BadReason, number> = {
    too_long: 0,
    column_count: 0,
    not_a_number: 0,
    bad_json: 0,
    missing_field: 0,
    bad_header: 0,
    bad_crc: 0,
  };

  snapshot(pendingBytes: number): ImuParserCounters {
    return {
      ok: this.ok,
      bad: { ...this.bad },
      skipped: this.skipped,
      bytesIn: this.bytesIn,
      bytesAccepted: this.bytesAccepted,
      bytesDiscarded: this.bytesDiscarded,
      pendingBytes,
    };
  }
}
