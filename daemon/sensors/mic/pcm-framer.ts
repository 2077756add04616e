import { endianness } from 'node:os';

/**
 * Re-chunks a 16-bit little-endian mono PCM byte stream into fixed frames of `frameSamples`
 * samples (512 = 32 ms at 16 kHz, Silero VAD's frame). Pipe reads split the stream anywhere, even
 * inside a sample, so the remainder (whole samples and a dangling odd byte) carries over to the
 * next chunk. Bounded: at most one partial frame is held. Pure: no I/O, no time.
 */
export class PcmFramer {
  readonly frameSamples: number;
  private readonly frameBytes: number;
  /** The frame being filled, and its bytes as seen through a byte view. */
  private frame: Int16Array;
  private frameView: Uint8Array;
  private fill = 0;
  /** Frames emitted since construction. */
  frames = 0;

  constructor(frameSamples: number) {
    if (!Number.isInteger(frameSamples) || frameSamples <= 0)
      throw new RangeError('frameSamples must be a positive integer');
    this.frameSamples = frameSamples;
    this.frameBytes = frameSamples * 2;
    this.frame = new Int16Array(frameSamples);
    this.frameView = new Uint8Array(this.frame.buffer);
  }

  /** Bytes held in the partial frame. */
  pendingBytes(): number {
    return this.fill;
  }

  /** Drop the partial frame (the stream restarted); returns how many bytes were dropped. */
  reset(): number {
    const dropped = this.fill;
    this.fill = 0;
    return dropped;
  }

  /** Feed bytes; returns the frames they completed, each a fresh Int16Array owned by the caller. */
  push(chunk: Uint8Array): Int16Array[] {
    const out: Int16Array[] = [];
    let off = 0;
    while (off < chunk.length) {
      const take = Math.min(this.frameBytes - this.fill, chunk.length - off);
      this.frameView.set(chunk.subarray(off, off + take), this.fill);
      this.fill += take;
      off += take;
      if (this.fill === this.frameBytes) {
        if (BIG_ENDIAN_HOST) swap16(this.frameView);
        out.push(this.frame);
        this.frames++;
        this.frame = new Int16Array(this.frameSamples);
        this.frameView = new Uint8Array(this.frame.buffer);
        this.fill = 0;
      }
    }
    return out;
  }
}

/** The stream is little-endian; an Int16Array reads host order, so swap on a big-endian host. */
const BIG_ENDIAN_HOST = endianness() === 'BE';

function swap16(bytes: Uint8Array): void {
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).swap16();
}
