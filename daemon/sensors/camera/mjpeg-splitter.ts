/**
 * Splits an MJPEG byte stream (concatenated JPEGs, as `ffmpeg -f mjpeg -`, `rpicam-vid --codec
 * mjpeg -o -` and `nvjpegenc ! fdsink` write them) into whole JPEG images. Pure: no I/O, no
 * timers; the camera source feeds it stdout chunks.
 *
 * Why it parses markers instead of searching for FFD9: an EOI byte pair can legally appear inside
 * a marker segment (an EXIF thumbnail in APP1 is a complete JPEG with its own SOI/EOI). So the
 * header is walked segment by segment using each segment's 2-byte length (ITU-T T.81 §B.1.1.4)
 * until SOS. In the entropy-coded data that follows, a 0xFF data byte is always followed by a
 * stuffed 0x00 (T.81 §B.1.1.5), and RSTn markers carry no length, so the first FF followed by
 * anything else is a real marker: D9 ends the image, D8 means the image was cut short, and any
 * other marker (DHT, SOS between the scans of a progressive JPEG) goes back to segment walking.
 * Width and height come from the SOF segment on the way past, so frames carry them undecoded.
 *
 * Memory is bounded: the only retained state is the list of slices of the frame in progress, at
 * most `maxFrameBytes` long. Overflow policy: a frame growing past the bound is refused (counted as
 * `oversized`) and the splitter resynchronises at the next SOI. The slices are joined once, with a
 * single Buffer.concat, when the EOI arrives (no per-chunk concatenation).
 */

/** One complete JPEG found in the stream. */
export interface SplitFrame {
  /** SOI (FFD8) to EOI (FFD9) inclusive; a fresh buffer owned by the receiver. */
  readonly jpeg: Buffer;
  /** From the SOF header, in pixels. */
  readonly width: number;
  readonly height: number;
}

export interface MjpegSplitterOptions {
  /** Largest accepted JPEG, bytes (default 4 MiB). Larger frames are refused and counted. */
  readonly maxFrameBytes?: number;
}

export interface MjpegSplitterCounters {
  /** Whole frames emitted. */
  frames: number;
  /** Bytes of the emitted frames. */
  frameBytes: number;
  /** Every byte pushed. */
  bytesIn: number;
  /** Bytes skipped while looking for an SOI (between frames, or after a refused frame). */
  garbageBytes: number;
  /** Frames abandoned because a new SOI arrived before their EOI. */
  truncated: number;
  /** Frames refused for growing past maxFrameBytes. */
  oversized: number;
  /** Frames abandoned for a malformed header (bad segment length, no FF where a marker must be, no SOF). */
  corrupt: number;
  /** Bytes of the abandoned frames (truncated, oversized, corrupt) up to the point they were abandoned. */
  discardedBytes: number;
}

export const DEFAULT_MAX_FRAME_BYTES = 4 * 1024 * 1024; // 4 MiB: a 1080p MJPEG frame is ~0.2–0.6 MB

const SOI = Buffer.from([0xff, 0xd8]);

// Parser states. Header states walk marker segments; entropy states scan for the next marker.
const SEEK = 0; // looking for FF D8
const SEEK_FF = 1; // saw FF while seeking
const MARKER = 2; // header: expecting FF
const MARKER_CODE = 3; // header: saw FF, expecting the marker code
const LEN_HI = 4;
const LEN_LO = 5;
const SEGMENT = 6; // skipping a segment's body (collecting the SOF fields on the way)
const ENTROPY = 7;
const ENTROPY_FF = 8;

/** SOFn markers that carry frame dimensions: C0–CF except DHT (C4), JPG (C8) and DAC (CC). */
function isSof(code: number): boolean {
  return code >= 0xc0 && code <= 0xcf && code !== 0xc4 && code !== 0xc8 && code !== 0xcc;
}

export class MjpegSplitter {
  readonly maxFrameBytes: number;
  private readonly c: MjpegSplitterCounters = {
    frames: 0,
    frameBytes: 0,
    bytesIn: 0,
    garbageBytes: 0,
    truncated: 0,
    oversized: 0,
    corrupt: 0,
    discardedBytes: 0,
  };

  private state = SEEK;
  /** Slices of the frame in progress from earlier chunks (the first is always the SOI). */
  private parts: Buffer[] = [];
  private partsBytes = 0;
  /** Marker code of the segment being read. */
  private segCode = 0;
  private segLenHi = 0;
  /** Body bytes of the current segment still to skip. */
  private segRemaining = 0;
  /** SOF fields collected so far (precision, height, width = 5 bytes). */
  private readonly sof = new Uint8Array(5);
  private sofFill = 0;
  private width = 0;
  private height = 0;

  constructor(options: MjpegSplitterOptions = {}) {
    this.maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  }

  /** A snapshot of the counters. */
  counters(): Readonly<MjpegSplitterCounters> {
    return { ...this.c };
  }

  /**
   * Input bytes held and not yet accounted as frame, garbage or discarded: the frame in progress
   * (always ≤ maxFrameBytes between calls) plus a trailing FF that may start an SOI. So
   * `bytesIn = frameBytes + garbageBytes + discardedBytes + bufferedBytes()` at all times.
   */
  bufferedBytes(): number {
    return this.state === SEEK_FF ? 1 : this.partsBytes;
  }

  /** Forget the frame in progress (the producer restarted: its tail will never come). */
  reset(): void {
    if (this.state === SEEK_FF) this.c.garbageBytes += 1;
    else if (this.state !== SEEK) this.abandon('truncated', this.partsBytes);
    this.state = SEEK;
  }

  /** Feed one chunk; returns the frames it completed, in order. */
  push(chunk: Buffer): SplitFrame[] {
    const out: SplitFrame[] = [];
    const n = chunk.length;
    this.c.bytesIn += n;
    let i = 0;
    /** Start, in this chunk, of the frame in progress (0 when it began in an earlier chunk). */
    let frameStart = 0;
    while (i < n) {
      switch (this.state) {
        case SEEK: {
          const ff = chunk.indexOf(0xff, i);
          if (ff < 0) {
            this.c.garbageBytes += n - i;
            i = n;
          } else {
            this.c.garbageBytes += ff - i;
            i = ff + 1;
            this.state = SEEK_FF;
          }
          break;
        }
        case SEEK_FF: {
          const b = chunk[i]!;
          if (b === 0xd8) {
            this.beginFrame();
            i++;
            frameStart = i;
          } else {
            // The FF was garbage; re-examine b itself (it may be the FF of an SOI).
            this.c.garbageBytes += 1;
            this.state = SEEK;
          }
          break;
        }
        case MARKER: {
          if (chunk[i] !== 0xff) {
            this.abandonInChunk('corrupt', i - frameStart);
            break;
          }
          i++;
          this.state = MARKER_CODE;
          break;
        }
        case MARKER_CODE:
        case ENTROPY_FF: {
          const code = chunk[i]!;
          const inEntropy = this.state === ENTROPY_FF;
          i++;
          if (code === 0xff) break; // fill byte; stay
          if (inEntropy && (code === 0x00 || (code >= 0xd0 && code <= 0xd7))) {
            this.state = ENTROPY; // stuffed data byte or RSTn
          } else if (code === 0xd9) {
            if (!inEntropy || this.width === 0) {
              this.abandonInChunk('corrupt', i - frameStart);
              break;
            }
            const frame = this.finishFrame(chunk, frameStart, i);
            if (frame !== undefined) out.push(frame);
            this.state = SEEK;
          } else if (code === 0xd8) {
            // A new image started before this one ended: the producer cut the frame short.
            this.abandon('truncated', this.partsBytes + (i - frameStart) - 2);
            this.beginFrame();
            frameStart = i;
          } else if ((code >= 0xd0 && code <= 0xd7) || code === 0x01) {
            this.state = MARKER; // standalone markers without a length
          } else {
            this.segCode = code;
            this.state = LEN_HI;
          }
          break;
        }
        case LEN_HI:
          this.segLenHi = chunk[i++]!;
          this.state = LEN_LO;
          break;
        case LEN_LO: {
          const len = (this.segLenHi << 8) | chunk[i++]!;
          if (len < 2 || (isSof(this.segCode) && len < 7)) {
            this.abandonInChunk('corrupt', i - frameStart);
            break;
          }
          this.segRemaining = len - 2;
          this.sofFill = 0;
          this.state = SEGMENT;
          if (this.segRemaining === 0) this.endSegment();
          break;
        }
        case SEGMENT: {
          if (isSof(this.segCode) && this.sofFill < 5) {
            this.sof[this.sofFill++] = chunk[i++]!;
            this.segRemaining--;
            if (this.sofFill === 5) {
              this.height = (this.sof[1]! << 8) | this.sof[2]!;
              this.width = (this.sof[3]! << 8) | this.sof[4]!;
            }
          } else {
            const skip = Math.min(this.segRemaining, n - i);
            i += skip;
            this.segRemaining -= skip;
          }
          if (this.segRemaining === 0) this.endSegment();
          break;
        }
        case ENTROPY: {
          // Hot loop: stuffed FF00 and RSTn are skipped here without a trip through the switch.
          let p = i;
          for (;;) {
            const ff = chunk.indexOf(0xff, p);
            if (ff < 0) {
              i = n;
              break;
            }
            const next = ff + 1 < n ? chunk[ff + 1]! : -1;
            if (next === 0x00 || (next >= 0xd0 && next <= 0xd7)) {
              p = ff + 2;
              continue;
            }
            i = ff + 1;
            this.state = ENTROPY_FF;
            break;
          }
          break;
        }
      }
    }
    // Keep the tail of an unfinished frame, refusing it once it outgrows the bound.
    if (this.state !== SEEK && this.state !== SEEK_FF && frameStart < n) {
      const tailBytes = n - frameStart;
      if (this.partsBytes + tailBytes > this.maxFrameBytes) {
        this.abandon('oversized', this.partsBytes + tailBytes);
        this.state = SEEK;
      } else {
        this.parts.push(chunk.subarray(frameStart, n));
        this.partsBytes += tailBytes;
      }
    }
    return out;
  }

  private beginFrame(): void {
    this.parts = [SOI];
    this.partsBytes = 2;
    this.width = 0;
    this.height = 0;
    this.state = MARKER;
  }

  private endSegment(): void {
    this.state = this.segCode === 0xda ? ENTROPY : MARKER; // SOS is followed by entropy-coded data
  }

  private finishFrame(chunk: Buffer, frameStart: number, end: number): SplitFrame | undefined {
    const total = this.partsBytes + (end - frameStart);
    if (total > this.maxFrameBytes) {
      this.abandon('oversized', total);
      return undefined;
    }
    this.parts.push(chunk.subarray(frameStart, end));
    const jpeg = Buffer.concat(this.parts, total);
    this.parts = [];
    this.partsBytes = 0;
    this.c.frames++;
    this.c.frameBytes += total;
    return { jpeg, width: this.width, height: this.height };
  }

  /** Abandon the frame in progress; `bytes` is how much of it had been seen. */
  private abandon(reason: 'truncated' | 'oversized' | 'corrupt', bytes: number): void {
    this.c[reason]++;
    this.c.discardedBytes += bytes;
    this.parts = [];
    this.partsBytes = 0;
  }

  /** Abandon the frame because of what was found at chunk offset `i - frameStart`, then resync. */
  private abandonInChunk(reason: 'corrupt', seenInChunk: number): void {
    this.abandon(reason, this.partsBytes + seenInChunk);
    this.state = SEEK;
  }
}
