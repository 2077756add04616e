import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BinaryImuParser, encodeImuFrame } from '../../daemon/sensors/imu-binary.js';
import { createImuParser, type ImuWireFormat } from '../../daemon/sensors/imu-parser.js';
import type { ImuParser, ImuReading } from '../../daemon/sensors/imu-parsers/types.js';

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
        const expected: Buffer[] = [];
        for (const it of items) {
          if (it.kind === 'garbage') parts.push(Buffer.from(it.g));
          else if (it.kind === 'frame') {
            const b = encode(it.f);
            parts.push(b);
            expected.push(b);
          } else if (it.kind === 'corrupt') {
            const b = encode(it.f);
            b[it.at % b.length]! ^= it.xor;
            parts.push(b);
          } else {
            // At least 3 bytes short, so random garbage cannot complete it with a valid CRC by chance.
            const b = encode(it.f);
            parts.push(b.subarray(0, it.keep % (b.length - 2)));
          }
        }
        const p = new BinaryImuParser();
        const out = run(p, chunk(Buffer.concat(parts), at));
        // Compare on the wire: re-encoding what was decoded must give the very frames that were sent intact.
        const reencoded = out.map((o) =>
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
        expect(Buffer.concat(reencoded).equals(Buffer.concat(expected))).toBe(true);
        expectConsistent(p, expected.length);
        expect(p.counters().pendingBytes).toBeLessThan(28);
      }),
      { numRuns: 1500 },
    );
  });
});
