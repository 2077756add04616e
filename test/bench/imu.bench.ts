/**
 * IMU wire parsers vs the obvious baseline, on the same bytes fed in 4 KB chunks (a USB CDC read
 * is at most a few KB): edgeloom parses numbers straight from bytes and keeps partial lines in a
 * fixed buffer; the baseline decodes each chunk to a string, splits lines and fields, and calls
 * Number()/JSON.parse. Both build one reading object per line. Reported as lines/s and ratios.
 */
import { BinaryImuParser, encodeImuFrame } from '../../daemon/sensors/imu/binary.js';
import { createImuParser, type ImuWireFormat } from '../../daemon/sensors/imu/parser.js';
import type { BenchTarget } from './run.js';

export const name = 'imu';

export const targets: readonly BenchTarget[] = [
  {
    figure: 'csv_ratio_vs_naive',
    min: 1,
    quick: { min: 0.8 },
    why: 'the CSV serial parser is no slower than split + Number on the same lines',
  },
  {
    figure: 'jsonl_ratio_vs_naive',
    min: 1,
    quick: { min: 0.8 },
    why: 'the JSON-lines parser is no slower than split + JSON.parse on the same lines',
  },
];

const CHUNK_BYTES = 4096;

function chunks(data: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < data.length; i += CHUNK_BYTES) out.push(data.subarray(i, i + CHUNK_BYTES));
  return out;
}

/** Deterministic pseudo-random readings (an LCG, so every run parses the same text). */
function makeReadings(count: number): number[][] {
  let seed = 12345;
  const rnd = (): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const out: number[][] = [];
  for (let i = 0; i < count; i++) {
    out.push([
      +(rnd() * 4 - 2).toFixed(4),
      +(rnd() * 4 - 2).toFixed(4),
      +(rnd() * 2).toFixed(4),
      +(rnd() * 500 - 250).toFixed(3),
      +(rnd() * 500 - 250).toFixed(3),
      +(rnd() * 500 - 250).toFixed(3),
      i,
    ]);
  }
  return out;
}

interface NaiveReading {
  ax: number;
  ay: number;
  az: number;
  gx: number;
  gy: number;
  gz: number;
  deviceTsMs: number | undefined;
}

function naiveCsv(parts: Buffer[], sink: (r: NaiveReading) => void): void {
  let carry = '';
  for (const part of parts) {
    const lines = (carry + part.toString()).split('\n');
    carry = lines.pop() ?? '';
    for (const line of lines) {
      const v = line.split(',').map(Number);
      sink({ ax: v[0]!, ay: v[1]!, az: v[2]!, gx: v[3]!, gy: v[4]!, gz: v[5]!, deviceTsMs: v[6] });
    }
  }
}

function naiveJsonl(parts: Buffer[], sink: (r: NaiveReading) => void): void {
  let carry = '';
  for (const part of parts) {
    const lines = (carry + part.toString()).split('\n');
    carry = lines.pop() ?? '';
    for (const line of lines) {
      const o = JSON.parse(line) as Record<string, number>;
      sink({ ax: o.ax!, ay: o.ay!, az: o.az!, gx: o.gx!, gy: o.gy!, gz: o.gz!, deviceTsMs: o.t_ms });
    }
  }
}

/** Best of `rounds` timings of fn (the shared machine is noisy; the minimum is the least disturbed). */
function bestMs(rounds: number, fn: () => number, expected: number): number {
  let best = Number.POSITIVE_INFINITY;
  for (let r = 0; r < rounds; r++) {
    const t0 = performance.now();
    const n = fn();
    const dt = performance.now() - t0;
    if (n !== expected) throw new Error(`parsed ${n} of ${expected} lines`);
    best = Math.min(best, dt);
  }
  return best;
}

function ours(format: ImuWireFormat, parts: Buffer[]): number {
  const p = format === 'binary' ? new BinaryImuParser() : createImuParser({ format });
  let n = 0;
  let checksum = 0;
  for (const part of parts)
    p.push(part, (r) => {
      n++;
      checksum += r.ax;
    });
  if (!Number.isFinite(checksum)) throw new Error('bad checksum');
  return n;
}

function theirs(kind: 'csv' | 'jsonl', parts: Buffer[]): number {
  let n = 0;
  let checksum = 0;
  const sink = (r: NaiveReading): void => {
    n++;
    checksum += r.ax;
  };
  if (kind === 'csv') naiveCsv(parts, sink);
  else naiveJsonl(parts, sink);
  if (!Number.isFinite(checksum)) throw new Error('bad checksum');
  return n;
}

export async function bench({
  quick,
}: {
  quick: boolean;
}): Promise<Record<string, number | string | boolean>> {
  const count = quick ? 20_000 : 200_000;
  const rounds = quick ? 3 : 5;
  const readings = makeReadings(count);
  const csv = chunks(Buffer.from(readings.map((v) => `${v.join(',')}\n`).join('')));
  const jsonl = chunks(
    Buffer.from(
      readings
        .map(
          (v) =>
            `{"ax":${v[0]},"ay":${v[1]},"az":${v[2]},"gx":${v[3]},"gy":${v[4]},"gz":${v[5]},"t_ms":${v[6]}}\n`,
        )
        .join(''),
    ),
  );
  const binary = chunks(
    Buffer.concat(
      readings.map((v) =>
        encodeImuFrame({
          deviceTimeUs: v[6]! * 1000,
          ax: v[0]!,
          ay: v[1]!,
          az: v[2]!,
          gx: v[3]!,
          gy: v[4]!,
          gz: v[5]!,
        }),
      ),
    ),
  );

  // Warm both sides up so the JIT has compiled the hot loops before timing.
  ours('csv', csv);
  theirs('csv', csv);
  ours('jsonl', jsonl);
  theirs('jsonl', jsonl);
  ours('binary', binary);

  const csvMs = bestMs(rounds, () => ours('csv', csv), count);
  const csvNaiveMs = bestMs(rounds, () => theirs('csv', csv), count);
  const jsonlMs = bestMs(rounds, () => ours('jsonl', jsonl), count);
  const jsonlNaiveMs = bestMs(rounds, () => theirs('jsonl', jsonl), count);
  const binaryMs = bestMs(rounds, () => ours('binary', binary), count);
  const perS = (ms: number): number => Math.round((count / ms) * 1000);
  return {
    lines: count,
    chunk_bytes: CHUNK_BYTES,
    csv_lines_per_s: perS(csvMs),
    csv_naive_lines_per_s: perS(csvNaiveMs),
    csv_ratio_vs_naive: +(csvNaiveMs / csvMs).toFixed(2),
    jsonl_lines_per_s: perS(jsonlMs),
    jsonl_naive_lines_per_s: perS(jsonlNaiveMs),
    jsonl_ratio_vs_naive: +(jsonlNaiveMs / jsonlMs).toFixed(2),
    binary_frames_per_s: perS(binaryMs),
  };
}
