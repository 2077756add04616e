/**
 * The cloud path for transcripts: the segment's audio (the one the local transcript came from,
 * joined by its VAD segment id) goes to `/audio/transcriptions`, and the answer becomes a
 * Transcript like the local one with `refines` set to the local transcript's envelope id. The
 * gateway (gateway.ts) makes the call and publishes it on `inference/stt/<mic>/refined`.
 */
import type { Transcript } from '../bus/topics.js';
import type { CallOptions, CloudClient } from './cloud-client.js';
import { whisperConfidence } from './confidence.js';

/** A cloud transcription of the segment as a Transcript refining the local one (`refines`). */
export async function refineTranscriptInCloud(
  client: CloudClient,
  local: Transcript,
  audio: { samples: Int16Array; sampleRateHz: number },
  options: CallOptions & { readonly modelId: string; readonly refines: string },
): Promise<Transcript> {
  const r = await client.transcribe(audio, { ...options, language: local.language });
  return {
    ...local,
    modelId: options.modelId,
    text: r.text,
    language: r.language ?? local.language,
    // Without per-segment log-probabilities the API gives no measure: its answer is taken as sure.
    confidence:
      r.avgLogProb === undefined
        ? 1
        : whisperConfidence({ text: r.text, avgLogProb: r.avgLogProb, noSpeechProb: r.noSpeechProb ?? 0 }),
    avgLogProb: r.avgLogProb ?? 0,
    noSpeechProb: r.noSpeechProb ?? 0,
    latencyMs: r.latencyMs,
    inferenceMs: r.latencyMs,
    refines: options.refines,
  };
}
