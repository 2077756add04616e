/**
 * Splits a plugin's stdout into lines with a bound on each: a line longer than `maxLineBytes` is
 * discarded up to its newline (counted, never buffered whole), so a plugin that writes without
 * newlines cannot make the daemon hold more than `maxLineBytes` of it.
 */
export class LineReader {
  private parts: Buffer[] = [];
  private size = 0;
  /** Inside a line already too long: skip to the next newline. */
  private skipping = false;
  overlong = 0;

  constructor(
    private readonly maxLineBytes: number,
    private readonly onLine: (line: string) => void,
  ) {}

  push(chunk: Buffer): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(0x0a, start);
      const end = nl === -1 ? chunk.length : nl;
      if (!this.skipping) {
        const piece = chunk.subarray(start, end);
        if (this.size + piece.length > this.maxLineBytes) {
          this.parts = [];
          this.size = 0;
          this.skipping = true;
          this.overlong++;
        } else if (piece.length > 0) {
          this.parts.push(piece);
          this.size += piece.length;
        }
      }
      if (nl === -1) {
        // Keep a copy: the chunk's buffer may be reused by the stream.
        if (!this.skipping && this.parts.length > 0) {
          const last = this.parts.pop()!;
          this.parts.push(Buffer.from(last));
        }
        return;
      }
      if (!this.skipping && this.size > 0) {
        const line = Buffer.concat(this.parts, this.size).toString('utf8');
        this.parts = [];
        this.size = 0;
        this.onLine(line);
      }
      this.skipping = false;
      start = nl + 1;
    }
  }

  reset(): void {
    this.parts = [];
    this.size = 0;
    this.skipping = false;
  }
}
