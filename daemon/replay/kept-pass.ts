/**
 * One pass of a looping replay, kept in memory so the passes after it skip the file reads, JSON
 * parsing, validation and stream merging the first pass did (for the demo, ~2,700 records a pass
 * through four async generators: measured alone at real-time speed, about as much CPU as the
 * demo's model inferences, issue #16). They are played with a plain loop, not `for await`, which
 * would add a promise turn per record. The records are the first pass's own objects, in its
 * order, so every later pass publishes exactly what a fresh read would. Bus payloads are
 * immutable (bus/envelope.ts), so handing the same frame buffers out again on every pass is safe.
 */
import type { FixtureEvent } from '../recording/reader.js';

/**
 * Bound on what one kept pass may hold: JPEG bytes, audio bytes and IMU_SAMPLE_BYTES per IMU
 * sample. The demo is ~2.3 MB. A longer fixture is read from disk on every pass instead, in
 * constant memory, as a replay that does not loop always is (recording/reader.ts).
 */
export const MAX_KEPT_PASS_BYTES = 32 * 1024 * 1024;

/** What an IMU sample object costs on the V8 heap, roughly (10 numbers and their shape). */
const IMU_SAMPLE_BYTES = 128;

export class KeptPass {
  private kept: FixtureEvent[] | undefined = [];
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  /** Add the next record of the pass; past the bound the pass is dropped and no more is kept. */
  add(ev: FixtureEvent): void {
    if (this.kept === undefined) return;
    this.bytes +=
      ev.sensor === 'camera'
        ? ev.frame.jpeg.byteLength
        : ev.sensor === 'mic'
          ? ev.audio.samples.byteLength
          : IMU_SAMPLE_BYTES;
    if (this.bytes > this.maxBytes) {
      this.kept = undefined;
      return;
    }
    this.kept.push(ev);
  }

  /** The whole pass, or undefined when it outgrew the bound. Call once the pass has ended. */
  events(): readonly FixtureEvent[] | undefined {
    return this.kept;
  }
}
