/**
 * Bytes → lines, bounded. A line is handed out as a view (buf, start, end) without the `\n` and
 * without a trailing `\r`, so `\r\n` devices work unchanged. Lines that fit inside one chunk are
 * never copied; only the tail of a chunk (a line split across reads) is copied into a fixed
 * carry buffer of `maxLineBytes`.
 *
 * Bound and overflow policy: a line longer than `maxLineBytes` is discarded whole (counted as
 * `overlong`, its bytes as discarded) and the framer resynchronises at the next newline; a
 * runaway device without newlines therefore costs at most `maxLineBytes` of memory.
 */

const LF = 0x0a;
const CR = 0x0d;

/**
 * Called per complete line: bytes [start, end) of `buf` (valid only during the call), and
 * `rawBytes`, the bytes the line took on the wire including its terminator (for accounting).
 */
export type LineHandler = (buf: Uint8Array, start: number, end: number, rawBytes: number) => void;

export class LineFramer {
  /** Lines dropped for exceeding maxLineBytes. */
  overlong = 0;
  /** Bytes of overlong lines, terminators included. */
  bytesDiscarded = 0;
  private readonly carry: Uint8Array;
  private carryLength = 0;
  /** True while skipping the rest of an overlong line. */
  private discarding = false;

  /** @param maxLineBytes longest accepted line in bytes, terminator excluded (default 512). */
  constructor(readonly maxLineBytes = 512) {
    this.carry = new Uint8Array(maxLineBytes + 1);
  }

  /** Bytes held for the next chunk: a partial line (≤ maxLineBytes + 1). */
  get pendingBytes(): number {
    return this.carryLength;
  }

  push(chunk: Uint8Array, onLine: LineHandler): void {
    let pos = 0;
    const n = chunk.length;
    while (pos < n) {
      const nl = chunk.indexOf(LF, pos);
      if (nl === -1) {
        this.keepTail(chunk, pos, n);
        return;
      }
      if (this.discarding) {
        this.bytesDiscarded += nl + 1 - pos;
        this.discarding = false;
      } else if (this.carryLength > 0) {
        const total = this.carryLength + (nl - pos);
        const last = nl > pos ? chunk[nl - 1] : this.carry[this.carryLength - 1];
        const content = last === CR ? total - 1 : total;
        this.carryLength = 0;
        if (content > this.maxLineBytes) {
          this.overlong++;
          this.bytesDiscarded += total + 1;
        } else {
          // Join the carried head with the rest of the line: total ≤ maxLineBytes + 1 fits the carry.
          this.carry.set(chunk.subarray(pos, nl), total - (nl - pos));
          onLine(this.carry, 0, content, total + 1);
        }
      } else {
        const end = nl > pos && chunk[nl - 1] === CR ? nl - 1 : nl;
        if (end - pos > this.maxLineBytes) {
          this.overlong++;
          this.bytesDiscarded += nl + 1 - pos;
        } else onLine(chunk, pos, end, nl + 1 - pos);
      }
      pos = nl + 1;
    }
  }

  /** Drop a partial line (after a reconnect); its bytes are counted as discarded. */
  reset(): void {
    this.bytesDiscarded += this.carryLength;
    this.carryLength = 0;
    this.discarding = false;
  }

  private keepTail(chunk: Uint8Array, pos: number, n: number): void {
    const len = n - pos;
    if (this.discarding) {
      this.bytesDiscarded += len;
      return;
    }
    // The carry holds maxLineBytes + 1: room for a `\r` whose `\n` arrives in the next chunk.
    if (this.carryLength + len > this.carry.length) {
      this.overlong++;
      this.bytesDiscarded += this.carryLength + len;
      this.carryLength = 0;
      this.discarding = true;
      return;
    }
    this.carry.set(chunk.subarray(pos, n), this.carryLength);
    this.carryLength += len;
  }
}
