import type { ImuSample } from '../../bus/topics.js';
import { CounterBlock, type ImuParser, type ImuParserCounters, type ImuReading } from './parsers/types.js';

/**
 * edgeloom IMU binary framing, version 1: a compact, resynchronisable frame for microcontrollers
 * that stream an MPU-6050 / ICM-20948 style IMU at 1 kHz (22 bytes per sample → 22 kB/s, well
 * inside 230400 baud).
 *
 * | offset  | size | field                                                                    |
 * |---------|------|--------------------------------------------------------------------------|
 * | 0       | 1    | sync 0xA5                                                                |
 * | 1       | 1    | sync 0x5A                                                                |
 * | 2       | 1    | len: payload length in bytes (16 for type 0x01, 22 for type 0x02)        |
 * | 3       | 1    | type: 0x01 accel+gyro, 0x02 accel+gyro+mag                               |
 * | 4       | 4    | device time, uint32 LE, µs (wraps every 71.6 min; the decoder unwraps)  |
 * | 8       | 6    | accel x, y, z: int16 LE, 2048 LSB/g (±16 g full scale)                   |
 * | 14      | 6    | gyro x, y, z: int16 LE, 16.4 LSB/(deg/s) (±2000 deg/s full scale)        |
 * | 20      | 6    | mag x, y, z: int16 LE, 0.15 µT/LSB (AK09916) — type 0x02 only            |
 * | 4 + len | 2    | CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF, no reflection, xorout 0)   |
 * |         |      | over bytes 2 .. 3 + len (len, type, payload), little-endian              |
 *
 * Scale factors are the InvenSense datasheet sensitivities (MPU-6000/6050 register map rev 4.2,
 * ACCEL_CONFIG AFS_SEL=3 and GYRO_CONFIG FS_SEL=3; AK09916 datasheet, 0.15 µT/LSB).
 *
 * Decoding and resynchronisation: the decoder scans for 0xA5 0x5A followed by a known (len, type)
 * pair; anything else is garbage, counted byte by byte. When the CRC does not match, only the
 * first sync byte is discarded and scanning resumes right after it, so a real frame that starts
 * inside a corrupted or truncated one is still found. A complete valid frame lying inside a
 * candidate wins over it, whether the candidate is still incomplete (so a truncated frame never
 * delays the next one) or complete with a CRC that matched by chance; the rule is the same either
 * way, so how the stream is chunked never changes what is decoded. A 16-bit CRC cannot rule out
 * chance: a truncated frame followed by other bytes forms a window that passes with probability
 * 2^-16 and is then decoded as a (wrong) frame; only a stronger check on the wire could prevent it.
 * Held state is bounded by one frame (28 bytes).
 */

export const SYNC_0 = 0xa5;
export const SYNC_1 = 0x5a;
export const FRAME_TYPE_ACCEL_GYRO = 0x01;
export const FRAME_TYPE_ACCEL_GYRO_MAG = 0x02;
/** Payload length per known frame type. */
export const PAYLOAD_BYTES: Readonly<Record<number, number>> = {
  [FRAME_TYPE_ACCEL_GYRO]: 16,
  [FRAME_TYPE_ACCEL_GYRO_MAG]: 22,
};
/** Sync, len, type before the payload; CRC after it. */
const HEADER_BYTES = 4;
const CRC_BYTES = 2;
export const MAX_FRAME_BYTES = HEADER_BYTES + 22 + CRC_BYTES;
const MIN_FRAME_BYTES = HEADER_BYTES + 16 + CRC_BYTES;

export const ACCEL_LSB_PER_G = 2048;
export const GYRO_LSB_PER_DPS = 16.4;
export const MAG_UT_PER_LSB = 0.15;
const UINT32_RANGE = 2 ** 32;

const CRC_TABLE: Uint16Array = (() => {
  const table = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let crc = i << 8;
    for (let b = 0; b < 8; b++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    table[i] = crc;
  }
  return table;
})();

/** CRC-16/CCITT-FALSE of bytes [start, end). Check value: "123456789" → 0x29B1. */
export function crc16CcittFalse(buf: Uint8Array, start = 0, end = buf.length): number {
  let crc = 0xffff;
  for (let i = start; i < end; i++) crc = ((crc << 8) & 0xffff) ^ CRC_TABLE[((crc >> 8) ^ buf[i]!) & 0xff]!;
  return crc;
}

/** A reading to encode: device time in µs and physical values (g, deg/s, µT; with all three mag values a type 0x02 frame is written). */
export type ImuFrameInput = Omit<ImuSample, 'tMs' | 'deviceTsMs'> & {
  /** Device time in µs; encoded modulo 2^32. */
  readonly deviceTimeUs: number;
};

/** Encode one frame (values rounded to the nearest count and clamped to int16). */
export function encodeImuFrame(input: ImuFrameInput): Buffer {
  const withMag = input.mx !== undefined && input.my !== undefined && input.mz !== undefined;
  const type = withMag ? FRAME_TYPE_ACCEL_GYRO_MAG : FRAME_TYPE_ACCEL_GYRO;
  const len = PAYLOAD_BYTES[type]!;
  const frame = Buffer.alloc(HEADER_BYTES + len + CRC_BYTES);
  frame[0] = SYNC_0;
  frame[1] = SYNC_1;
  frame[2] = len;
  frame[3] = type;
  frame.writeUInt32LE(((Math.round(input.deviceTimeUs) % UINT32_RANGE) + UINT32_RANGE) % UINT32_RANGE, 4);
  const counts = [
    input.ax * ACCEL_LSB_PER_G,
    input.ay * ACCEL_LSB_PER_G,
    input.az * ACCEL_LSB_PER_G,
    input.gx * GYRO_LSB_PER_DPS,
    input.gy * GYRO_LSB_PER_DPS,
    input.gz * GYRO_LSB_PER_DPS,
  ];
  if (withMag)
    counts.push(input.mx! / MAG_UT_PER_LSB, input.my! / MAG_UT_PER_LSB, input.mz! / MAG_UT_PER_LSB);
  counts.forEach((v, i) => {
    frame.writeInt16LE(Math.max(-32768, Math.min(32767, Math.round(v))), 8 + 2 * i);
  });
  frame.writeUInt16LE(crc16CcittFalse(frame, 2, HEADER_BYTES + len), HEADER_BYTES + len);
  return frame;
}

/** True when the frame whose sync is at `i` with payload length `len` carries a matching CRC. */
function crcMatches(buf: Uint8Array, i: number, len: number): boolean {
  const crcAt = i + HEADER_BYTES + len;
  return crc16CcittFalse(buf, i + 2, crcAt) === (buf[crcAt]! | (buf[crcAt + 1]! << 8));
}

/** Index of the first complete frame with a valid header and CRC in [from, n), or -1. */
function findValidFrame(buf: Uint8Array, from: number, n: number): number {
  for (let j = buf.indexOf(SYNC_0, from); j !== -1 && n - j >= HEADER_BYTES; j = buf.indexOf(SYNC_0, j + 1)) {
    const len = buf[j + 2]!;
    if (buf[j + 1] !== SYNC_1 || PAYLOAD_BYTES[buf[j + 3]!] !== len) continue;
    if (n - j >= HEADER_BYTES + len + CRC_BYTES && crcMatches(buf, j, len)) return j;
  }
  return -1;
}

/** Streaming decoder for the framing above. */
export class BinaryImuParser implements ImuParser {
  private readonly c = new CounterBlock();
  private readonly pending = new Uint8Array(MAX_FRAME_BYTES);
  private pendingLength = 0;
  /** Device-time unwrapping: last raw µs value and how many times it wrapped. */
  private lastRawUs = -1;
  private wraps = 0;

  push(chunk: Uint8Array, onReading: (reading: ImuReading) => void): void {
    this.c.bytesIn += chunk.length;
    let buf = chunk;
    if (this.pendingLength > 0) {
      buf = new Uint8Array(this.pendingLength + chunk.length);
      buf.set(this.pending.subarray(0, this.pendingLength), 0);
      buf.set(chunk, this.pendingLength);
      this.pendingLength = 0;
    }
    const n = buf.length;
    let pos = 0;
    while (pos < n) {
      let i = buf.indexOf(SYNC_0, pos);
      if (i === -1) i = n;
      this.c.bytesDiscarded += i - pos;
      pos = i;
      if (n - i < HEADER_BYTES) break;
      const len = buf[i + 2]!;
      if (buf[i + 1] !== SYNC_1 || PAYLOAD_BYTES[buf[i + 3]!] !== len) {
        this.c.bytesDiscarded++;
        pos = i + 1;
        continue;
      }
      const frameBytes = HEADER_BYTES + len + CRC_BYTES;
      if (n - i < frameBytes) {
        // Incomplete candidate. If a complete, valid frame starts inside it, the candidate was a
        // truncated frame or garbage: skip to the real one now instead of holding it back.
        const next = findValidFrame(buf, i + 1, n);
        if (next === -1) break;
        this.c.bytesDiscarded += next - i;
        pos = next;
        continue;
      }
      if (!crcMatches(buf, i, len)) {
        this.c.bad.bad_crc++;
        this.c.bytesDiscarded++;
        pos = i + 1;
        continue;
      }
      // A 16-bit CRC passes by chance once in 65536 tries, e.g. for a truncated frame's header plus
      // whatever follows it. A complete valid frame lying inside this one is far likelier the real
      // one (it needs a second sync, header and CRC by chance), and the incomplete path above
      // already prefers it: doing the same here makes the output independent of chunking.
      // Only a frame longer than the shortest one can hold another inside it.
      const inner = frameBytes > MIN_FRAME_BYTES ? findValidFrame(buf, i + 1, i + frameBytes) : -1;
      if (inner !== -1) {
        this.c.bytesDiscarded += inner - i;
        pos = inner;
        continue;
      }
      this.c.ok++;
      this.c.bytesAccepted += frameBytes;
      pos = i + frameBytes;
      onReading(this.decode(buf, i + HEADER_BYTES, len === PAYLOAD_BYTES[FRAME_TYPE_ACCEL_GYRO_MAG]));
    }
    // The tail [pos, n) is shorter than one frame: a partial sync, header or frame.
    if (pos < n) {
      this.pending.set(buf.subarray(pos, n), 0);
      this.pendingLength = n - pos;
    }
  }

  counters(): ImuParserCounters {
    return this.c.snapshot(this.pendingLength);
  }

  /** Drop a partial frame and the time-unwrapping state (a reconnected device may have rebooted). */
  reset(): void {
    this.c.bytesDiscarded += this.pendingLength;
    this.pendingLength = 0;
    this.lastRawUs = -1;
    this.wraps = 0;
  }

  private decode(buf: Uint8Array, p: number, withMag: boolean): ImuReading {
    const rawUs = (buf[p]! | (buf[p + 1]! << 8) | (buf[p + 2]! << 16)) + buf[p + 3]! * 0x1000000;
    // A backwards jump of more than half the range is a wrap, not a reordered frame.
    if (this.lastRawUs >= 0 && rawUs < this.lastRawUs && this.lastRawUs - rawUs > UINT32_RANGE / 2)
      this.wraps++;
    this.lastRawUs = rawUs;
    const i16 = (at: number): number => ((buf[at]! | (buf[at + 1]! << 8)) << 16) >> 16;
    return {
      ax: i16(p + 4) / ACCEL_LSB_PER_G,
      ay: i16(p + 6) / ACCEL_LSB_PER_G,
      az: i16(p + 8) / ACCEL_LSB_PER_G,
      gx: i16(p + 10) / GYRO_LSB_PER_DPS,
      gy: i16(p + 12) / GYRO_LSB_PER_DPS,
      gz: i16(p + 14) / GYRO_LSB_PER_DPS,
      mx: withMag ? i16(p + 16) * MAG_UT_PER_LSB : undefined,
      my: withMag ? i16(p + 18) * MAG_UT_PER_LSB : undefined,
      mz: withMag ? i16(p + 20) * MAG_UT_PER_LSB : undefined,
      deviceTsMs: (this.wraps * UINT32_RANGE + rawUs) / 1000,
    };
  }
}
