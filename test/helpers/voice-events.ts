/** Events of the voice path as the pipeline publishes them, for tests that feed an agent directly. */
import type { Transcript } from '../../daemon/bus/topics.js';

/** A confident local transcript of one 1 s segment (`mic:1`) starting at clock 0. */
export function transcript(text: string): Transcript {
  return {
    text,
    modelId: 'whisper',
    confidence: 0.9,
    latencyMs: 10,
    inputTsMs: 0,
    language: 'en',
    noSpeechProb: 0.01,
    avgLogProb: -0.2,
    durationMs: 1000,
    inferenceMs: 100,
    segmentStartMs: 0,
    segmentId: 'mic:1',
  };
}
