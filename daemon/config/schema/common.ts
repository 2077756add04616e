/** Building blocks shared by the sections of the schema (one file per top-level section). */
import { bool, enm, int, num, obj, str } from './builder.js';

/** Privacy tiers, most to least shareable (mirrors `PrivacyTier` in daemon/bus/topics.ts). */
export const PRIVACY_TIERS = ['public', 'sensitive', 'private', 'local_only'] as const;
/** Bus delivery classes (mirrors `QosClass` in daemon/bus/types.ts). */
export const QOS_CLASSES = ['realtime', 'batched', 'background'] as const;

/** A sensor or topic id: safe inside an MQTT topic level and a Home Assistant unique id. */
export const ID_PATTERN = '^[a-z0-9][a-z0-9_-]{0,62}$';

export function privacyTier(description: string, dflt: (typeof PRIVACY_TIERS)[number]) {
  return enm({ description, values: PRIVACY_TIERS, default: dflt });
}

/** Exponential restart/reconnect backoff: the delay doubles from `initial_ms` up to `max_ms`. */
export function backoff(what: string, initialMs: number, maxMs: number) {
  return obj(
    `Backoff between ${what} attempts: starts at initial_ms, doubles per failure, capped at max_ms.`,
    {
      initial_ms: int({ description: 'First delay, ms.', default: initialMs, minimum: 1 }),
      max_ms: int({ description: 'Largest delay, ms (must be >= initial_ms).', default: maxMs, minimum: 1 }),
    },
  );
}

/** A model id in the manifest. */
export const modelId = (description: string, dflt: string) =>
  str({ description, default: dflt, minLength: 1 });
/** A probability or score, 0..1. */
export const probability = (description: string, dflt: number) =>
  num({ description, default: dflt, minimum: 0, maximum: 1 });
/** A TCP port. */
export const port = (description: string, dflt: number) =>
  int({ description, default: dflt, minimum: 0, maximum: 65_535 });

/** How a supervised program (a plugin, an MCP tool server) is isolated and bounded (plugins/sandbox.ts). */
export function sandboxSchema() {
  return obj('Isolation (bubblewrap) and resource limits (prlimit).', {
    network: bool({
      description: 'May use the network; false runs it in an empty network namespace.',
      default: false,
    }),
    fs: enm({
      description:
        '`read-only`: the whole file system read-only, its state dir writable (bubblewrap); `host`: no file-system isolation.',
      values: ['read-only', 'host'],
      default: 'read-only',
    }),
    memory_mb: int({
      description: 'Address-space limit (prlimit --as), MiB; 0: none (Node programs need a large one).',
      default: 0,
      minimum: 0,
    }),
    cpu_s: int({ description: 'CPU-time limit (prlimit --cpu), s; 0: none.', default: 0, minimum: 0 }),
  });
}
