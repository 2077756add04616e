import { describe, expect, it } from 'vitest';
import {
  ACCEL_LSB_PER_G,
  BinaryImuParser,
  crc16CcittFalse,
  encodeImuFrame,
  GYRO_LSB_PER_DPS,
  MAG_UT_PER_LSB,
} from '../../daemon/sensors/imu/binary.js';
import type { ImuReading } from '../../daemon/sensors/imu/parsers/types.js';

function decodeAll(parser: BinaryImuParser, ...chunks: Uint8Array[]): ImuReading[] {
  const out: ImuReading[] = [];
  for (const c of chunks) parser.push(c, (r) => out.push(r));
  return out;
}

const frameA = encodeImuFrame({ deviceTimeUs: 1_000, ax: 0.5, ay: -1, az: 1, gx: 100, gy: -250.5, gz: 0 });
const frameB = encodeImuFrame({
  deviceTimeUs: 2_000,
  ax: 15.9,
  ay: -16,
  az: 0,
  gx: 1990,
  gy: -1998,
  gz: 1,
  mx: 30,
  my: -45.15,
  mz: 0.3,
});

describe('CRC-16/CCITT-FALSE', () => {
  it('matches the catalogue check value', () => {
    // reveng CRC catalogue: CRC-16/IBM-3740 (alias CCITT-FALSE), check=0x29b1.
    expect(crc16CcittFalse(Buffer.from('123456789'))).toBe(0x29b1);
  });
});

describe('binary framing', () => {
  it('lays out a type 0x01 frame as documented', () => {
    expect(frameA).toHaveLength(22);
    expect([...frameA.subarray(0, 4)]).toEqual([0xa5, 0x5a, 16, 0x01]);
    expect(frameA.readUInt32LE(4)).toBe(1000);
    expect(frameA.readInt16LE(8)).toBe(0.5 * ACCEL_LSB_PER_G);
    expect(frameA.readInt16LE(14)).toBe(Math.round(100 * GYRO_LSB_PER_DPS));
    expect(frameA.readUInt16LE(20)).toBe(crc16CcittFalse(frameA, 2, 20));
    expect(frameB).toHaveLength(28);
    expect(frameB[3]).toBe(0x02);
  });

  it('round-trips within one count of quantisation', () => {
    const [a, b] = decodeAll(new BinaryImuParser(), Buffer.concat([frameA, frameB]));
    expect(a!.deviceTsMs).toBe(1);
    expect(a!.ax).toBe(0.5);
    expect(a!.ay).toBe(-1);
    expect(a!.gy).toBeCloseTo(-250.5, 1);
    expect(a!.mx).toBeUndefined();
    expect(Math.abs(b!.ax - 15.9)).toBeLessThanOrEqual(0.5 / ACCEL_LSB_PER_G);
    expect(b!.ay).toBe(-16);
    expect(Math.abs(b!.gx - 1990)).toBeLessThanOrEqual(0.5 / GYRO_LSB_PER_DPS);
    expect(Math.abs(b!.gy + 1998)).toBeLessThanOrEqual(0.5 / GYRO_LSB_PER_DPS);
    expect(Math.abs(b!.my! + 45.15)).toBeLessThanOrEqual(MAG_UT_PER_LSB / 2);
    expect(b!.deviceTsMs).toBe(2);
  });

  it('clamps out-of-range values to int16 instead of wrapping', () => {
    const [r] = decodeAll(
      new BinaryImuParser(),
      encodeImuFrame({ deviceTimeUs: 0, ax: 100, ay: -100, az: 0, gx: 5000, gy: 0, gz: 0 }),
    );
    expect(r!.ax).toBeCloseTo(32767 / ACCEL_LSB_PER_G, 9);
    expect(r!.ay).toBe(-16);
    expect(r!.gx).toBeCloseTo(32767 / GYRO_LSB_PER_DPS, 9);
  });

  it('counts a bad CRC and recovers the next frame', () => {
    const bad = Buffer.from(frameA);
    bad[10]! ^= 0x40;
    const p = new BinaryImuParser();
    const r = decodeAll(p, Buffer.concat([bad, frameB]));
    expect(r).toHaveLength(1);
    expect(r[0]!.deviceTsMs).toBe(2);
    const c = p.counters();
    expect(c.bad.bad_crc).toBeGreaterThanOrEqual(1);
    expect(c.bytesAccepted).toBe(frameB.length);
    expect(c.bytesDiscarded).toBe(bad.length);
  });

  it('recovers a frame that starts inside a truncated one', () => {
    const p = new BinaryImuParser();
    const r = decodeAll(p, Buffer.concat([frameA.subarray(0, 12), frameB]));
    expect(r.map((x) => x.deviceTsMs)).toEqual([2]);
    expect(p.counters().bytesDiscarded).toBe(12);
  });

  it('does not hold back a complete frame behind a longer truncated header', () => {
    // A 28-byte type 0x02 header cut after 4 bytes, then a 22-byte frame: only 26 bytes in hand.
    const p = new BinaryImuParser();
    const r = decodeAll(p, Buffer.concat([frameB.subarray(0, 4), frameA]));
    expect(r.map((x) => x.deviceTsMs)).toEqual([1]);
    expect(p.counters()).toMatchObject({ bytesDiscarded: 4, pendingBytes: 0 });
  });

  it('skips garbage between frames, counting every byte', () => {
    const garbage = Buffer.from([0x00, 0xa5, 0x00, 0xa5, 0x5a, 0xff, 0x01, 0x5a, 0xa5]);
    const p = new BinaryImuParser();
    const r = decodeAll(p, Buffer.concat([garbage, frameA, garbage, frameB, garbage]));
    expect(r.map((x) => x.deviceTsMs)).toEqual([1, 2]);
    const c = p.counters();
    expect(c.ok).toBe(2);
    expect(c.bytesDiscarded + c.pendingBytes).toBe(3 * garbage.length);
    expect(c.bytesAccepted + c.bytesDiscarded + c.pendingBytes).toBe(c.bytesIn);
  });

  it('decodes identically when split at every byte offset', () => {
    const stream = Buffer.concat([Buffer.from([1, 2, 0xa5]), frameA, frameB, Buffer.from([0xa5, 0x5a])]);
    const expected = decodeAll(new BinaryImuParser(), stream);
    expect(expected).toHaveLength(2);
    for (let cut = 0; cut <= stream.length; cut++) {
      for (let cut2 = cut; cut2 <= stream.length; cut2 += 5) {
        const p = new BinaryImuParser();
        const r = decodeAll(p, stream.subarray(0, cut), stream.subarray(cut, cut2), stream.subarray(cut2));
        expect(r).toEqual(expected);
      }
    }
  });

  it('unwraps the 32-bit µs device clock', () => {
    const p = new BinaryImuParser();
    const base = { ax: 0, ay: 0, az: 1, gx: 0, gy: 0, gz: 0 };
    const r = decodeAll(
      p,
      encodeImuFrame({ ...base, deviceTimeUs: 2 ** 32 - 1000 }),
      encodeImuFrame({ ...base, deviceTimeUs: 2 ** 32 + 1000 }),
    );
    expect(r[1]!.deviceTsMs! - r[0]!.deviceTsMs!).toBe(2);
  });
});
