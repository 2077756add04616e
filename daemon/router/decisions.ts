/**
 * What the router says about a route, written once for every entry point of the cloud gateway
 * (gateway.ts: a local inference decided, refined, or an utterance assisted): the
 * `router/decision` payload, and the reason a decision falls back with when the cloud was wanted
 * but could not be used (README, "The router").
 */
import type { PrivacyTier, Route, RouteDecision } from '../bus/topics.js';
import { ErrorCode, isEdgeloomError } from '../errors.js';
import type { CloudData } from './policy.js';

/** What a decision is about. */
export interface DecisionSubject {
  /** Envelope id of the inference (or utterance) decided on: the decision's `inferenceId`. */
  readonly inferenceId: string;
  readonly correlationId: string;
  /** `transcript`, `face`, `intent`. */
  readonly kind: string;
  readonly modelId: string;
  /** Envelope source of the decisions about it (the router stage, or its cloud-assist path). */
  readonly source: string;
}

/** What the policy is asked beyond what the gateway knows itself (tier, cost, breaker, latency). */
export interface DecisionAsk {
  readonly subject: DecisionSubject;
  /** The bus topic whose privacy tier applies. */
  readonly topic: string;
  readonly localAvailable: boolean;
  readonly confidence: number;
  readonly threshold: number;
  readonly hybridBand: number;
  readonly cloudData: CloudData;
  readonly explicitUserRequest: boolean;
  /** Estimated price of the cloud call, USD. */
  readonly callUsd: number;
}

/** A route with its reason and the numbers it looked at (a PolicyDecision, or one overridden). */
export interface DecisionOutcome {
  readonly route: Route;
  readonly reason: string;
  readonly numbers: Readonly<Record<string, number>>;
}

/**
 * Reasons of a `local_fallback` (or `local`) that replaces the policy's route after it: the media
 * a refinement needs is gone, there is nothing to refine, or the cloud call failed (FAILURE_REASONS).
 */
export const FOLLOW_UP_REASONS = [
  'audio_unavailable',
  'image_unavailable',
  'no_faces',
  'cloud_busy',
  'cloud_timeout',
  'cloud_aborted',
  'breaker_open',
  'cloud_bad_response',
  'privacy_refused',
  'cloud_failed',
] as const;
export type FollowUpReason = (typeof FOLLOW_UP_REASONS)[number];

/**
 * The follow-up reason per cloud error code, for every cloud call the gateway makes (a refinement
 * or an assist); any other failure is OTHER_FAILURE.
 */
export const FAILURE_REASONS: Readonly<Partial<Record<ErrorCode, FollowUpReason>>> = {
  E_CLOUD_TIMEOUT: 'cloud_timeout',
  E_CLOUD_ABORTED: 'cloud_aborted',
  E_CLOUD_BREAKER_OPEN: 'breaker_open',
  E_CLOUD_BAD_RESPONSE: 'cloud_bad_response',
  // The egress guard refused the request (egress.ts): a bug upstream, never sent.
  E_PRIVACY_VIOLATION: 'privacy_refused',
};
export const OTHER_FAILURE: FollowUpReason = 'cloud_failed';

/** The code of anything a cloud call threw (`E_UNKNOWN` for an error without one). */
export function failureCode(err: unknown): ErrorCode {
  return isEdgeloomError(err) ? err.code : ErrorCode.E_UNKNOWN;
}

/** Why a failed cloud call falls back: FAILURE_REASONS, else OTHER_FAILURE. */
export function failureReason(code: ErrorCode): FollowUpReason {
  return FAILURE_REASONS[code] ?? OTHER_FAILURE;
}

/** The `router/decision` payload. */
export function routeDecision(
  subject: DecisionSubject,
  tier: PrivacyTier,
  d: DecisionOutcome,
): RouteDecision {
  return {
    inferenceId: subject.inferenceId,
    kind: subject.kind,
    modelId: subject.modelId,
    route: d.route,
    reason: d.reason,
    numbers: readableNumbers(d.numbers),
    tier,
  };
}

/**
 * The decision's numbers as published: rounded to 6 decimals so a printed decision reads
 * `"confidence":0.948265` rather than 17 digits of float noise (the policy used the exact values).
 */
export function readableNumbers(numbers: Readonly<Record<string, number>>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(numbers)) out[k] = Number.isFinite(v) ? Math.round(v * 1e6) / 1e6 : v;
  return out;
}
