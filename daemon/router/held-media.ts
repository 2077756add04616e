/**
 * Raw media the router holds until the inference made from it arrives: a speech segment's audio
 * until its transcript (keyed by the VAD segment id the transcript carries), a camera frame's JPEG
 * until its face inference (keyed by camera id and frame sequence number). A refinement takes its
 * media from here, so the audio or image sent to the cloud is the one the local result came from.
 *
 * Held only where the media could leave (the caller checks the tier first): nothing is kept that
 * could not be sent anyway. An entry leaves when its inference takes it (whatever the route), when
 * it is evicted, or on clear() (the router stops); a refinement in flight then holds it only until
 * its call ends (answer, failure, timeout or stop: gateway.ts).
 */

/** Segments' audio held for their transcripts. */
export const SEGMENT_HOLD_SIZE = 8;
/** Frames held for their face inferences. */
export const FRAME_HOLD_SIZE = 8;

/** The key of a frame: its camera and sequence number (the `frameSeq` its inference carries). */
export const frameKey = (cameraId: string, seq: number): string => `${cameraId}#${seq}`;

/**
 * At most `capacity` entries. Policy when full: the oldest is forgotten (its inference, when it
 * comes, falls back locally with `audio_unavailable` / `image_unavailable`), so a stalled pipeline
 * never grows the router's memory. The values are the events' own buffers (no copy).
 */
export class HeldMedia<T> {
  private readonly held = new Map<string, T>();

  constructor(readonly capacity: number) {}

  put(key: string, value: T): void {
    this.held.delete(key); // a repeated key (a looping replay) becomes the newest
    this.held.set(key, value);
    while (this.held.size > this.capacity) this.held.delete(this.held.keys().next().value as string);
  }

  /** Remove and return the entry: its inference has arrived and nothing else needs it. */
  take(key: string): T | undefined {
    const value = this.held.get(key);
    this.held.delete(key);
    return value;
  }

  get size(): number {
    return this.held.size;
  }

  clear(): void {
    this.held.clear();
  }
}
