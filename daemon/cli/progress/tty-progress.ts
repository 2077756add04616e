/**
 * A one-line progress report for long work other than downloads (replaying a long fixture,
 * re-hashing models): `replay fixtures/demo [######------] 42% 8.4/20.0 s`. Like the model fetch
 * bar (daemon/cli/progress/download-bar.ts, which renders bytes and MiB/s), it draws only when its stream is
 * a TTY: under systemd, in CI, in pipes and with `--emit jsonl` redirected it writes nothing, so
 * logs and machine output stay clean. Progress is always drawn on stderr by callers, never stdout.
 */
import type { Clock } from '../../util/clock.js';

export interface TtyStream {
  readonly isTTY?: boolean;
  readonly columns?: number;
  write(chunk: string): boolean;
}

export interface TtyProgressOptions {
  /** Usually process.stderr. Nothing is written unless `stream.isTTY` is true. */
  readonly stream: TtyStream;
  /** Wall clock for redraw throttling (the real one even in a replay: redraws are for people). */
  readonly clock: Clock;
  /** Text before the bar, e.g. `replay fixtures/demo`. */
  readonly label: string;
  /** Unit shown after the numbers, e.g. `s` (default: none). */
  readonly unit?: string;
  /** Divide values by this before showing them, e.g. 1000 to show ms as s (default 1). */
  readonly scale?: number;
  /** Redraw at most this often, ms (default 100). */
  readonly redrawIntervalMs?: number;
  /**
   * Leave the cursor at the start of the progress line after each redraw (default false). For a
   * terminal that log lines share (`run` and `replay` on a TTY): the next log line overwrites the
   * progress text instead of being glued to its end, and the next redraw appears below it.
   */
  readonly parkCursor?: boolean;
}

export class TtyProgress {
  /** False when the stream is not a TTY: every call is then a no-op. */
  readonly enabled: boolean;
  private lastDrawMs = Number.NEGATIVE_INFINITY;
  private drawn = false;

  constructor(private readonly options: TtyProgressOptions) {
    this.enabled = options.stream.isTTY === true;
  }

  /**
   * `done` of `total` (same unit); total undefined or 0 shows only the count. `detail` is appended
   * after a separator (records, speed).
   */
  update(done: number, total?: number, detail?: string): void {
    if (!this.enabled) return;
    const now = this.options.clock.monotonicMs();
    const complete = total !== undefined && total > 0 && done >= total;
    if (!complete && now - this.lastDrawMs < (this.options.redrawIntervalMs ?? 100)) return;
    this.lastDrawMs = now;
    const park = this.options.parkCursor === true ? '\r' : '';
    this.options.stream.write(`\r${this.render(done, total, detail)}\x1b[K${park}`);
    this.drawn = true;
  }

  /** End the line (after the work, and on errors, so the next output starts on a fresh line). */
  done(): void {
    if (this.enabled && this.drawn) this.options.stream.write('\n');
    this.drawn = false;
  }

  /** The text of one redraw (pure: exposed for tests). */
  render(done: number, total?: number, detail?: string): string {
    const bar = this.renderBar(done, total);
    const line = detail === undefined || detail === '' ? bar : `${bar} · ${detail}`;
    // A line that wraps can no longer be redrawn in place with \r: cut it to the terminal width.
    const columns = this.options.stream.columns;
    return columns !== undefined && columns > 1 && line.length >= columns ? line.slice(0, columns - 1) : line;
  }

  private renderBar(done: number, total?: number): string {
    const scale = this.options.scale ?? 1;
    const unit = this.options.unit === undefined ? '' : ` ${this.options.unit}`;
    const show = (v: number): string => (v / scale).toFixed(scale === 1 ? 0 : 1);
    if (total === undefined || total <= 0) return `${this.options.label} ${show(done)}${unit}`;
    const fraction = Math.min(1, Math.max(0, done / total));
    const width = Math.max(
      10,
      Math.min(30, (this.options.stream.columns ?? 80) - this.options.label.length - 30),
    );
    const filled = Math.round(fraction * width);
    const bar = `${'#'.repeat(filled)}${'-'.repeat(width - filled)}`;
    return `${this.options.label} [${bar}] ${(fraction * 100).toFixed(0)}% ${show(done)}/${show(total)}${unit}`;
  }
}
