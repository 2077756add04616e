/**
 * Speech segmentation from per-frame speech probabilities: a pure, deterministic state machine
 * (no model inside, like ricky0123/vad's FrameProcessor), so it is tested with recorded
 * probability sequences.
 *
 * Idle → speaking at the first frame with p ≥ positiveSpeechThreshold (`speech-start`; the
 * segment begins `preRollMs` earlier, clamped to the audio actually held). Speaking → idle after
 * `redemptionMs` of consecutive frames with p < negativeSpeechThreshold; frames in between the two
 * thresholds neither end nor extend the redemption count (hysteresis). The segment ends at the end
 * of the last frame with p ≥ negativeSpeechThreshold; the redemption tail is not part of it. A
 * segment whose speech (first speech frame to last) is shorter than `minSpeechMs` is a `misfire`.
 */
import { EdgeloomError, ErrorCode } from '../../errors.js';

export interface SegmenterOptions {
  /** A frame with p at or above this starts (or sustains) speech, 0..1. Default 0.5. */
  readonly positiveSpeechThreshold?: number;
  /** A frame with p below this counts towards ending speech, 0..1, ≤ positive. Default 0.35. */
  readonly negativeSpeechThreshold?: number;
  /** Segments with less speech than this are discarded as misfires, ms. Default 250. */
  readonly minSpeechMs?: number;
  /** Quiet time (p < negative) that ends a segment, ms (rounded to whole frames, at least 1). Default 480. */
  readonly redemptionMs?: number;
  /** Audio kept before the first speech frame, ms (rounded to whole frames). Default 192. */
  readonly preRollMs?: number;
  /**
   * Longest segment, ms, pre-roll included. Bound of the segment buffer; overflow policy: the
   * segment is emitted with `truncated: true` and a new one starts at the next frame. Default 15000.
   */
  readonly maxSegmentMs?: number;
  /** Samples per frame. Default 512 (Silero's 32 ms). */
  readonly frameSamples?: number;
  readonly sampleRateHz?: number;
}

export type SegmenterEvent =
  | {
      readonly kind: 'speech-start';
      /** Segment start (pre-roll included), ms. */
      readonly startMs: number;
      /** Start of the first speech frame, ms. */
      readonly onsetMs: number;
      readonly probability: number;
    }
  | {
      readonly kind: 'speech-end';
      readonly startMs: number;
      /** End of the last speech frame, ms. */
      readonly endMs: number;
      /** Samples from startMs to endMs (gaps upstream are not filled). */
      readonly audio: Int16Array;
      /** Mean p over the frames from the onset to the last speech frame. */
      readonly meanProbability: number;
      readonly truncated: boolean;
    }
  | { readonly kind: 'misfire'; readonly startMs: number; readonly endMs: number; readonly speechMs: number };

export interface SegmenterStats {
  readonly frames: number;
  readonly segments: number;
  readonly misfires: number;
  readonly truncated: number;
}

interface Resolved {
  readonly positive: number;
  readonly negative: number;
  readonly minSpeechMs: number;
  readonly redemptionFrames: number;
  readonly preRollFrames: number;
  readonly frameSamples: number;
  readonly frameMs: number;
  readonly capacitySamples: number;
}

export class SpeechSegmenter {
  readonly frameMs: number;
  private readonly o: Resolved;
  /** Last `preRollFrames` idle frames (oldest first); overflow policy: drop the oldest. */
  private readonly preRoll: { samples: Int16Array; tsMs: number }[] = [];
  private readonly segment: Int16Array;
  private segmentSamples = 0;
  private speaking = false;
  private startMs = 0;
  private onsetMs = 0;
  /** Samples and end time up to the last frame with p ≥ negative. */
  private lastSpeechSamples = 0;
  private lastSpeechEndMs = 0;
  private probSum = 0;
  private probFrames = 0;
  private probSumAtLastSpeech = 0;
  private probFramesAtLastSpeech = 0;
  private quietFrames = 0;
  /** End of the newest frame in the segment, ms. */
  private lastFrameEndMs = 0;
  private counts = { frames: 0, segments: 0, misfires: 0, truncated: 0 };

  constructor(options: SegmenterOptions = {}) {
    this.o = resolve(options);
    this.frameMs = this.o.frameMs;
    this.segment = new Int16Array(this.o.capacitySamples);
  }

  /**
   * Feed one frame (`frameSamples` long, starting at `tsMs`) with its speech probability.
   * Returns the events it caused, in order (a cut at maxSegmentMs gives an end and a start).
   */
  push(samples: Int16Array, probability: number, tsMs: number): SegmenterEvent[] {
    if (samples.length !== this.o.frameSamples) {
      throw new EdgeloomError(
        ErrorCode.E_VAD_FRAME,
        `segmenter: frame has ${samples.length} samples, expected ${this.o.frameSamples}`,
        { where: 'speech-segmenter' },
      );
    }
    this.counts.frames++;
    const p = Number.isFinite(probability) ? probability : 0;
    const events: SegmenterEvent[] = [];
    if (!this.speaking) {
      if (p >= this.o.positive) {
        events.push(this.begin(samples, p, tsMs));
      } else if (this.o.preRollFrames > 0) {
        if (this.preRoll.length === this.o.preRollFrames) this.preRoll.shift();
        this.preRoll.push({ samples, tsMs });
      }
      return events;
    }
    if (this.segmentSamples + samples.length > this.segment.length) {
      events.push(this.finish(true));
      events.push(this.begin(samples, p, tsMs, true));
      return events;
    }
    this.append(samples);
    this.lastFrameEndMs = tsMs + this.o.frameMs;
    this.probSum += p;
    this.probFrames++;
    if (p >= this.o.positive) this.quietFrames = 0;
    if (p >= this.o.negative) {
      this.markSpeech(tsMs);
    } else if (++this.quietFrames >= this.o.redemptionFrames) {
      events.push(this.finish(false));
    }
    return events;
  }

  /** End of stream: close an open segment as if redemption had passed. */
  flush(): SegmenterEvent[] {
    return this.speaking ? [this.finish(false)] : [];
  }

  /** Drop any open segment and the pre-roll, without emitting. */
  reset(): void {
    this.speaking = false;
    this.segmentSamples = 0;
    this.preRoll.length = 0;
  }

  get isSpeaking(): boolean {
    return this.speaking;
  }

  stats(): SegmenterStats {
    return { ...this.counts };
  }

  /** Open a segment at this frame; `continuation` after a cut at maxSegmentMs (p may be below the thresholds). */
  private begin(samples: Int16Array, p: number, tsMs: number, continuation = false): SegmenterEvent {
    this.speaking = true;
    this.segmentSamples = 0;
    this.startMs = tsMs;
    for (const f of this.preRoll) {
      if (this.segmentSamples + f.samples.length + samples.length > this.segment.length) break;
      if (this.segmentSamples === 0) this.startMs = f.tsMs;
      this.append(f.samples);
    }
    this.preRoll.length = 0;
    this.append(samples);
    this.lastFrameEndMs = tsMs + this.o.frameMs;
    this.onsetMs = tsMs;
    this.probSum = p;
    this.probFrames = 1;
    if (!continuation || p >= this.o.negative) {
      this.quietFrames = 0;
      this.markSpeech(tsMs);
    } else {
      // Still quiet after the cut: no speech in this segment yet, redemption keeps counting.
      this.quietFrames++;
      this.lastSpeechEndMs = tsMs;
      this.lastSpeechSamples = 0;
      this.probSumAtLastSpeech = 0;
      this.probFramesAtLastSpeech = 0;
    }
    return { kind: 'speech-start', startMs: this.startMs, onsetMs: tsMs, probability: p };
  }

  private finish(truncated: boolean): SegmenterEvent {
    this.speaking = false;
    // A cut segment ends with the audio it holds; a normal one at its last speech frame.
    const endMs = truncated ? this.lastFrameEndMs : this.lastSpeechEndMs;
    const samples = truncated ? this.segmentSamples : this.lastSpeechSamples;
    const sum = truncated ? this.probSum : this.probSumAtLastSpeech;
    const n = truncated ? this.probFrames : this.probFramesAtLastSpeech;
    const speechMs = this.lastSpeechEndMs - this.onsetMs;
    this.segmentSamples = 0;
    if (!truncated && speechMs < this.o.minSpeechMs) {
      this.counts.misfires++;
      return { kind: 'misfire', startMs: this.startMs, endMs, speechMs };
    }
    this.counts.segments++;
    if (truncated) this.counts.truncated++;
    return {
      kind: 'speech-end',
      startMs: this.startMs,
      endMs,
      audio: this.segment.slice(0, samples),
      meanProbability: n === 0 ? 0 : sum / n,
      truncated,
    };
  }

  private append(samples: Int16Array): void {
    this.segment.set(samples, this.segmentSamples);
    this.segmentSamples += samples.length;
  }

  private markSpeech(tsMs: number): void {
    this.lastSpeechEndMs = tsMs + this.o.frameMs;
    this.lastSpeechSamples = this.segmentSamples;
    this.probSumAtLastSpeech = this.probSum;
    this.probFramesAtLastSpeech = this.probFrames;
  }
}

function resolve(options: SegmenterOptions): Resolved {
  const positive = options.positiveSpeechThreshold ?? 0.5;
  const negative = options.negativeSpeechThreshold ?? 0.35;
  const frameSamples = options.frameSamples ?? 512;
  const sampleRateHz = options.sampleRateHz ?? 16000;
  const minSpeechMs = options.minSpeechMs ?? 250;
  const redemptionMs = options.redemptionMs ?? 480;
  const preRollMs = options.preRollMs ?? 192;
  const maxSegmentMs = options.maxSegmentMs ?? 15000;
  const bad = (key: string, why: string): never => {
    throw new EdgeloomError(ErrorCode.E_VAD_OPTIONS, `segmenter option ${key} ${why}`, { where: key });
  };
  if (!(positive > 0 && positive <= 1)) bad('positiveSpeechThreshold', 'must be in (0, 1]');
  if (!(negative >= 0 && negative <= positive)) bad('negativeSpeechThreshold', 'must be in [0, positive]');
  if (!(Number.isInteger(frameSamples) && frameSamples > 0))
    bad('frameSamples', 'must be a positive integer');
  if (!(sampleRateHz > 0)) bad('sampleRateHz', 'must be positive');
  if (!(minSpeechMs >= 0)) bad('minSpeechMs', 'must be ≥ 0');
  if (!(redemptionMs >= 0)) bad('redemptionMs', 'must be ≥ 0');
  if (!(preRollMs >= 0)) bad('preRollMs', 'must be ≥ 0');
  const frameMs = (frameSamples * 1000) / sampleRateHz;
  const preRollFrames = Math.round(preRollMs / frameMs);
  const capacitySamples = Math.floor((maxSegmentMs * sampleRateHz) / 1000);
  if (!(capacitySamples >= (preRollFrames + 2) * frameSamples)) {
    bad('maxSegmentMs', `must hold the pre-roll plus two frames (≥ ${(preRollFrames + 2) * frameMs} ms)`);
  }
  return {
    positive,
    negative,
    minSpeechMs,
    redemptionFrames: Math.max(1, Math.round(redemptionMs / frameMs)),
    preRollFrames,
    frameSamples,
    frameMs,
    capacitySamples,
  };
}
