import { describe, expect, it } from 'vitest';
import { ProgressBar, type ProgressStream } from '../../daemon/cli/progress/download-bar.js';
import { VirtualClock } from '../../daemon/util/virtual-clock.js';

function stream(isTTY: boolean): ProgressStream & { text: string } {
  const s = {
    isTTY,
    columns: 100,
    text: '',
    write(chunk: string): boolean {
      s.text += chunk;
      return true;
    },
  };
  return s;
}

const MIB = 1024 * 1024;

describe('ProgressBar', () => {
  it('writes nothing when the stream is not a TTY', () => {
    const out = stream(false);
    const bar = new ProgressBar({ stream: out, clock: new VirtualClock() });
    bar.update({ file: 'a.onnx', receivedBytes: 10, totalBytes: 100 });
    bar.update({ file: 'a.onnx', receivedBytes: 100, totalBytes: 100 });
    bar.done();
    expect(out.text).toBe('');
  });

  it('shows bytes, percent and rate, throttled, and always draws completion', async () => {
    const out = stream(true);
    const clock = new VirtualClock();
    const bar = new ProgressBar({ stream: out, clock, redrawIntervalMs: 100 });
    bar.update({ file: 'enc.onnx', receivedBytes: 0, totalBytes: 10 * MIB });
    await clock.advanceTo(50);
    bar.update({ file: 'enc.onnx', receivedBytes: 1 * MIB, totalBytes: 10 * MIB }); // throttled
    await clock.advanceTo(2_000);
    bar.update({ file: 'enc.onnx', receivedBytes: 5 * MIB, totalBytes: 10 * MIB });
    await clock.advanceTo(2_010);
    bar.update({ file: 'enc.onnx', receivedBytes: 10 * MIB, totalBytes: 10 * MIB });
    bar.done();
    const lines = out.text.split('\r').filter(Boolean);
    expect(lines).toHaveLength(3);
    expect(lines[1]).toContain('50.0% 5.0/10.0 MiB 2.5 MiB/s');
    expect(lines[2]).toContain('100.0% 10.0/10.0 MiB');
    expect(out.text.endsWith('\n')).toBe(true);
  });

  it('handles an unknown total', () => {
    const bar = new ProgressBar({ stream: stream(true), clock: new VirtualClock() });
    expect(bar.render({ file: 'x', receivedBytes: 3 * MIB, totalBytes: undefined }, 1000)).toBe(
      'x 3.0 MiB 3.0 MiB/s',
    );
  });
});
