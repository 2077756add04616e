/**
 * A one-line download progress bar (bytes, %, rate) for `edgeloom models fetch`. It draws only
 * when its stream is a TTY: under systemd, in CI and in pipes it writes nothing, so logs and
 * `--json` output stay clean.
 */

import type { FetchProgress } from '../../models/fetch.js';
import type { Clock } from '../../util/clock.js';

export interface ProgressStream {
  readonly isTTY?: boolean;
  readonly columns?: number;
  write(chunk: string): boolean;
}

export interface ProgressBarOptions {
  readonly stream: ProgressStream;
  readonly clock: Clock;
  /** Redraw at most this often, ms (default 100: faster is flicker a terminal cannot show). */
  readonly redrawIntervalMs?: number;
}

const MIB = 1024 * 1024;

export class ProgressBar {
  private readonly enabled: boolean;
  private lastDrawMs = Number.NEGATIVE_INFINITY;
  private file: string | undefined;
  private startedMs = 0;
  private startBytes = 0;
  private drawn = false;

  constructor(private readonly options: ProgressBarOptions) {
    this.enabled = options.stream.isTTY === true;
  }

  /** Feed from `fetchModel`'s onProgress. */
  update(p: FetchProgress): void {
    if (!this.enabled) return;
    const now = this.options.clock.monotonicMs();
    if (p.file !== this.file) {
      this.done();
      this.file = p.file;
      this.startedMs = now;
      this.startBytes = p.receivedBytes;
    }
    const complete = p.totalBytes !== undefined && p.receivedBytes >= p.totalBytes;
    if (!complete && now - this.lastDrawMs < (this.options.redrawIntervalMs ?? 100)) return;
    this.lastDrawMs = now;
    this.options.stream.write(`\r${this.render(p, now)}\x1b[K`);
    this.drawn = true;
  }

  /** End the current line (call after each file and on errors). */
  done(): void {
    if (this.enabled && this.drawn) this.options.stream.write('\n');
    this.drawn = false;
    this.file = undefined;
  }

  /** The line for `p` (exported behaviour for tests: pure apart from the clock reading). */
  render(p: FetchProgress, nowMs: number): string {
    const seconds = Math.max(0.001, (nowMs - this.startedMs) / 1000);
    const rate = (p.receivedBytes - this.startBytes) / MIB / seconds;
    const got = (p.receivedBytes / MIB).toFixed(1);
    const width = Math.max(10, Math.min(30, (this.options.stream.columns ?? 80) - 60));
    if (p.totalBytes === undefined || p.totalBytes === 0) {
      return `${p.file} ${got} MiB ${rate.toFixed(1)} MiB/s`;
    }
    const fraction = Math.min(1, p.receivedBytes / p.totalBytes);
    const filled = Math.round(fraction * width);
    const bar = `${'#'.repeat(filled)}${'-'.repeat(width - filled)}`;
    const total = (p.totalBytes / MIB).toFixed(1);
    return `${p.file} [${bar}] ${(fraction * 100).toFixed(1)}% ${got}/${total} MiB ${rate.toFixed(1)} MiB/s`;
  }
}
