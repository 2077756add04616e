import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PrivacyTier, Route } from '../../daemon/bus/topics.js';
import { decide, egressAllowed, type PolicyInput, REASONS } from '../../daemon/router/policy.js';

/** A transcript that wants the cloud (below threshold), public tier, healthy cheap fast cloud. */
const base: PolicyInput = {
  kind: 'transcript',
  modelId: 'whisper-tiny.en',
  localAvailable: true,
  confidence: 0.3,
  threshold: 0.6,
  hybridBand: 0.1,
  cloudData: 'raw',
  tier: 'public',
  latencyBudgetMs: 1500,
  cost: { spentTodayUsd: 0, dailyCapUsd: 1, callUsd: 0.006 },
  cloud: { enabled: true, breaker: 'closed', p50LatencyMs: 400 },
};

type Row = [name: string, patch: Partial<PolicyInput>, route: Route, reason: string];

const rows: Row[] = [
  [
    'local_only keeps derived data too',
    { tier: 'local_only', cloudData: 'derived' },
    'local',
    'privacy_local_only',
  ],
  [
    'local_only ignores an explicit request',
    { tier: 'local_only', cloudData: 'derived', explicitUserRequest: true },
    'local',
    'privacy_local_only',
  ],
  [
    'private keeps derived data without a request',
    { tier: 'private', cloudData: 'derived' },
    'local',
    'privacy_private',
  ],
  [
    'private lets derived data go on explicit request',
    { tier: 'private', cloudData: 'derived', explicitUserRequest: true },
    'cloud',
    'confidence_below_threshold',
  ],
  [
    'private keeps raw data even on request',
    { tier: 'private', cloudData: 'raw', explicitUserRequest: true },
    'local',
    'privacy_private',
  ],
  ['sensitive keeps raw data', { tier: 'sensitive', cloudData: 'raw' }, 'local', 'privacy_raw_forbidden'],
  [
    'sensitive lets derived data go',
    { tier: 'sensitive', cloudData: 'derived' },
    'cloud',
    'confidence_below_threshold',
  ],
  [
    'privacy without a local result drops',
    { tier: 'sensitive', localAvailable: false },
    'drop',
    'privacy_no_local_result',
  ],
  ['above the band stays local', { confidence: 0.7 }, 'local', 'confidence_above_band'],
  ['exactly at the band top stays local', { confidence: 0.7000001 }, 'local', 'confidence_above_band'],
  [
    'cloud disabled falls back',
    { cloud: { ...base.cloud, enabled: false } },
    'local_fallback',
    'cloud_disabled',
  ],
  [
    'cloud disabled without a local result drops',
    { localAvailable: false, cloud: { ...base.cloud, enabled: false } },
    'drop',
    'cloud_disabled',
  ],
  [
    'breaker open falls back',
    { cloud: { ...base.cloud, breaker: 'open' } },
    'local_fallback',
    'breaker_open',
  ],
  [
    'half-open breaker lets a probe through',
    { cloud: { ...base.cloud, breaker: 'half_open' } },
    'cloud',
    'confidence_below_threshold',
  ],
  [
    'slow cloud falls back',
    { cloud: { ...base.cloud, p50LatencyMs: 1600 } },
    'local_fallback',
    'cloud_too_slow',
  ],
  [
    'unknown cloud latency is not held against it',
    { cloud: { ...base.cloud, p50LatencyMs: undefined } },
    'cloud',
    'confidence_below_threshold',
  ],
  [
    'cost cap falls back',
    { cost: { spentTodayUsd: 0.998, dailyCapUsd: 1, callUsd: 0.006 } },
    'local_fallback',
    'cost_cap_reached',
  ],
  ['in the band is hybrid', { confidence: 0.65 }, 'hybrid', 'in_hybrid_band'],
  ['at the threshold is hybrid', { confidence: 0.6 }, 'hybrid', 'in_hybrid_band'],
  [
    'in the band with the cloud down falls back',
    { confidence: 0.65, cloud: { ...base.cloud, breaker: 'open' } },
    'local_fallback',
    'breaker_open',
  ],
  ['below threshold goes to the cloud', {}, 'cloud', 'confidence_below_threshold'],
  [
    'no local result goes to the cloud',
    { localAvailable: false, confidence: 0.99 },
    'cloud',
    'no_local_result',
  ],
  ['NaN confidence asks the cloud', { confidence: Number.NaN }, 'cloud', 'confidence_below_threshold'],
  ['zero band: at threshold is local', { confidence: 0.6, hybridBand: 0 }, 'local', 'confidence_above_band'],
];

describe('decide()', () => {
  it.each(rows)('%s', (_name, patch, route, reason) => {
    const d = decide({ ...base, ...patch });
    expect(d.route).toBe(route);
    expect(d.reason).toBe(reason);
    expect(REASONS).toContain(d.reason);
  });

  it('reports the numbers it used', () => {
    const d = decide({ ...base, confidence: 0.65 });
    expect(d.numbers).toEqual({
      confidence: 0.65,
      threshold: 0.6,
      hybridBand: 0.1,
      latencyBudgetMs: 1500,
      spentTodayUsd: 0,
      dailyCapUsd: 1,
      callUsd: 0.006,
      cloudP50Ms: 400,
    });
    expect(decide({ ...base, cloud: { ...base.cloud, p50LatencyMs: undefined } }).numbers).not.toHaveProperty(
      'cloudP50Ms',
    );
  });

  it('privacy comes before everything else in the order', () => {
    // Every later rule would say something different; privacy must still win.
    const d = decide({
      ...base,
      tier: 'sensitive',
      cost: { spentTodayUsd: 5, dailyCapUsd: 1, callUsd: 1 },
      cloud: { enabled: false, breaker: 'open', p50LatencyMs: 1e9 },
    });
    expect(d.reason).toBe('privacy_raw_forbidden');
  });

  it('every reason code is reachable from the table', () => {
    const seen = new Set(rows.map(([, patch]) => decide({ ...base, ...patch }).reason));
    expect([...REASONS].filter((r) => !seen.has(r))).toEqual([]);
  });
});

const tierArb = fc.constantFrom<PrivacyTier>('public', 'sensitive', 'private', 'local_only');
const inputArb: fc.Arbitrary<PolicyInput> = fc.record({
  kind: fc.constantFrom('transcript', 'face', 'speech', 'intent'),
  modelId: fc.string(),
  localAvailable: fc.boolean(),
  confidence: fc.oneof(fc.double(), fc.double({ min: 0, max: 1 })),
  threshold: fc.double({ min: 0, max: 1, noNaN: true }),
  hybridBand: fc.double({ min: 0, max: 1, noNaN: true }),
  cloudData: fc.constantFrom('raw' as const, 'derived' as const),
  tier: tierArb,
  explicitUserRequest: fc.boolean(),
  latencyBudgetMs: fc.integer({ min: 1, max: 60_000 }),
  cost: fc.record({
    spentTodayUsd: fc.double({ min: 0, max: 10 }),
    dailyCapUsd: fc.double({ min: 0, max: 10 }),
    callUsd: fc.double({ min: 0, max: 1 }),
  }),
  cloud: fc.record({
    enabled: fc.boolean(),
    breaker: fc.constantFrom('closed' as const, 'open' as const, 'half_open' as const),
    p50LatencyMs: fc.option(fc.integer({ min: 0, max: 60_000 }), { nil: undefined }),
  }),
});

describe('privacy property', () => {
  it('raw data never goes to the cloud under sensitive, private or local_only', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const d = decide({
          ...input,
          cloudData: 'raw',
          tier: input.tier === 'public' ? 'sensitive' : input.tier,
        });
        return d.route !== 'cloud' && d.route !== 'hybrid';
      }),
      { numRuns: 5000 },
    );
  });

  it('nothing at all leaves under local_only, and private needs an explicit request', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const d = decide(input);
        const leaves = d.route === 'cloud' || d.route === 'hybrid';
        if (input.tier === 'local_only') return !leaves;
        if (input.tier === 'private' && leaves)
          return input.explicitUserRequest === true && input.cloudData === 'derived';
        return true;
      }),
      { numRuns: 5000 },
    );
  });

  it('the cloud is never chosen while it is disabled, broken or over the cap', () => {
    fc.assert(
      fc.property(inputArb, (input) => {
        const d = decide(input);
        if (d.route !== 'cloud' && d.route !== 'hybrid') return true;
        const c = input.cost;
        return (
          input.cloud.enabled &&
          input.cloud.breaker !== 'open' &&
          c.spentTodayUsd + c.callUsd <= c.dailyCapUsd
        );
      }),
      { numRuns: 2000 },
    );
  });

  it('egressAllowed is monotone in the tier order', () => {
    const order: PrivacyTier[] = ['public', 'sensitive', 'private', 'local_only'];
    for (const data of ['raw', 'derived'] as const) {
      for (const explicit of [false, true]) {
        const allowed = order.map((t) => egressAllowed(t, data, explicit));
        // once forbidden, every stricter tier forbids too
        expect(allowed.indexOf(false) === -1 || allowed.slice(allowed.indexOf(false)).every((a) => !a)).toBe(
          true,
        );
      }
    }
  });
});
