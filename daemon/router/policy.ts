/**
 * The routing policy: one pure function from what is known about an inference to a route.
 * No I/O, no clock, no state, so every branch is a table row in test/unit/router-policy.test.ts
 * and a property test can prove the privacy rule over arbitrary inputs.
 *
 * Order (README, "The router"): privacy → local capability → local confidence vs threshold →
 * cloud availability (enabled, breaker) → latency budget → cost cap → hybrid band → cloud.
 * The first rule that settles the question wins, and its reason code names it.
 */
import type { PrivacyTier, Route } from '../bus/topics.js';

/** What the cloud path would have to send: `raw` = audio or images, `derived` = text, labels, embeddings. */
export type CloudData = 'raw' | 'derived';
export type BreakerState = 'closed' | 'open' | 'half_open';

export interface PolicyInput {
  /** `transcript`, `face`, `speech`, `intent`, ... (informational; the policy is kind-agnostic). */
  readonly kind: string;
  readonly modelId: string;
  /** Whether a usable local result exists (a local model ran and produced something). */
  readonly localAvailable: boolean;
  /** The local result's confidence, 0..1 (see confidence.ts); ignored when !localAvailable. */
  readonly confidence: number;
  /** Minimum local confidence for this model, 0..1 (`router.thresholds`). */
  readonly threshold: number;
  /** Width of the band above the threshold where a cloud refinement is requested, 0..1. */
  readonly hybridBand: number;
  readonly cloudData: CloudData;
  readonly tier: PrivacyTier;
  /**
   * The user explicitly asked for the cloud for this item ("ask the cloud"). Only relaxes
   * `private` for derived data; never raw data, never `local_only`.
   */
  readonly explicitUserRequest?: boolean;
  /** Longest the answer may take, ms. */
  readonly latencyBudgetMs: number;
  readonly cost: {
    readonly spentTodayUsd: number;
    readonly dailyCapUsd: number;
    /** Estimated price of this call, USD. */
    readonly callUsd: number;
  };
  readonly cloud: {
    readonly enabled: boolean;
    readonly breaker: BreakerState;
    /** Median latency of recent cloud calls, ms; undefined when no call has been timed yet. */
    readonly p50LatencyMs: number | undefined;
  };
}

export interface PolicyDecision {
  readonly route: Route;
  /** Stable machine-readable reason code (listed in REASONS). */
  readonly reason: Reason;
  /** Every number the decision looked at. */
  readonly numbers: Readonly<Record<string, number>>;
}

export const REASONS = [
  'privacy_local_only',
  'privacy_private',
  'privacy_raw_forbidden',
  'privacy_no_local_result',
  'confidence_above_band',
  'cloud_disabled',
  'breaker_open',
  'cloud_too_slow',
  'cost_cap_reached',
  'in_hybrid_band',
  'confidence_below_threshold',
  'no_local_result',
] as const;
export type Reason = (typeof REASONS)[number];

/**
 * Whether `tier` lets data of class `data` leave the device at all.
 * - public: raw and derived.
 * - sensitive: derived only (transcript text, emotion labels, embeddings), never audio/images.
 * - private: nothing automatically; derived data only on an explicit user request.
 * - local_only: nothing, ever (not even on request).
 */
export function egressAllowed(tier: PrivacyTier, data: CloudData, explicitUserRequest = false): boolean {
  switch (tier) {
    case 'public':
      return true;
    case 'sensitive':
      return data === 'derived';
    case 'private':
      return data === 'derived' && explicitUserRequest;
    case 'local_only':
      return false;
  }
}

function privacyReason(tier: PrivacyTier): Reason {
  if (tier === 'local_only') return 'privacy_local_only';
  if (tier === 'private') return 'privacy_private';
  return 'privacy_raw_forbidden';
}

export function decide(input: PolicyInput): PolicyDecision {
  const numbers: Record<string, number> = {
    confidence: input.localAvailable ? input.confidence : 0,
    threshold: input.threshold,
    hybridBand: input.hybridBand,
    latencyBudgetMs: input.latencyBudgetMs,
    spentTodayUsd: input.cost.spentTodayUsd,
    dailyCapUsd: input.cost.dailyCapUsd,
    callUsd: input.cost.callUsd,
  };
  if (input.cloud.p50LatencyMs !== undefined) numbers.cloudP50Ms = input.cloud.p50LatencyMs;
  const out = (route: Route, reason: Reason): PolicyDecision => ({ route, reason, numbers });

  // 1. privacy: when the data may not leave, the local result is all there is.
  if (!egressAllowed(input.tier, input.cloudData, input.explicitUserRequest === true)) {
    return input.localAvailable
      ? out('local', privacyReason(input.tier))
      : out('drop', 'privacy_no_local_result');
  }
  // 2+3. local capability and confidence: a clearly confident local answer needs no cloud.
  // NaN confidence (a broken model output) compares false everywhere and so asks the cloud.
  const bandTop = input.threshold + input.hybridBand;
  if (input.localAvailable && input.confidence >= bandTop) return out('local', 'confidence_above_band');

  // The cloud is wanted from here on; any obstacle falls back to the local result (or drops).
  const fallback = (reason: Reason): PolicyDecision =>
    input.localAvailable ? out('local_fallback', reason) : out('drop', reason);
  if (!input.cloud.enabled) return fallback('cloud_disabled');
  if (input.cloud.breaker === 'open') return fallback('breaker_open');
  // 4. latency: a cloud that typically answers after the budget cannot help.
  const p50 = input.cloud.p50LatencyMs;
  // Comparisons are written so that NaN (a corrupt figure) fails closed, towards local.
  if (p50 !== undefined && !(p50 <= input.latencyBudgetMs)) return fallback('cloud_too_slow');
  // 5. cost cap.
  if (!(input.cost.spentTodayUsd + input.cost.callUsd <= input.cost.dailyCapUsd)) {
    return fallback('cost_cap_reached');
  }
  // 6. hybrid band: good enough to publish now, worth refining.
  if (input.localAvailable && input.confidence >= input.threshold) return out('hybrid', 'in_hybrid_band');
  // 7. cloud.
  return out('cloud', input.localAvailable ? 'confidence_below_threshold' : 'no_local_result');
}
