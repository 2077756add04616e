/**
 * The progress line of a fixture replay on a terminal (`edgeloom replay`, and `run` when its
 * source is a replay): `replay demo [####------] 42% 8.4/20.0 s · pass 2 · 1234 records · 4.0x`.
 * It polls the replay's `progress` on a wall-clock interval and draws through TtyProgress, so it
 * writes nothing when the stream is not a TTY (systemd, CI, pipes, redirected logs).
 */
import type { ReplayProgress } from '../../replay/replay-source.js';
import type { Clock, TimerHandle } from '../../util/clock.js';
import { TtyProgress, type TtyStream } from './tty-progress.js';

export interface ReplayProgressReporterOptions {
  /** The replay to report on (a ReplaySource). */
  readonly replay: { readonly progress: ReplayProgress };
  /** Usually process.stderr; nothing is written unless it is a TTY. */
  readonly stream: TtyStream;
  /** Wall clock: the replay's own clock is virtual, and progress is for people. */
  readonly clock: Clock;
  /** Text before the bar, e.g. `replay demo`. */
  readonly label: string;
  /** How often the replay is sampled and the line redrawn, ms (default 250). */
  readonly intervalMs?: number;
}

export class ReplayProgressReporter {
  readonly name = 'system.replay-progress';
  private readonly bar: TtyProgress;
  private timer: TimerHandle | undefined;
  private startedWallMs = 0;
  private startedPlayedMs = 0;
  /** Effective speed at the last redraw; frozen once a single pass has finished. */
  private speedText: string | undefined;

  constructor(private readonly options: ReplayProgressReporterOptions) {
    this.bar = new TtyProgress({
      stream: options.stream,
      clock: options.clock,
      label: options.label,
      unit: 's',
      scale: 1000,
      // The interval below is the throttle; log lines share the terminal, so park the cursor.
      redrawIntervalMs: 0,
      parkCursor: true,
    });
  }

  /** False when the stream is not a TTY: start() then does nothing. */
  get enabled(): boolean {
    return this.bar.enabled;
  }

  start(): void {
    if (!this.bar.enabled || this.timer !== undefined) return;
    this.startedWallMs = this.options.clock.monotonicMs();
    this.startedPlayedMs = this.options.replay.progress.playedMs;
    this.timer = this.options.clock.setInterval(() => this.draw(), this.options.intervalMs ?? 250);
  }

  /** Draw the final state and end the line (after the replay finished, or on shutdown). */
  stop(): void {
    this.timer?.cancel();
    if (this.timer === undefined) return;
    this.timer = undefined;
    this.draw();
    this.bar.done();
  }

  /** Redraw now (the interval's work; exposed for tests). */
  draw(): void {
    const p = this.options.replay.progress;
    // A single pass that has finished shows as complete rather than as position 0 of a next pass.
    const finished = !p.loop && p.passes > 0;
    this.bar.update(finished ? p.durationMs : p.positionMs, p.durationMs, this.detail(p));
  }

  /** `pass N · N records · N.Nx`: the pass only when looping, the speed once measurable. */
  detail(p: ReplayProgress): string {
    const parts: string[] = [];
    if (p.loop) parts.push(`pass ${p.passes + 1}`);
    parts.push(`${p.published} records`);
    const wallMs = this.options.clock.monotonicMs() - this.startedWallMs;
    // Effective speed (fixture time per wall time): meaningful at speed 0, where it shows how fast
    // the pipeline really is, and at speed N, where it shows whether the pipeline keeps up. After
    // the last record only the tail and shutdown remain, which would drag the figure down.
    const finished = !p.loop && p.passes > 0;
    if (wallMs >= 500 && (!finished || this.speedText === undefined)) {
      this.speedText = `${((p.playedMs - this.startedPlayedMs) / wallMs).toFixed(1)}x`;
    }
    if (this.speedText !== undefined) parts.push(this.speedText);
    return parts.join(' · ');
  }
}
