import { LineFramer, type LineHandler } from './line-framer.js';
import type { CounterBlock, ImuParserCounters } from './types.js';

/**
 * The byte side shared by the text parsers (CSV, JSON lines): frames chunks into lines and keeps
 * the parser's byte accounting in step with the framer (bytes in, overlong lines discarded,
 * bytes still pending), so every parser's counters satisfy
 * bytesIn = bytesAccepted + bytesDiscarded + pendingBytes.
 */
export class LineInput {
  private readonly framer: LineFramer;

  constructor(
    private readonly c: CounterBlock,
    maxLineBytes: number,
    private readonly onLine: LineHandler,
  ) {
    this.framer = new LineFramer(maxLineBytes);
  }

  push(chunk: Uint8Array): void {
    this.c.bytesIn += chunk.length;
    const before = this.framer.bytesDiscarded;
    this.framer.push(chunk, this.onLine);
    this.c.bytesDiscarded += this.framer.bytesDiscarded - before;
    this.c.bad.too_long = this.framer.overlong;
  }

  counters(): ImuParserCounters {
    return this.c.snapshot(this.framer.pendingBytes);
  }

  /** Drop a partial line (a reconnect starts mid-line); its bytes count as discarded. */
  reset(): void {
    const before = this.framer.bytesDiscarded;
    this.framer.reset();
    this.c.bytesDiscarded += this.framer.bytesDiscarded - before;
  }
}
