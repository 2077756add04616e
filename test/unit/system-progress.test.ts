import { describe, expect, it } from 'vitest';
import { TtyProgress, type TtyStream } from '../../daemon/cli/progress/tty-progress.js';
import { VirtualClock } from '../../daemon/util/virtual-clock.js';

function stream(isTTY: boolean): TtyStream & { text: string } {
  const s = {
    isTTY,
    columns: 80,
    text: '',
    write(chunk: string) {
      s.text += chunk;
      return true;
    },
  };
  return s;
}

describe('TtyProgress', () => {
  it('writes nothing at all when the stream is not a TTY (systemd, CI, pipes)', () => {
    const s = stream(false);
    const p = new TtyProgress({ stream: s, clock: new VirtualClock(0), label: 'replay x' });
    p.update(5, 10);
    p.update(10, 10);
    p.done();
    expect(p.enabled).toBe(false);
    expect(s.text).toBe('');
  });

  it('redraws one line in place on a TTY, throttled, always drawing completion, then ends the line', async () => {
    const s = stream(true);
    const clock = new VirtualClock(0);
    const p = new TtyProgress({ stream: s, clock, label: 'replay demo', unit: 's', scale: 1000 });
    p.update(0, 20_000);
    p.update(1000, 20_000); // within 100 ms of the last redraw: skipped
    await clock.advanceTo(150);
    p.update(8400, 20_000);
    p.update(20_000, 20_000); // completion is always drawn
    p.done();
    const frames = s.text.split('\r').filter((f) => f !== '');
    expect(frames).toHaveLength(3);
    expect(frames[1]).toContain('42% 8.4/20.0 s');
    expect(frames[2]).toBe(`replay demo [${'#'.repeat(30)}] 100% 20.0/20.0 s\x1b[K\n`);
  });

  it('shows a bare count when the total is unknown', () => {
    const p = new TtyProgress({
      stream: stream(true),
      clock: new VirtualClock(0),
      label: 'hashing',
      unit: 'files',
    });
    expect(p.render(7)).toBe('hashing 7 files');
  });
});

describe('TtyProgress details and shared terminals', () => {
  it('appends the detail after the bar, and parks the cursor when asked', () => {
    const s = stream(true);
    const p = new TtyProgress({
      stream: s,
      clock: new VirtualClock(0),
      label: 'replay demo',
      unit: 's',
      scale: 1000,
      parkCursor: true,
    });
    p.update(5000, 20_000, '12 records · 2.0x');
    expect(s.text).toBe(
      `\rreplay demo [${'#'.repeat(8)}${'-'.repeat(22)}] 25% 5.0/20.0 s · 12 records · 2.0x\x1b[K\r`,
    );
    expect(p.render(1, 2, '')).not.toContain('·');
  });

  it('cuts a line longer than the terminal so \\r can still redraw it in place', () => {
    const s = { ...stream(true), columns: 40 };
    const p = new TtyProgress({ stream: s, clock: new VirtualClock(0), label: 'replay a-long-fixture-name' });
    const line = p.render(3, 10, 'pass 3 · 123456 records · 12.5x');
    expect(line.length).toBe(39);
    expect(line.startsWith('replay a-long-fixture-name [')).toBe(true);
  });
});
