/**
 * One cloud refinement, whatever its kind (a transcript, a face frame): charge the cost, call the
 * cloud inside the latency budget (cancelled by an interrupt or the stage's stop), publish the
 * refined payload, or, when the call fails, report a follow-up `local_fallback` whose reason names
 * why. The local result was already published, so a failure costs nothing but the refinement.
 */
import type { Transcript } from '../bus/topics.js';
import { ErrorCode, isEdgeloomError, toError } from '../errors.js';
import type { Logger } from '../log.js';
import type { CallOptions, CloudClient } from './cloud-client.js';
import { whisperConfidence } from './confidence.js';
import type { CostTracker } from './cost.js';
import type { EgressContext } from './egress.js';
import type { RouterTelemetry } from './telemetry.js';

/** Follow-up decision reason per cloud error code; any other failure is `cloud_failed`. */
export const FALLBACK_REASONS: Readonly<Record<string, string>> = {
  E_CLOUD_TIMEOUT: 'cloud_timeout',
  E_CLOUD_ABORTED: 'cloud_aborted',
  E_CLOUD_BREAKER_OPEN: 'breaker_open',
  E_CLOUD_BAD_RESPONSE: 'cloud_bad_response',
};

export interface RefinementDeps {
  readonly cost: CostTracker;
  readonly telemetry: RouterTelemetry;
  readonly logger: Logger;
  /** The whole call, retries included, ms (`router.latency_budget_ms`). */
  readonly budgetMs: number;
  /** Aborted when the router stops. */
  readonly stopSignal: AbortSignal;
}

export interface RefinementJob<T> {
  readonly kind: string;
  readonly context: EgressContext;
  readonly callUsd: number;
  /** The bus handler's signal: an interrupt cancels the call. */
  readonly signal: AbortSignal;
  /** Make the cloud call and build the refined payload. */
  readonly call: (options: CallOptions) => Promise<{ payload: T; latencyMs: number }>;
  readonly publish: (payload: T) => Promise<void> | undefined;
  /** Report the failed call as a `local_fallback` with this reason. */
  readonly fallback: (reason: string) => void;
}

export async function runRefinement<T>(deps: RefinementDeps, job: RefinementJob<T>): Promise<void> {
  await deps.cost.charge(job.callUsd);
  deps.telemetry.cloudCalls++;
  let refined: { payload: T; latencyMs: number };
  try {
    refined = await job.call({
      context: job.context,
      budgetMs: deps.budgetMs,
      signal: AbortSignal.any([job.signal, deps.stopSignal]),
    });
  } catch (thrown) {
    deps.telemetry.cloudFailures++;
    const err = toError(thrown);
    const code = isEdgeloomError(err) ? err.code : ErrorCode.E_UNKNOWN;
    deps.logger.warn(
      { code, err: err.message, correlationId: job.context.correlationId, kind: job.kind },
      'cloud refinement failed',
    );
    job.fallback(FALLBACK_REASONS[code] ?? 'cloud_failed');
    return;
  }
  deps.telemetry.recordCloudLatency(refined.latencyMs);
  deps.telemetry.refinementsPublished++;
  await job.publish(refined.payload);
}

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
