import { EdgeloomError, ErrorCode } from '../../errors.js';
import { BinaryImuParser } from './binary.js';
import { type CsvColumn, CsvImuParser } from './parsers/csv.js';
import { JsonlImuParser } from './parsers/jsonl.js';
import type { ImuParser, ImuUnits } from './parsers/types.js';

export type { CsvColumn } from './parsers/csv.js';
export type { BadReason, ImuParser, ImuParserCounters, ImuReading, ImuUnits } from './parsers/types.js';

/** Wire formats an IMU may speak: CSV lines, JSON lines, or edgeloom binary frames (binary.ts). */
export type ImuWireFormat = 'csv' | 'jsonl' | 'binary';
export const IMU_WIRE_FORMATS: readonly ImuWireFormat[] = ['csv', 'jsonl', 'binary'];

export interface ImuParserOptions {
  readonly format: ImuWireFormat;
  /** Wire units for text formats (binary frames carry counts with fixed scales). Default g, deg/s. */
  readonly units?: ImuUnits;
  /** CSV column order; default chosen from the field count (see parsers/csv.ts). */
  readonly csvColumns?: readonly CsvColumn[];
  /** Longest text line in bytes; longer lines are discarded and counted. */
  readonly maxLineBytes?: number;
}

/** A fresh streaming parser for `options.format`. Throws E_IMU_FORMAT for an unknown format (a config error). */
export function createImuParser(options: ImuParserOptions): ImuParser {
  switch (options.format) {
    case 'csv':
      return new CsvImuParser({
        units: options.units,
        columns: options.csvColumns,
        maxLineBytes: options.maxLineBytes,
      });
    case 'jsonl':
      return new JsonlImuParser({ units: options.units, maxLineBytes: options.maxLineBytes });
    case 'binary':
      return new BinaryImuParser();
    default:
      throw new EdgeloomError(
        ErrorCode.E_IMU_FORMAT,
        `unknown IMU wire format ${JSON.stringify(options.format)}`,
        {
          where: 'imu.format',
        },
      );
  }
}
