/**
 * releaseNow frees a buffer its caller owns whole and leaves everything else alone. Where the
 * runtime has no ArrayBuffer.prototype.transfer (Node 20) it releases nothing.
 */
import { describe, expect, it } from 'vitest';
import { releaseNow } from '../../daemon/util/release-now.js';

const canRelease = typeof (ArrayBuffer.prototype as { transfer?: unknown }).transfer === 'function';

describe('releaseNow', () => {
  it('detaches a view that covers its whole buffer, so its memory is gone at once', () => {
    const view = new Uint8Array(1 << 20).fill(7);
    expect(releaseNow(view)).toBe(canRelease);
    expect(view.byteLength).toBe(canRelease ? 0 : 1 << 20);
    // Released once; a second call has nothing left to do.
    expect(releaseNow(view)).toBe(false);
  });

  it("leaves a slice of Node's shared pool alone: other Buffers live in the same memory", () => {
    const a = Buffer.from('first');
    const b = Buffer.from('second');
    expect(a.buffer.byteLength).toBeGreaterThan(a.byteLength);
    expect(releaseNow(a)).toBe(false);
    expect(a.toString()).toBe('first');
    expect(b.toString()).toBe('second');
  });

  it('leaves a sub-array alone, at any offset', () => {
    const whole = new Float32Array(64).fill(1.5);
    expect(releaseNow(whole.subarray(0, 32))).toBe(false);
    expect(releaseNow(whole.subarray(32))).toBe(false);
    expect(whole.length).toBe(64);
    expect(whole[63]).toBe(1.5);
  });
});
