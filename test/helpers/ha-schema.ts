/**
 * Checks one Home Assistant MQTT discovery config against a platform's documented keys. The data
 * (which keys each platform requires and allows) is written in the test that uses it, from HA's
 * documentation pages; this is only the checking.
 */

export interface PlatformSchema {
  /** Keys the platform's page marks `required: true`. */
  readonly required: readonly string[];
  /** Keys of this platform besides the ones every MQTT entity has. */
  readonly allowed: readonly string[];
  /** `required: exclusive` groups: exactly one of each group. */
  readonly exclusive?: readonly (readonly string[])[];
  /** Further rules the page states in prose, as a check returning the problems found. */
  readonly rules?: (config: Readonly<Record<string, unknown>>) => string[];
}

export interface CommonSchema {
  /** Keys every MQTT entity platform allows. */
  readonly entity: readonly string[];
  /** Keys of the `device` map. */
  readonly device: readonly string[];
  /** Keys of the `origin` map, and which of them is required. */
  readonly origin: readonly string[];
  readonly originRequired: readonly string[];
  /** Keys of one `availability` list item, and the required one. */
  readonly availability: readonly string[];
  readonly availabilityRequired: readonly string[];
  /** `entity_category` values. */
  readonly entityCategories: readonly string[];
}

/** Problems with `config` published at `topic` (empty: valid). */
export function checkDiscoveryConfig(
  topic: string,
  config: Readonly<Record<string, unknown>>,
  platforms: Readonly<Record<string, PlatformSchema>>,
  common: CommonSchema,
): string[] {
  const problems: string[] = [];
  // <discovery_prefix>/<component>/[<node_id>/]<object_id>/config, ids of [a-zA-Z0-9_-].
  const m = /^[^/]+\/([a-z_]+)\/([a-zA-Z0-9_-]+)\/([a-zA-Z0-9_-]+)\/config$/.exec(topic);
  if (m === null) return [`${topic}: not <prefix>/<component>/<node_id>/<object_id>/config`];
  const component = m[1]!;
  const schema = platforms[component];
  if (schema === undefined) return [`${topic}: ${component} is not a platform this test knows`];
  const allowed = new Set([...common.entity, ...schema.allowed]);
  for (const key of Object.keys(config)) {
    if (!allowed.has(key)) problems.push(`${topic}: ${key} is not an option of ${component}`);
  }
  for (const key of schema.required) {
    if (config[key] === undefined) problems.push(`${topic}: required ${key} missing`);
  }
  for (const group of schema.exclusive ?? []) {
    const present = group.filter((k) => config[k] !== undefined);
    if (present.length !== 1)
      problems.push(`${topic}: exactly one of ${group.join(', ')} (got ${present.length})`);
  }
  const subset = (
    what: string,
    value: unknown,
    keys: readonly string[],
    required: readonly string[],
  ): void => {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      problems.push(`${topic}: ${what} is not a map`);
      return;
    }
    for (const k of Object.keys(value))
      if (!keys.includes(k)) problems.push(`${topic}: ${what}.${k} unknown`);
    for (const k of required) {
      if ((value as Record<string, unknown>)[k] === undefined)
        problems.push(`${topic}: ${what}.${k} missing`);
    }
  };
  if (config.device !== undefined) subset('device', config.device, common.device, []);
  if (config.origin !== undefined) subset('origin', config.origin, common.origin, common.originRequired);
  if (config.availability !== undefined) {
    if (!Array.isArray(config.availability)) problems.push(`${topic}: availability is not a list`);
    else {
      for (const a of config.availability) {
        subset('availability[]', a, common.availability, common.availabilityRequired);
      }
    }
    if (config.availability_topic !== undefined) {
      problems.push(`${topic}: availability and availability_topic together`);
    }
  }
  if (
    config.entity_category !== undefined &&
    !common.entityCategories.includes(String(config.entity_category))
  ) {
    problems.push(`${topic}: entity_category ${String(config.entity_category)}`);
  }
  problems.push(...(schema.rules?.(config) ?? []).map((p) => `${topic}: ${p}`));
  return problems;
}
