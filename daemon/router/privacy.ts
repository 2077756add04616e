/**
 * Privacy tiers per sensor and per topic, changeable at run time.
 *
 * Resolution for a topic: take the tier of the sensor the data came from
 * (`sensors.<kind>.privacy`) and the most specific matching topic override
 * (`router.privacy.overrides`); the effective tier is the STRICTER of the two. A layer can only
 * tighten, never loosen, what another layer says, so a broad override cannot accidentally open a
 * camera that is marked local_only. When neither applies, `router.privacy.default_tier` is used.
 *
 * Run-time changes (`setTier`, called by the MQTT command handler) replace the value at their
 * scope and count from the next decision on.
 */

import { parsePattern, patternMatches } from '../bus/topic-match.js';
import type { PrivacyTier, SensorKind } from '../bus/topics.js';
import type { RouterPrivacyConfig, SensorsConfig } from '../config/index.js';
import { EdgeloomError } from '../errors.js';

/** Least to most restrictive. */
export const TIER_ORDER: readonly PrivacyTier[] = ['public', 'sensitive', 'private', 'local_only'];

export function stricter(a: PrivacyTier, b: PrivacyTier): PrivacyTier {
  return TIER_ORDER.indexOf(a) >= TIER_ORDER.indexOf(b) ? a : b;
}

/** `sensor:<kind>` (camera, mic, imu) or a bus topic pattern with MQTT wildcards. */
export type PrivacyScope = `sensor:${SensorKind}` | string;

/** Which sensor a topic's data derives from; undefined for topics not tied to one. */
export function sensorOfTopic(topic: string): SensorKind | undefined {
  const [a, b, c] = topic.split('/');
  if (a === 'sensor' && (b === 'camera' || b === 'mic' || b === 'imu')) return b;
  if (a === 'inference') {
    if (b === 'stt' || b === 'vad') return 'mic';
    if (b === 'face') return 'camera';
  }
  // Intents are computed from transcripts, so they carry the microphone's tier.
  if (a === 'agent' && c === 'intent') return 'mic';
  return undefined;
}

/** Higher is more specific: literal levels count most, `+` next, `#` least. */
function specificity(pattern: string): number {
  let score = 0;
  for (const level of pattern.split('/')) score += level === '#' ? 1 : level === '+' ? 10 : 100;
  return score;
}

const isTier = (t: unknown): t is PrivacyTier => TIER_ORDER.includes(t as PrivacyTier);

export interface PrivacyTiersOptions {
  readonly privacy: RouterPrivacyConfig;
  /** Only the `privacy` key of each sensor is read. */
  readonly sensors: { readonly [K in SensorKind]?: Pick<SensorsConfig[K], 'privacy'> };
}

export class PrivacyTiers {
  private defaultTier: PrivacyTier;
  private readonly sensorTiers = new Map<SensorKind, PrivacyTier>();
  /** Pattern → tier, kept sorted most specific first. */
  private overrides: [string, PrivacyTier][] = [];

  constructor(options: PrivacyTiersOptions) {
    this.defaultTier = options.privacy.default_tier;
    for (const kind of ['camera', 'mic', 'imu'] as const) {
      const tier = options.sensors[kind]?.privacy;
      if (tier !== undefined) this.sensorTiers.set(kind, tier);
    }
    for (const [pattern, tier] of Object.entries(options.privacy.overrides)) this.setTier(pattern, tier);
  }

  /** The effective tier of data published on `topic` (see the module comment). */
  tierFor(topic: string): PrivacyTier {
    const sensor = sensorOfTopic(topic);
    const sensorTier = sensor === undefined ? undefined : this.sensorTiers.get(sensor);
    const override = this.overrides.find(([p]) => patternMatches(p, topic))?.[1];
    if (sensorTier !== undefined && override !== undefined) return stricter(sensorTier, override);
    return sensorTier ?? override ?? this.defaultTier;
  }

  /**
   * Change a tier at run time: `sensor:mic`, `default`, or a topic pattern. Throws
   * `E_PRIVACY_SCOPE` / `E_PRIVACY_TIER` for bad input (the command handler reports it).
   */
  setTier(scope: PrivacyScope, tier: PrivacyTier): void {
    if (!isTier(tier)) {
      throw new EdgeloomError('E_PRIVACY_TIER', `unknown privacy tier ${JSON.stringify(tier)}`, {
        where: scope,
      });
    }
    if (scope === 'default') {
      this.defaultTier = tier;
      return;
    }
    if (scope.startsWith('sensor:')) {
      const kind = scope.slice('sensor:'.length);
      if (kind !== 'camera' && kind !== 'mic' && kind !== 'imu') {
        throw new EdgeloomError('E_PRIVACY_SCOPE', `unknown sensor kind in scope ${JSON.stringify(scope)}`, {
          where: 'router.privacy',
        });
      }
      this.sensorTiers.set(kind, tier);
      return;
    }
    try {
      parsePattern(scope);
    } catch (err) {
      throw new EdgeloomError('E_PRIVACY_SCOPE', `bad privacy scope ${JSON.stringify(scope)}`, {
        where: 'router.privacy',
        cause: err,
      });
    }
    this.overrides = this.overrides.filter(([p]) => p !== scope);
    this.overrides.push([scope, tier]);
    this.overrides.sort((x, y) => specificity(y[0]) - specificity(x[0]));
  }

  /** Current settings, for status output. */
  snapshot(): {
    defaultTier: PrivacyTier;
    sensors: Record<string, PrivacyTier>;
    overrides: Record<string, PrivacyTier>;
  } {
    return {
      defaultTier: this.defaultTier,
      sensors: Object.fromEntries(this.sensorTiers),
      overrides: Object.fromEntries(this.overrides),
    };
  }
}
