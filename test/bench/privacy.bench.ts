/**
 * Routing cost against the size of the privacy override set. The workload is the router's and the
 * MQTT gate's: one tier lookup per event, cycling over the device's topics (frames, faces, speech,
 * transcripts, intents, decisions). Compared in the same run:
 *
 * - `default`: the config's one override;
 * - `full`: MAX_OVERRIDES overrides, the most the set holds (an attacker's 30k scopes are refused);
 * - `changing`: the full set with a tier change every 1000 lookups (each change empties the cache);
 * - `unbounded`: the finding's case — a linear scan over 30 000 patterns per lookup, as the
 *   router did before the bound (the cost the bound removes).
 *
 * Target: `full` within 1.5x of `default` (the bound and the cache keep routing flat).
 */
import { patternMatches } from '../../daemon/bus/topic-match.js';
import { loadConfig } from '../../daemon/config/index.js';
import { MAX_OVERRIDES, PrivacyTiers } from '../../daemon/router/privacy.js';
import type { BenchTarget } from './run.js';

export const name = 'privacy';

export const targets: readonly BenchTarget[] = [
  {
    figure: 'ratio_full_vs_default',
    max: 1.5,
    why: 'a tier lookup with the full override set (64) costs at most 1.5x the one-override config',
  },
];

function nsPerLookup(lookup: (topic: string) => unknown, topics: readonly string[], n: number): number {
  for (let i = 0; i < 1000; i++) lookup(topics[i % topics.length]!); // warm-up
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) lookup(topics[i % topics.length]!);
  return Number(process.hrtime.bigint() - t0) / n;
}

/** Fill the set with distinct patterns that match the device's topics (each level literal or `+`). */
function fill(p: PrivacyTiers): void {
  for (const topic of p.knownTopics()) {
    const levels = topic.split('/');
    for (let mask = 0; mask < 2 ** levels.length; mask++) {
      if (Object.keys(p.snapshot().overrides).length >= MAX_OVERRIDES) return;
      try {
        p.setTier(levels.map((l, i) => ((mask >> i) & 1 ? '+' : l)).join('/'), 'local_only');
      } catch {
        // already present, or full
      }
    }
  }
}

export async function bench({
  quick,
}: {
  quick: boolean;
}): Promise<Record<string, number | string | boolean>> {
  const n = quick ? 200_000 : 2_000_000;
  const config = loadConfig({ env: {}, overrides: { device: { id: 'bench' } } });
  const options = { privacy: config.router.privacy, sensors: config.sensors };
  const base = new PrivacyTiers(options);
  const topics = base.knownTopics();
  const full = new PrivacyTiers(options);
  fill(full);
  const changing = new PrivacyTiers(options);
  fill(changing);
  let count = 0;
  const tiers = ['private', 'local_only'] as const;
  const unbounded = Array.from({ length: 30_000 }, (_, i) => `inference/stt/attacker-${i}/#`);
  unbounded.push('inference/face/#');
  const defaultNs = nsPerLookup((t) => base.tierFor(t), topics, n);
  const fullNs = nsPerLookup((t) => full.tierFor(t), topics, n);
  const changingNs = nsPerLookup(
    (t) => {
      if (++count % 1000 === 0) changing.setTier('mic0', tiers[(count / 1000) % 2]!);
      return changing.tierFor(t);
    },
    topics,
    n,
  );
  const unboundedNs = nsPerLookup(
    (t) => unbounded.find((p) => patternMatches(p, t)),
    topics,
    Math.max(200, Math.floor(n / 5000)),
  );
  const ratio = fullNs / defaultNs;
  return {
    overrides_full: Object.keys(full.snapshot().overrides).length,
    default_ns_per_lookup: Math.round(defaultNs),
    full_ns_per_lookup: Math.round(fullNs),
    changing_ns_per_lookup: Math.round(changingNs),
    unbounded_30k_ns_per_lookup: Math.round(unboundedNs),
    ratio_full_vs_default: Math.round(ratio * 100) / 100,
    ratio_unbounded_vs_full: Math.round(unboundedNs / fullNs),
    target_ratio_full_vs_default: 1.5,
    meets_targets: ratio <= 1.5,
  };
}
