/**
 * Every sublevel of the daemon's one LevelDB (`storage.dir`), one row each: who owns it, what it
 * holds, whether it is personal data, how it is bounded, and what the start-up check and a
 * quarantine do with it. The README's "What the device stores" table is this one.
 *
 * Who reads the table:
 * - `forget` (privacy/forget.ts) erases exactly the rows that are not `personal: 'none'` — its
 *   erasers are typed by PersonalSublevel, so a new personal row does not compile without one;
 * - retention: `storeInventory` (inventory.ts) counts each row against `retention.maxEntries`,
 *   which `edgeloom doctor` reports and the soak benchmark checks after a long run;
 * - the start-up check and `edgeloom doctor` run STORE_VERIFIERS (each row's own `verify`); a
 *   quarantine carries the `onDamage: 'salvage'` rows over into the fresh store (quarantine.ts);
 * - test/unit/store-table.test.ts fails when the daemon opens a sublevel this table lacks.
 *
 * Owners open their sublevel once, through `sublevel()`, and close it on stop (a sublevel is a
 * resource of the store until closed: open-resources.ts).
 */
import type { AbstractSublevel } from 'abstract-level';
import type { AgentsConfig, OutboxConfig, StorageConfig } from '../config/index.js';
import type { StoreVerifier } from './check.js';
import { eventLogVerifier } from './event-log.js';
import type { Store } from './store.js';

/** `all`: every entry is personal; `some`: the entries flagged personal are; `none`: device state. */
export type Personal = 'all' | 'some' | 'none';

/** The settings the retention bounds follow. */
export interface RetentionSettings {
  readonly agents: Pick<AgentsConfig, 'retention_events' | 'snapshot_every'>;
  readonly mqtt: { readonly outbox: Pick<OutboxConfig, 'max_messages'> };
  readonly storage: Pick<StorageConfig, 'audit_max_records'>;
}

export interface SublevelRow {
  /** The module that opens it (the only one that writes it). */
  readonly owner: string;
  readonly holds: string;
  readonly personal: Personal;
  readonly retention: {
    /** The bound, naming its configuration key. */
    readonly bound: string;
    /** What happens at the bound. */
    readonly policy: string;
    /** The bound counts each nested sublevel (one per agent) or the sublevel as a whole. */
    readonly per: 'sublevel' | 'nested sublevel';
    /** Entries the bound allows under `settings`. */
    readonly maxEntries: (settings: RetentionSettings) => number;
  };
  /** The owner's own consistency check, run at start-up and by `edgeloom doctor`. */
  readonly verify?: StoreVerifier;
  /** When the store is quarantined: copied into the fresh store (`salvage`) or left behind. */
  readonly onDamage: 'salvage' | 'left behind';
}

/**
 * An input's events go into the log in one batch after the snapshot that triggers compaction, so
 * a log may hold a few more than the bound between two compactions.
 */
const ONE_INPUT_EVENTS = 16;

export const SUBLEVELS = {
  agents: {
    owner: 'agents/store.ts',
    holds: "each agent's event log, snapshots and working memory (one nested sublevel per agent)",
    personal: 'all',
    retention: {
      bound:
        'per agent: agents.retention_events log entries before the latest snapshot and up to agents.snapshot_every after it, two snapshots, one working-memory key',
      policy: 'at every snapshot the older log entries and snapshots are deleted',
      per: 'nested sublevel',
      maxEntries: (s) => s.agents.retention_events + s.agents.snapshot_every + ONE_INPUT_EVENTS + 3,
    },
    verify: eventLogVerifier('agents'),
    onDamage: 'left behind',
  },
  outbox: {
    owner: 'actions/outbox.ts',
    holds:
      'QoS 1 MQTT messages accepted and not acknowledged by the broker within mqtt.outbox.write_delay_ms (all of them while it is unreachable)',
    personal: 'some',
    retention: {
      bound: 'mqtt.outbox.max_messages messages (each deleted on its PUBACK)',
      policy: 'mqtt.outbox.policy: drop-oldest evicts the oldest message, refuse rejects the new one',
      per: 'sublevel',
      maxEntries: (s) => s.mqtt.outbox.max_messages,
    },
    onDamage: 'salvage',
  },
  audit: {
    owner: 'router/audit-log.ts',
    holds:
      'hash-chained audit records (cloud and MQTT egress, privacy changes, commands, tool calls, forget) and the chain head',
    personal: 'all',
    retention: {
      bound: 'storage.audit_max_records records (+1 %: deleted in batches) and one chain-head key',
      policy: 'the oldest records are deleted; the chain stays verifiable from the new base',
      per: 'sublevel',
      maxEntries: (s) =>
        s.storage.audit_max_records + Math.max(1, Math.floor(s.storage.audit_max_records / 100)),
    },
    onDamage: 'left behind',
  },
  privacy: {
    owner: 'privacy/privacy-control.ts',
    holds: 'run-time privacy tier changes (one entry per scope)',
    personal: 'none',
    retention: {
      bound: 'one key (one entry per scope: the 64 topic overrides, the sensors, the default)',
      policy: 'overwritten in place',
      per: 'sublevel',
      maxEntries: () => 1,
    },
    onDamage: 'left behind',
  },
  router: {
    owner: 'router/cost.ts',
    holds: "today's cloud spend (local day, USD)",
    personal: 'none',
    retention: {
      bound: 'one key',
      policy: 'overwritten in place; the sum restarts at local midnight',
      per: 'sublevel',
      maxEntries: () => 1,
    },
    onDamage: 'left behind',
  },
} as const satisfies Record<string, SublevelRow>;

export type SublevelName = keyof typeof SUBLEVELS;

/** The names, for code that refers to one sublevel. */
export const SUBLEVEL: { readonly [K in SublevelName]: K } = {
  agents: 'agents',
  outbox: 'outbox',
  audit: 'audit',
  privacy: 'privacy',
  router: 'router',
};

/** The rows `forget` erases (all of them, or their personal entries). */
export type PersonalSublevel = {
  [K in SublevelName]: (typeof SUBLEVELS)[K]['personal'] extends 'none' ? never : K;
}[SublevelName];

export const SUBLEVEL_NAMES = Object.keys(SUBLEVELS) as SublevelName[];

export function isSublevelName(name: string): name is SublevelName {
  return Object.hasOwn(SUBLEVELS, name);
}

/** Every row's own check, in table order: what the start-up check and the doctor run. */
export const STORE_VERIFIERS: readonly StoreVerifier[] = SUBLEVEL_NAMES.flatMap((n) => {
  const row: SublevelRow = SUBLEVELS[n];
  return row.verify === undefined ? [] : [row.verify];
});

/** A sublevel of the store with JSON values. */
export type Sub<V> = AbstractSublevel<Store, string | Buffer | Uint8Array, string, V>;

/** Open the owner's sublevel `name` (JSON values); the owner closes it on stop. */
export function sublevel<V>(db: Store, name: SublevelName): Sub<V> {
  return db.sublevel<string, V>(name, { valueEncoding: 'json' });
}

/** Count the keys of a sublevel (nested sublevels included), closing it afterwards. */
export async function countSublevel(db: Store, name: SublevelName): Promise<number> {
  const sub = db.sublevel(name);
  try {
    let count = 0;
    for await (const _key of sub.keys()) count++;
    return count;
  } finally {
    await sub.close();
  }
}

/** Count then delete every key of a sublevel (nested sublevels included); returns the count. */
export async function clearSublevel(db: Store, name: SublevelName): Promise<number> {
  const sub = db.sublevel(name);
  try {
    let count = 0;
    for await (const _key of sub.keys()) count++;
    await sub.clear();
    return count;
  } finally {
    await sub.close(); // a sublevel stays in the store's resource set until closed
  }
}
