/**
 * Give a large buffer's memory back at once instead of at the collector's next pass over it.
 *
 * Why it matters: V8 counts every ArrayBuffer's bytes as external memory, and when it decides
 * whether to start a full (mark-compact) collection it adds the external memory grown since the
 * last one to the old generation (heap.h, OldGenerationSpaceAvailable). A dead buffer stays counted
 * until a scavenge finds its wrapper, which with a quiet young generation can take seconds. On the
 * demo, the face stage's decoded frames (0.9 MB each, twice a second) were enough to start a full
 * collection of the daemon's ~40 MB heap every ~4 s. Detaching the buffer
 * (`ArrayBuffer.prototype.transfer(0)`) frees its backing store and takes it off the count now.
 *
 * Only for a buffer its caller owns whole and will not read again. A view that does not cover its
 * whole ArrayBuffer (a slice of Node's shared 8 KiB pool, a sub-array) is left alone, and so is
 * everything on Node 20, whose V8 has no `transfer`.
 *
 * @returns whether the buffer was released.
 */
export function releaseNow(view: ArrayBufferView): boolean {
  const buffer = view.buffer as ArrayBuffer & {
    transfer?: (length: number) => ArrayBuffer;
    detached?: boolean;
  };
  if (typeof buffer.transfer !== 'function' || buffer.detached === true) return false;
  if (view.byteOffset !== 0 || view.byteLength !== buffer.byteLength) return false;
  buffer.transfer(0);
  return true;
}
