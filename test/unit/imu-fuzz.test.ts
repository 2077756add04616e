import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BinaryImuParser, crc16CcittFalse, encodeImuFrame } from '../../daemon/sensors/imu/binary.js';
import { createImuParser, type ImuWireFormat } from '../../daemon/sensors/imu/parser.js';
import type { ImuParser, ImuReading } from '../../daemon/sensors/imu/parsers/types.js';

/** Split `data` at the given (sorted, deduplicated) offsets. */
function chunk(data: Uint8Array, cuts: number[]): Uint8Array[] {
  const offsets = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const o of offsets) {
    out.push(data.subarray(prev, o));
    prev = o;
  }
  out.push(data.subarray(prev));
  return out;
}

function run(parser: ImuParser, chunks: Uint8Array[]): ImuReading[] {
  const out: ImuReading[] = [];
  for (const c of chunks) parser.push(c, (r) => out.push(r));
  return out;
}

function expectConsistent(parser: ImuParser, readings: number): void {
  const c = parser.counters();
  expect(c.ok).toBe(readings);
  expect(c.bytesAccepted + c.bytesDiscarded + c.pendingBytes).toBe(c.bytesIn);
  expect(c.pendingBytes).toBeLessThanOrEqual(1025);
  for (const v of Object.values(c.bad)) expect(v).toBeGreaterThanOrEqual(0);
}

/** Length of the complete, CRC-valid frame starting at `i` and ending by `end`, or 0. */
function validFrameAt(b: Uint8Array, i: number, end: number): number {
  if (i + 4 > end || b[i] !== 0xa5 || b[i + 1] !== 0x5a) return 0;
  const len = b[i + 2]!;
  if (!((len === 16 && b[i + 3] === 0x01) || (len === 22 && b[i + 3] === 0x02))) return 0;
  const crcAt = i + 4 + len;
  if (crcAt + 2 > end) return 0;
  return crc16CcittFalse(b, i + 2, crcAt) === (b[crcAt]! | (b[crcAt + 1]! << 8)) ? len + 6 : 0;
}

/**
 * The framing rule as a plain scan of the whole stream, independent of the parser's streaming state:
 * a complete CRC-valid frame is taken unless another one lies inside it. Returns [start, length] pairs.
 */
function referenceFrames(b: Uint8Array): [number, number][] {
  const out: [number, number][] = [];
  let i = 0;
  while (i < b.length) {
    const w = validFrameAt(b, i, b.length);
    let inner = false;
    for (let j = i + 1; w > 0 && j < i + w && !inner; j++) inner = validFrameAt(b, j, i + w) > 0;
    if (w > 0 && !inner) {
      out.push([i, w]);
      i += w;
    } else i++;
  }
  return out;
}

function reencode(readings: ImuReading[]): Buffer[] {
  return readings.map((o) =>
    encodeImuFrame({
      deviceTimeUs: o.deviceTsMs! * 1000,
      ax: o.ax,
      ay: o.ay,
      az: o.az,
      gx: o.gx,
      gy: o.gy,
      gz: o.gz,
      ...(o.mx === undefined ? {} : { mx: o.mx, my: o.my, mz: o.mz }),
    }),
  );
}

const MAX_BINARY_FRAME = 28;
const cuts = fc.array(fc.nat({ max: 4096 }), { maxLength: 12 });
/** Finite doubles whose String() form is a plain decimal the wire could carry. */
// +0: the wire cannot tell -0 from 0 (String(-0) === '0').
const value = fc.double({ noNaN: true, noDefaultInfinity: true, min: -1e6, max: 1e6 }).map((v) => v + 0);
const vec3 = fc.tuple(value, value, value);
const reading = fc.record({ a: vec3, g: vec3, t: fc.option(fc.nat({ max: 2 ** 40 }), { nil: undefined }) });
/** A line no parser accepts: starts with `@`, no newline inside. */
const garbageLine = fc.string({ maxLength: 80 }).map((s) => `@${s.replace(/[\r\n]/g, '')}\n`);

describe('fuzz: random bytes never break a parser', () => {
  for (const format of ['csv', 'jsonl', 'binary'] as ImuWireFormat[]) {
    it(`${format}: never throws, counters stay consistent`, () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 3000 }), cuts, (bytes, at) => {
          const p = createImuParser({ format });
          const out = run(p, chunk(bytes, at));
          expectConsistent(p, out.length);
          p.reset();
          expect(p.counters().pendingBytes).toBe(0);
          expectConsistent(p, out.length);
        }),
        { numRuns: 1500 },
      );
    });
  }

  it('text parsers survive printable noise with newlines and overlong lines', () => {
    const noise = fc.array(
      fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom('\n', '\r\n', ',', '{"ax":', '[', '1e9')),
      {
        maxLength: 200,
      },
    );
    fc.assert(
      fc.property(noise, cuts, fc.constantFrom<ImuWireFormat>('csv', 'jsonl'), (parts, at, format) => {
        const p = createImuParser({ format, maxLineBytes: 64 });
        const out = run(p, chunk(Buffer.from(parts.join('')), at));
        expectConsistent(p, out.length);
      }),
      { numRuns: 1500 },
    );
  });
});

describe('fuzz: every valid line or frame embedded in garbage is recovered exactly', () => {
  it('csv', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(reading, fc.array(garbageLine, { maxLength: 2 })), { maxLength: 40 }),
        cuts,
        (items, at) => {
          let text = 'ax,ay,az,gx,gy,gz,t\n';
          for (const [r, garbage] of items) {
            text += garbage.join('');
            text += `${[...r.a, ...r.g].map(String).join(',')},${r.t ?? 0}\r\n`;
          }
          const p = createImuParser({ format: 'csv' });
          const out = run(p, chunk(Buffer.from(text), at));
          expect(out.map((o) => [o.ax, o.ay, o.az, o.gx, o.gy, o.gz, o.deviceTsMs])).toEqual(
            items.map(([r]) => [...r.a, ...r.g, r.t ?? 0]),
          );
          expectConsistent(p, items.length);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('jsonl (flat and nested, compact and spaced: fast path and fallback agree with JSON)', () => {
    const shape = fc.constantFrom('flat', 'nested', 'extra');
    fc.assert(
      fc.property(
        fc.array(fc.tuple(reading, shape, fc.boolean(), fc.array(garbageLine, { maxLength: 2 })), {
          maxLength: 30,
        }),
        cuts,
        (items, at) => {
          let text = '';
          for (const [r, kind, spaced, garbage] of items) {
            text += garbage.join('');
            const obj =
              kind === 'nested'
                ? { accel: r.a, gyro: r.g, t_ms: r.t }
                : { ax: r.a[0], ay: r.a[1], az: r.a[2], gx: r.g[0], gy: r.g[1], gz: r.g[2], t: r.t };
            const withExtra = kind === 'extra' ? { id: 'imu"0', ...obj, ok: [true, null] } : obj;
            text += `${JSON.stringify(withExtra, null, spaced ? 1 : undefined).replace(/\n/g, ' ')}\n`;
          }
          const p = createImuParser({ format: 'jsonl' });
          const out = run(p, chunk(Buffer.from(text), at));
          expect(out.map((o) => [o.ax, o.ay, o.az, o.gx, o.gy, o.gz, o.deviceTsMs])).toEqual(
            items.map(([r]) => [...r.a, ...r.g, r.t]),
          );
          expectConsistent(p, items.length);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('binary frames among random garbage and corrupted frames', () => {
    const frame = fc.record({
      deviceTimeUs: fc.nat({ max: 2 ** 31 }),
      counts: fc.array(fc.integer({ min: -32768, max: 32767 }), { minLength: 9, maxLength: 9 }),
      mag: fc.boolean(),
    });
    const item = fc.oneof(
      frame.map((f) => ({ kind: 'frame' as const, f })),
      fc.uint8Array({ maxLength: 60 }).map((g) => ({ kind: 'garbage' as const, g })),
      fc.tuple(frame, fc.nat(), fc.integer({ min: 1, max: 255 })).map(([f, at, xor]) => ({
        kind: 'corrupt' as const,
        f,
        at,
        xor,
      })),
      fc.tuple(frame, fc.nat()).map(([f, keep]) => ({ kind: 'truncated' as const, f, keep })),
    );
    const encode = (f: { deviceTimeUs: number; counts: number[]; mag: boolean }): Buffer => {
      const c = f.counts;
      return encodeImuFrame({
        deviceTimeUs: f.deviceTimeUs,
        ax: c[0]! / 2048,
        ay: c[1]! / 2048,
        az: c[2]! / 2048,
        gx: c[3]! / 16.4,
        gy: c[4]! / 16.4,
        gz: c[5]! / 16.4,
        ...(f.mag ? { mx: c[6]! * 0.15, my: c[7]! * 0.15, mz: c[8]! * 0.15 } : {}),
      });
    };
    fc.assert(
      fc.property(fc.array(item, { maxLength: 40 }), cuts, (items, at) => {
        const parts: Buffer[] = [];
        const intactStarts: number[] = [];
        let offset = 0;
        for (const it of items) {
          let b: Buffer;
          if (it.kind === 'garbage') b = Buffer.from(it.g);
          else if (it.kind === 'frame') {
            b = encode(it.f);
            intactStarts.push(offset);
          } else if (it.kind === 'corrupt') {
            // A one-byte error is always caught by the CRC (or breaks the header).
            b = encode(it.f);
            b[it.at % b.length]! ^= it.xor;
          } else {
            // Both CRC bytes missing, so whatever follows completes the window with a chance CRC
            // match of 2^-16 (one missing byte would make it 2^-8 and the strict check below rare).
            const whole = encode(it.f);
            b = whole.subarray(0, it.keep % (whole.length - 2));
          }
          parts.push(b);
          offset += b.length;
        }
        const stream = Buffer.concat(parts);
        const p = new BinaryImuParser();
        const out = run(p, chunk(stream, at));
        // Compare on the wire: re-encoding what was decoded must give the exact bytes of each frame.
        const ref = referenceFrames(stream);
        expect(reencode(out).map((b) => b.toString('hex'))).toEqual(
          ref.map(([s, w]) => stream.subarray(s, s + w).toString('hex')),
        );
        // A 16-bit CRC passes by chance (p = 2^-16) on a window that is not an intact frame, typically
        // a truncated frame's header plus what follows it. Without such a window, exactly the intact
        // frames must come out; with one, the parser must still follow the rule above.
        const intact = new Set(intactStarts);
        let chance = false;
        for (let i = 0; i < stream.length && !chance; i++)
          chance = !intact.has(i) && validFrameAt(stream, i, stream.length) > 0;
        if (!chance) expect(ref.map(([s]) => s)).toEqual(intactStarts);
        expectConsistent(p, ref.length);
        expect(p.counters().pendingBytes).toBeLessThan(MAX_BINARY_FRAME);
      }),
      { numRuns: 1500 },
    );
  });
});

describe('binary regressions found by the fuzzer', () => {
  /** Decode `stream` whole and split at every offset; all must give the same frames. */
  function decodeEverySplit(stream: Buffer): string[] {
    const whole = reencode(run(new BinaryImuParser(), [stream])).map((b) => b.toString('hex'));
    for (let cut = 1; cut < stream.length; cut++) {
      const p = new BinaryImuParser();
      const out = run(p, [stream.subarray(0, cut), stream.subarray(cut)]);
      expect(reencode(out).map((b) => b.toString('hex'))).toEqual(whole);
      expectConsistent(p, whole.length);
    }
    return whole;
  }

  it('seed 607983056: a truncated frame plus a corrupted one can pass the 16-bit CRC by chance', () => {
    // 14 bytes of a mag frame (its header claims 28) followed by a frame whose len byte was hit.
    const truncated = encodeImuFrame({
      deviceTimeUs: 1199433964,
      ax: -31102 / 2048,
      ay: -4074 / 2048,
      az: -7075 / 2048,
      gx: 0,
      gy: 0,
      gz: 0,
      mx: 0,
      my: 0,
      mz: 0,
    }).subarray(0, 14);
    const corrupt = encodeImuFrame({
      deviceTimeUs: 9798962,
      ax: -1202 / 2048,
      ay: 15198 / 2048,
      az: 29840 / 2048,
      gx: 0,
      gy: 0,
      gz: 0,
    });
    corrupt[2]! ^= 200;
    const stream = Buffer.concat([truncated, corrupt]);
    // The 28-byte window at 0 carries a matching CRC: not a parser bug, a 1-in-65536 collision.
    expect(crc16CcittFalse(stream, 2, 26)).toBe(stream.readUInt16LE(26));
    expect(referenceFrames(stream)).toEqual([[0, 28]]);
    expect(decodeEverySplit(stream)).toEqual([stream.subarray(0, 28).toString('hex')]);
  });

  it('a real frame inside a chance-valid window wins however the stream is chunked', () => {
    const real = encodeImuFrame({ deviceTimeUs: 5_000, ax: 1, ay: -2, az: 0.5, gx: 10, gy: -20, gz: 30 });
    // A truncated mag header, the real 22-byte frame, then the two bytes that make the 28-byte
    // window starting at the truncated header pass its CRC.
    const window = Buffer.concat([Buffer.from([0xa5, 0x5a, 22, 0x02]), real, Buffer.alloc(2)]);
    window.writeUInt16LE(crc16CcittFalse(window, 2, 26), 26);
    expect(validFrameAt(window, 0, window.length)).toBe(28);
    expect(decodeEverySplit(window)).toEqual([real.toString('hex')]);
  });
});
