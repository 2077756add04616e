/**
 * Privacy tiers per sensor and per topic: the pure state behind the router's policy and the MQTT
 * egress gate (who may change it, and how changes persist, is daemon/privacy/privacy-control.ts).
 *
 * Resolution for a topic: take the tier of the sensor the data came from
 * (`sensors.<kind>.privacy`) and the most specific matching topic override
 * (`router.privacy.overrides`); the effective tier is the STRICTER of the two. A layer can only
 * tighten, never loosen, what another layer says, so a broad override cannot accidentally open a
 * camera that is marked local_only. When neither applies, `router.privacy.default_tier` is used.
 *
 * Scopes name what a change applies to: `default`, a sensor by id (`mic0`, as in the README's
 * `{"scope":"mic0"}`) or kind (`sensor:mic`), or a bus topic pattern that matches at least one
 * topic this device publishes (a typo is refused, not stored). At most MAX_OVERRIDES topic
 * overrides exist (config and run time together); past it a new pattern is refused with
 * `E_PRIVACY_FULL` (changing an existing one still works), so an endless stream of scopes cannot
 * grow the set. `tierFor` answers from a bounded per-topic cache, so routing costs the same
 * whatever the overrides hold.
 */

import { parsePattern, patternMatches } from '../bus/topic-match.js';
import type { PrivacyTier, SensorKind } from '../bus/topics.js';
import type { RouterPrivacyConfig, SensorsConfig } from '../config/index.js';
import { MAX_PRIVACY_OVERRIDES } from '../config/rules.js';
import { EdgeloomError, ErrorCode } from '../errors.js';

/** Least to most restrictive. */
export const TIER_ORDER: readonly PrivacyTier[] = ['public', 'sensitive', 'private', 'local_only'];

/** Topic overrides kept at most; a new pattern past it is refused (E_PRIVACY_FULL). */
export const MAX_OVERRIDES = MAX_PRIVACY_OVERRIDES;
/** Topics whose tier is cached; when full the cache is emptied (topics are few: one set per sensor). */
const CACHE_MAX = 512;

export function stricter(a: PrivacyTier, b: PrivacyTier): PrivacyTier {
  return TIER_ORDER.indexOf(a) >= TIER_ORDER.indexOf(b) ? a : b;
}

/** True when `a` lets less leave the device than `b`... or the same. */
export function atLeastAsStrict(a: PrivacyTier, b: PrivacyTier): boolean {
  return TIER_ORDER.indexOf(a) >= TIER_ORDER.indexOf(b);
}

/** `default`, `sensor:<kind>`, or a bus topic pattern with MQTT wildcards. */
export type CanonicalScope = 'default' | `sensor:${SensorKind}` | string;
/** What a caller may write: a canonical scope or a sensor id (`mic0`). */
export type PrivacyScope = string;

const KINDS: readonly SensorKind[] = ['camera', 'mic', 'imu'];
/** The schema's default sensor ids, for callers that pass tiers without ids. */
const DEFAULT_IDS: { readonly [K in SensorKind]: string } = { camera: 'cam0', mic: 'mic0', imu: 'imu0' };

/** Which sensor a topic's data derives from; undefined for topics not tied to one. */
export function sensorOfTopic(topic: string): SensorKind | undefined {
  const [a, b, c] = topic.split('/');
  if (a === 'sensor' && (b === 'camera' || b === 'mic' || b === 'imu')) return b;
  if (a === 'inference') {
    if (b === 'stt' || b === 'vad' || b === 'wake') return 'mic';
    if (b === 'face') return 'camera';
  }
  // Intents are computed from transcripts, so they carry the microphone's tier; the emotion
  // display shows what the camera saw; motion events are the IMU's.
  if (a === 'agent' && c === 'intent') return 'mic';
  // What the assistant answers and says is made from what it heard (issue #14).
  if (a === 'agent' && c === 'answer') return 'mic';
  if (a === 'action' && (b === 'speaking' || b === 'say')) return 'mic';
  if (a === 'agent' && c === 'motion') return 'imu';
  if (a === 'action' && b === 'display') return 'camera';
  return undefined;
}

/** The bus topics a device with these sensor ids publishes personal data on. */
export function deviceTopics(ids: { readonly [K in SensorKind]?: string }): string[] {
  const out: string[] = [];
  if (ids.camera !== undefined) {
    out.push(`sensor/camera/${ids.camera}/frame`, `sensor/camera/${ids.camera}/status`);
    out.push(`inference/face/${ids.camera}`, `inference/face/${ids.camera}/refined`, 'action/display');
  }
  if (ids.mic !== undefined) {
    out.push(`sensor/mic/${ids.mic}/frame`, `sensor/mic/${ids.mic}/status`);
    out.push(`inference/vad/${ids.mic}`, `inference/stt/${ids.mic}`, `inference/stt/${ids.mic}/refined`);
    out.push(`inference/wake/${ids.mic}`);
    out.push('agent/voice/intent', 'agent/voice/answer', 'action/say', 'action/speaking');
  }
  if (ids.imu !== undefined) {
    out.push(`sensor/imu/${ids.imu}/window`, `sensor/imu/${ids.imu}/status`, 'agent/motion/motion');
  }
  out.push('router/decision', 'action/mqtt');
  return out;
}

/** Higher is more specific: literal levels count most, `+` next, `#` least. */
function specificity(pattern: string): number {
  let score = 0;
  for (const level of pattern.split('/')) score += level === '#' ? 1 : level === '+' ? 10 : 100;
  return score;
}

export const isTier = (t: unknown): t is PrivacyTier => TIER_ORDER.includes(t as PrivacyTier);

export interface PrivacyTiersOptions {
  readonly privacy: RouterPrivacyConfig;
  /** Only the `privacy` (and `id`, to resolve scopes like `mic0`) keys of each sensor are read. */
  readonly sensors: {
    readonly [K in SensorKind]?: Pick<SensorsConfig[K], 'privacy'> & Partial<Pick<SensorsConfig[K], 'id'>>;
  };
}

export interface PrivacySnapshot {
  readonly defaultTier: PrivacyTier;
  /** By kind (`camera`, `mic`, `imu`). */
  readonly sensors: Readonly<Record<string, PrivacyTier>>;
  /** Sensor id → tier (`mic0: private`), for people and Home Assistant. */
  readonly sensorIds: Readonly<Record<string, PrivacyTier>>;
  readonly overrides: Readonly<Record<string, PrivacyTier>>;
}

export class PrivacyTiers {
  private defaultTier: PrivacyTier;
  private readonly sensorTiers = new Map<SensorKind, PrivacyTier>();
  /** Pattern → tier, kept sorted most specific first. */
  private overrides: [string, PrivacyTier][] = [];
  private readonly cache = new Map<string, PrivacyTier>();
  private readonly ids: { [K in SensorKind]?: string } = {};
  private readonly topics: readonly string[];

  constructor(options: PrivacyTiersOptions) {
    this.defaultTier = options.privacy.default_tier;
    for (const kind of KINDS) {
      const s = options.sensors[kind];
      if (s?.privacy !== undefined) this.sensorTiers.set(kind, s.privacy);
      this.ids[kind] = s?.id ?? DEFAULT_IDS[kind];
    }
    this.topics = deviceTopics(this.ids);
    for (const [pattern, tier] of Object.entries(options.privacy.overrides)) {
      // Config overrides are trusted as written (a pattern for a sensor not enabled is harmless).
      this.apply(this.resolveScope(pattern, { mustMatch: false }), tier);
    }
  }

  /** The effective tier of data published on `topic` (see the module comment). */
  tierFor(topic: string): PrivacyTier {
    const cached = this.cache.get(topic);
    if (cached !== undefined) return cached;
    const sensor = sensorOfTopic(topic);
    const sensorTier = sensor === undefined ? undefined : this.sensorTiers.get(sensor);
    const override = this.overrides.find(([p]) => patternMatches(p, topic))?.[1];
    const tier =
      sensorTier !== undefined && override !== undefined
        ? stricter(sensorTier, override)
        : (sensorTier ?? override ?? this.defaultTier);
    if (this.cache.size >= CACHE_MAX) this.cache.clear();
    this.cache.set(topic, tier);
    return tier;
  }

  /**
   * `default`, `sensor:<kind>`, a sensor id, or a topic pattern → canonical scope. Throws
   * `E_PRIVACY_SCOPE` for a malformed pattern, an unknown sensor kind, or (with `mustMatch`, the
   * default) a pattern matching none of this device's topics.
   */
  resolveScope(scope: PrivacyScope, options: { mustMatch?: boolean } = {}): CanonicalScope {
    if (scope === 'default') return scope;
    for (const kind of KINDS) if (this.ids[kind] === scope) return `sensor:${kind}`;
    if (scope.startsWith('sensor:') && !scope.includes('/')) {
      const kind = scope.slice('sensor:'.length);
      if (!KINDS.includes(kind as SensorKind)) {
        throw new EdgeloomError(
          ErrorCode.E_PRIVACY_SCOPE,
          `unknown sensor kind in scope ${JSON.stringify(scope)} (camera, mic or imu)`,
          { where: 'privacy.scope' },
        );
      }
      return scope;
    }
    try {
      parsePattern(scope);
    } catch (err) {
      throw new EdgeloomError(ErrorCode.E_PRIVACY_SCOPE, `bad privacy scope ${JSON.stringify(scope)}`, {
        where: 'privacy.scope',
        cause: err,
      });
    }
    if (options.mustMatch !== false && !this.topics.some((t) => patternMatches(scope, t))) {
      const ids = KINDS.flatMap((k) => (this.ids[k] === undefined ? [] : [this.ids[k]]));
      throw new EdgeloomError(
        ErrorCode.E_PRIVACY_SCOPE,
        `scope ${JSON.stringify(scope)} is neither a sensor (${ids.join(', ')}) nor a pattern matching a topic of this device`,
        { where: 'privacy.scope' },
      );
    }
    return scope;
  }

  /** The tier set at exactly this canonical scope (undefined for a pattern without an override). */
  valueAt(scope: CanonicalScope): PrivacyTier | undefined {
    if (scope === 'default') return this.defaultTier;
    if (scope.startsWith('sensor:')) return this.sensorTiers.get(scope.slice(7) as SensorKind);
    return this.overrides.find(([p]) => p === scope)?.[1];
  }

  /**
   * Whether setting `tier` at `scope` would let more leave the device: the scope's own value gets
   * less strict, or any topic of this device would resolve to a less strict tier than now.
   * Returns the first topic (or the scope) that would loosen, or undefined for a tightening.
   */
  loosens(scope: CanonicalScope, tier: PrivacyTier): string | undefined {
    const before = this.valueAt(scope);
    if (before !== undefined && !atLeastAsStrict(tier, before)) return scope;
    const after = this.clone();
    after.apply(scope, tier);
    return this.topics.find((t) => !atLeastAsStrict(after.tierFor(t), this.tierFor(t)));
  }

  /**
   * Set `tier` at a canonical scope (resolve it first). Throws `E_PRIVACY_TIER` for an unknown
   * tier and `E_PRIVACY_FULL` for a new pattern past MAX_OVERRIDES.
   */
  apply(scope: CanonicalScope, tier: PrivacyTier): void {
    if (!isTier(tier)) {
      throw new EdgeloomError(ErrorCode.E_PRIVACY_TIER, `unknown privacy tier ${JSON.stringify(tier)}`, {
        where: scope,
      });
    }
    if (scope === 'default') this.defaultTier = tier;
    else if (scope.startsWith('sensor:')) this.sensorTiers.set(scope.slice(7) as SensorKind, tier);
    else {
      const at = this.overrides.findIndex(([p]) => p === scope);
      if (at >= 0) this.overrides[at] = [scope, tier];
      else {
        if (this.overrides.length >= MAX_OVERRIDES) {
          throw new EdgeloomError(
            ErrorCode.E_PRIVACY_FULL,
            `${MAX_OVERRIDES} topic overrides exist already; change one of them or use a sensor scope`,
            { where: 'privacy.scope' },
          );
        }
        this.overrides.push([scope, tier]);
        this.overrides.sort((x, y) => specificity(y[0]) - specificity(x[0]));
      }
    }
    this.cache.clear();
  }

  /** Remove a topic override (a pattern scope); a no-op for other scopes. */
  removeOverride(scope: CanonicalScope): void {
    this.overrides = this.overrides.filter(([p]) => p !== scope);
    this.cache.clear();
  }

  /**
   * Change a tier at run time from any scope form (`mic0`, `sensor:mic`, `default`, a pattern).
   * No permission check here: PrivacyControl decides who may loosen.
   */
  setTier(scope: PrivacyScope, tier: PrivacyTier): CanonicalScope {
    const canonical = this.resolveScope(scope);
    this.apply(canonical, tier);
    return canonical;
  }

  /** Current settings, for status output and the retained `<base>/privacy` message. */
  snapshot(): PrivacySnapshot {
    const sensorIds: Record<string, PrivacyTier> = {};
    for (const kind of KINDS) {
      const id = this.ids[kind];
      const tier = this.sensorTiers.get(kind);
      if (id !== undefined && tier !== undefined) sensorIds[id] = tier;
    }
    return {
      defaultTier: this.defaultTier,
      sensors: Object.fromEntries(this.sensorTiers),
      sensorIds,
      overrides: Object.fromEntries(this.overrides),
    };
  }

  /**
   * The tier in force per sensor id, as its readings are routed (sensor tier, run-time changes and
   * overrides applied), for `kinds` (default all three).
   */
  tiersBySensor(
    kinds: readonly SensorKind[] = KINDS,
  ): Record<string, { kind: SensorKind; tier: PrivacyTier }> {
    const out: Record<string, { kind: SensorKind; tier: PrivacyTier }> = {};
    for (const kind of kinds) {
      const id = this.ids[kind];
      if (id === undefined) continue;
      out[id] = { kind, tier: this.tierFor(`sensor/${kind}/${id}/${kind === 'imu' ? 'window' : 'frame'}`) };
    }
    return out;
  }

  /** The topics this device publishes personal data on (what scopes are checked against). */
  knownTopics(): readonly string[] {
    return this.topics;
  }

  private clone(): PrivacyTiers {
    const copy = Object.create(PrivacyTiers.prototype) as PrivacyTiers;
    const fields = copy as unknown as {
      defaultTier: PrivacyTier;
      sensorTiers: Map<SensorKind, PrivacyTier>;
      overrides: [string, PrivacyTier][];
      cache: Map<string, PrivacyTier>;
      ids: Record<string, string>;
      topics: readonly string[];
    };
    fields.defaultTier = this.defaultTier;
    fields.sensorTiers = new Map(this.sensorTiers);
    fields.overrides = this.overrides.map(([p, t]) => [p, t]);
    fields.cache = new Map();
    fields.ids = { ...this.ids };
    fields.topics = this.topics;
    return copy;
  }
}
