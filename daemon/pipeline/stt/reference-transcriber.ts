/**
 * The reference transcriber: a STAND-IN FOR WHISPER WEIGHTS THAT CANNOT EXIST ON THIS MACHINE (no
 * network, so whisper-tiny cannot be fetched, and the synthetic whisper the repo generates always
 * decodes "hello from edgeloom"). It does not listen to the audio at all: it answers each speech
 * segment with the replayed fixture's ground truth (`truth.speech`, fixtures/README.md), the line
 * whose span overlaps the segment most. That makes the voice path after speech-to-text (router,
 * voice intents, tools, MQTT) reachable end to end in replays, with real VAD segmentation deciding
 * what is asked and when.
 *
 * Everything it produces says so: its model id is `reference-transcript` (so the router, the
 * confidence thresholds and the agents see a distinct model, never "whisper"), and it only runs
 * when a fixture with `truth.speech` is being replayed (`pipeline.stt.engine: reference`).
 *
 * Confidence is the share of the spoken line the segment covers (a segment that caught the whole
 * utterance says 1; one that caught a third of it says 0.33). A segment overlapping no line is
 * answered with empty text, confidence 0 and no_speech_prob 1, as Whisper does for noise.
 */

import { EdgeloomError, ErrorCode } from '../../errors.js';
import type { Logger } from '../../log.js';
import type { SpeechTruth } from '../../recording/format.js';
import { openFixture } from '../../recording/reader.js';
import type { SpeechSegmentContext, SpeechToTextModel } from './stt-stage.js';
import type { TranscribeOptions, WhisperResult } from './whisper/whisper.js';

/** The model id every reference transcript carries. */
export const REFERENCE_MODEL_ID = 'reference-transcript';

/** Silence ReplaySource leaves between loop passes by default, ms (its `loopGapMs` default). */
const DEFAULT_LOOP_GAP_MS = 1000;

const CONFIG_KEY = 'pipeline.stt.engine';

export interface ReferenceTranscriberOptions {
  /**
   * The fixture being replayed. Undefined when the daemon does not replay (live sensors): creation
   * then fails with E_CONFIG naming `pipeline.stt.engine`, since there is no truth to answer from.
   */
  readonly fixtureDir: string | undefined;
  /**
   * Clock ms of the fixture's t_ms 0 on the first pass (default: the fixture's `start_time`, which
   * is where ReplaySource puts it).
   */
  readonly originMs?: number;
  /** Whether the replay loops; segment times are then folded back onto one pass. */
  readonly loop?: boolean;
  /** Silence between loop passes, ms (default 1000, ReplaySource's default). */
  readonly loopGapMs?: number;
  /** Told once, at creation, that transcripts come from the fixture's truth and not from audio. */
  readonly logger?: Logger;
  /** Aborts the fixture scan (a shutdown during start-up). */
  readonly signal?: AbortSignal;
}

/** The answer for one segment, in fixture time (ms from the fixture's start). */
export interface ReferenceMatch {
  readonly text: string;
  /** Share (0..1) of the matched truth line covered by the segment; 0 when nothing overlaps. */
  readonly coverage: number;
  /** Overlap with the matched line, ms. */
  readonly overlapMs: number;
}

/**
 * The truth line overlapping [startMs, endMs) most (ties: the earlier line). Lines with no
 * duration are never matched (they cannot be heard).
 */
export function matchTruth(truth: readonly SpeechTruth[], startMs: number, endMs: number): ReferenceMatch {
  let best: ReferenceMatch = { text: '', coverage: 0, overlapMs: 0 };
  for (const line of truth) {
    const lineMs = line.end_ms - line.start_ms;
    if (!(lineMs > 0)) continue;
    const overlapMs = Math.min(endMs, line.end_ms) - Math.max(startMs, line.start_ms);
    if (overlapMs > best.overlapMs) {
      best = { text: line.text, coverage: Math.min(1, overlapMs / lineMs), overlapMs };
    }
  }
  return best;
}

export class ReferenceTranscriber implements SpeechToTextModel {
  readonly modelId = REFERENCE_MODEL_ID;

  /**
   * @param truth the fixture's `truth.speech`
   * @param originMs clock ms of t_ms 0 on the first pass
   * @param periodMs clock ms between passes when the replay loops, else undefined
   */
  constructor(
    private readonly truth: readonly SpeechTruth[],
    private readonly originMs: number,
    private readonly periodMs: number | undefined,
  ) {}

  async transcribe(
    audio: Int16Array,
    options?: TranscribeOptions,
    segment?: SpeechSegmentContext,
  ): Promise<WhisperResult> {
    if (segment === undefined) {
      throw new EdgeloomError(
        ErrorCode.E_STT_SEGMENT,
        'reference transcriber: a segment context (start/end) is required; it answers by time, not audio',
        { where: 'pipeline.stt.reference' },
      );
    }
    // Fixture time is measured from t_ms 0 of the pass the segment started in.
    let passStartMs = this.originMs;
    if (this.periodMs !== undefined && segment.startMs >= this.originMs) {
      passStartMs += Math.floor((segment.startMs - this.originMs) / this.periodMs) * this.periodMs;
    }
    const m = matchTruth(this.truth, segment.startMs - passStartMs, segment.endMs - passStartMs);
    const heard = m.overlapMs > 0;
    return {
      text: m.text,
      language: options?.language ?? 'en',
      tokens: [],
      confidence: m.coverage,
      noSpeechProb: heard ? 0 : 1,
      // Whisper's confidence is exp(avgLogProb)·(1 − noSpeechProb); keep that identity where defined.
      avgLogProb: heard ? Math.log(m.coverage) : 0,
      durationMs: (audio.length * 1000) / segment.sampleRateHz,
      inferenceMs: 0, // nothing is computed: a lookup
      encoderMs: 0,
      encoderFrames: 0, // no encoder
      decoderSteps: 0,
    };
  }

  async release(): Promise<void> {}
}

/**
 * Open the replayed fixture and build the transcriber from its `truth.speech`. Fails with E_CONFIG
 * naming `pipeline.stt.engine` when nothing is replayed or the fixture has no speech truth, and
 * with the reader's E_FIXTURE_* error when the fixture cannot be read.
 */
export async function createReferenceTranscriber(
  options: ReferenceTranscriberOptions,
): Promise<ReferenceTranscriber> {
  const dir = options.fixtureDir;
  if (dir === undefined) {
    throw new EdgeloomError(
      ErrorCode.E_CONFIG,
      `${CONFIG_KEY}: "reference" answers from a replayed fixture's truth.speech, and this run replays no fixture; use "whisper" with live sensors`,
      { where: CONFIG_KEY },
    );
  }
  const fixture = await openFixture(dir, options.signal === undefined ? {} : { signal: options.signal });
  const truth = fixture.manifest.truth?.speech ?? [];
  if (truth.length === 0) {
    throw new EdgeloomError(
      ErrorCode.E_CONFIG,
      `${CONFIG_KEY}: "reference" needs truth.speech in ${dir}/fixture.json, which has none; use "whisper"`,
      { where: CONFIG_KEY },
    );
  }
  const originMs = options.originMs ?? fixture.startTimeMs;
  const periodMs =
    options.loop === true ? fixture.durationMs + (options.loopGapMs ?? DEFAULT_LOOP_GAP_MS) : undefined;
  options.logger?.warn(
    { fixture: dir, lines: truth.length, modelId: REFERENCE_MODEL_ID },
    'speech-to-text is the reference transcriber: transcripts come from the fixture truth, not from audio (a stand-in for whisper weights that cannot be downloaded here)',
  );
  return new ReferenceTranscriber(truth, originMs, periodMs);
}
