import { describe, expect, it } from 'vitest';
import { ReplayProgressReporter } from '../../daemon/cli/progress/replay-progress.js';
import type { ReplayProgress } from '../../daemon/replay/replay-source.js';
import { VirtualClock } from '../../daemon/util/virtual-clock.js';

/** A fake terminal (or pipe) recording every write. */
function stream(isTTY: boolean): {
  isTTY: boolean;
  columns: number;
  text: string;
  write(c: string): boolean;
} {
  const s = {
    isTTY,
    columns: 120,
    text: '',
    write(chunk: string) {
      s.text += chunk;
      return true;
    },
  };
  return s;
}

/** A replay whose progress the test moves by hand. */
function replay(loop: boolean): { progress: ReplayProgress; set(p: Partial<ReplayProgress>): void } {
  let progress: ReplayProgress = {
    positionMs: 0,
    durationMs: 20_000,
    passes: 0,
    published: 0,
    playedMs: 0,
    speed: 0,
    loop,
  };
  return {
    get progress() {
      return progress;
    },
    set(p) {
      progress = { ...progress, ...p };
    },
  };
}

/** The redraws written so far, without the control sequences. */
function frames(text: string): string[] {
  return text
    .split('\r')
    .map((f) => f.replace('\x1b[K', ''))
    .filter((f) => f !== '' && f !== '\n');
}

describe('ReplayProgressReporter', () => {
  it('draws fixture time, records and the effective speed on a TTY, then ends the line', async () => {
    const clock = new VirtualClock(0);
    const out = stream(true);
    const r = replay(false);
    const reporter = new ReplayProgressReporter({ replay: r, stream: out, clock, label: 'replay demo' });
    reporter.start();
    r.set({ positionMs: 4000, playedMs: 4000, published: 120 });
    await clock.advanceTo(250);
    expect(frames(out.text).at(-1)).toBe(
      `replay demo [${'#'.repeat(6)}${'-'.repeat(24)}] 20% 4.0/20.0 s · 120 records`,
    );
    // 10 s of fixture in 1 s of wall time: 10x, whatever speed was asked for.
    r.set({ positionMs: 10_000, playedMs: 10_000, published: 300 });
    await clock.advanceTo(1000);
    expect(frames(out.text).at(-1)).toMatch(/ 50% 10\.0\/20\.0 s · 300 records · 10\.0x$/);
    // The single pass ends: shown complete (not as position 0 of a next pass), speed frozen.
    r.set({ positionMs: 0, playedMs: 20_000, passes: 1, published: 600 });
    await clock.advanceTo(2000);
    await clock.advanceTo(9000);
    reporter.stop();
    const last = frames(out.text).at(-1)!;
    expect(last).toMatch(/ 100% 20\.0\/20\.0 s · 600 records · 10\.0x$/);
    expect(out.text.endsWith('\n')).toBe(true);
    // The cursor is parked at the start of the line after each redraw (logs share the terminal).
    expect(out.text.split('\x1b[K\r').length).toBeGreaterThan(3);
  });

  it('shows the pass number when looping', async () => {
    const clock = new VirtualClock(0);
    const out = stream(true);
    const r = replay(true);
    const reporter = new ReplayProgressReporter({ replay: r, stream: out, clock, label: 'replay demo' });
    reporter.start();
    r.set({ positionMs: 5000, playedMs: 25_000, passes: 1, published: 900 });
    await clock.advanceTo(300);
    reporter.stop();
    expect(frames(out.text).at(-1)).toContain('25% 5.0/20.0 s · pass 2 · 900 records');
  });

  it('writes nothing, and starts no timer, when the stream is not a TTY', async () => {
    const clock = new VirtualClock(0);
    const out = stream(false);
    const r = replay(false);
    const reporter = new ReplayProgressReporter({ replay: r, stream: out, clock, label: 'replay demo' });
    reporter.start();
    expect(reporter.enabled).toBe(false);
    expect(clock.nextDueMs()).toBeUndefined();
    r.set({ positionMs: 10_000, playedMs: 10_000, published: 5 });
    await clock.advanceTo(5000);
    reporter.stop();
    expect(out.text).toBe('');
  });
});
