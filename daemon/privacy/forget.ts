/**
 * `forget`: erase the personal data the device keeps, while the daemon runs (the MQTT command
 * `cmd/forget` and `edgeloom forget` through the control socket) or on the store of a stopped
 * daemon (`edgeloom forget` opening it).
 *
 * What goes: every sublevel the store's table (storage/sublevels.ts) marks personal, through
 * one eraser each (ERASERS, typed so that a new personal sublevel needs one), and nothing else:
 * - `agents`: every agent's event log, snapshots and working memory; a running agent also drops
 *   its state in memory (Agent.forget, in the agent's own turn);
 * - `outbox`: queued MQTT messages that carry personal data (mqtt-contract.ts carriesPersonalData);
 *   with them `retained`: the personal retained topics (`display/set`) get an empty retained
 *   message, which makes the broker drop what it holds (queued if the broker is down);
 * - `audit`, last: the audit records (they hold payload hashes and who-spoke-when); the chain
 *   continues from the erased head, and forget's own record is the first of the new chain.
 * Then the whole store is compacted, so deleted values are gone from LevelDB's files too (a delete
 * only writes a tombstone; the old bytes stay in .log/.ldb files until a compaction merges them).
 * The report names only stores that exist here. Exactly one `forget` audit record says it ran.
 */

import { forgetQueued } from '../actions/mqtt-personal.js';
import { Outbox } from '../actions/outbox.js';
import type { CommandOrigin, ForgetAnswer, ForgetRequest } from '../bus/rpc.js';
import type { EventBus, Subscription } from '../bus/types.js';
import type { Component } from '../component.js';
import type { OutboxConfig } from '../config/index.js';
import { EdgeloomError, ErrorCode } from '../errors.js';
import type { Logger } from '../log.js';
import type { AuditLog } from '../router/audit-log.js';
import type { Store } from '../storage/store.js';
import {
  clearSublevel,
  countSublevel,
  type PersonalSublevel,
  SUBLEVEL,
  SUBLEVEL_NAMES,
  SUBLEVELS,
  type SublevelRow,
} from '../storage/sublevels.js';
import { SystemClock } from '../util/clock.js';

export interface ForgetTargets {
  readonly store: Store;
  readonly audit: AuditLog;
  readonly logger: Logger;
  /** e.g. `edgeloom/kitchen-pi` (for the outbox of a stopped daemon). */
  readonly baseTopic: string;
  /** The running agents; absent: their sublevel is cleared in the store. */
  readonly agents?: { forgetAll(): Promise<number> };
  /** The running MQTT client; absent: the outbox is cleaned in the store. */
  readonly mqtt?: {
    forgetPersonal(options: { dryRun?: boolean }): Promise<{ outbox: number; retained: number }>;
  };
  /** Outbox bound and policy, to open the outbox of a stopped daemon. */
  readonly outbox?: Pick<OutboxConfig, 'max_messages' | 'policy'>;
}

/** What forget deleted (or would): the `rpc/forget` answer. */
export type ForgetReport = ForgetAnswer;

/** LevelDB keys below and above every key edgeloom writes (all start with a sublevel's `!`). */
const LOWEST_KEY = '\u0000';
const HIGHEST_KEY = '\uffff';

/**
 * Compact the whole store so deleted values leave the files. A single compactRange is not
 * enough: LevelDB flushes the memtable (values and their tombstones together) to one table that
 * may land on the deepest level, which a manual compaction never rewrites. Two tombstones at both
 * ends of the key space, flushed by a second compactRange, overlap every table below them, so
 * every level is merged and the shadowed values dropped (leveldb db_impl.cc CompactRange,
 * PickLevelForMemTableOutput).
 */
export async function compactStore(store: Store): Promise<void> {
  const db = store as unknown as { compactRange(start: string, end: string): Promise<void> };
  await db.compactRange(LOWEST_KEY, HIGHEST_KEY);
  await store.batch([
    { type: 'del', key: LOWEST_KEY },
    { type: 'del', key: HIGHEST_KEY },
  ]);
  await db.compactRange(LOWEST_KEY, HIGHEST_KEY);
}

/** What one eraser removed (or, in a dry run, would remove), by name as the report shows it. */
interface Erased {
  readonly deleted: Readonly<Record<string, number>>;
  /** The audit eraser: hash of the chain head it erased (forget's own record links to it). */
  readonly erasedHead?: string;
}

type Eraser = (t: ForgetTargets, dryRun: boolean) => Promise<Erased>;

/** One eraser per personal sublevel of the table. */
const ERASERS: { readonly [K in PersonalSublevel]: Eraser } = {
  agents: async (t, dryRun) => ({
    deleted: {
      agents: dryRun
        ? await countSublevel(t.store, SUBLEVEL.agents)
        : t.agents !== undefined
          ? await t.agents.forgetAll()
          : await clearSublevel(t.store, SUBLEVEL.agents),
    },
  }),
  outbox: async (t, dryRun) => ({
    deleted:
      t.mqtt !== undefined ? await t.mqtt.forgetPersonal({ dryRun }) : await forgetStoredOutbox(t, dryRun),
  }),
  audit: async (t, dryRun) => {
    if (dryRun) return { deleted: { audit: await t.audit.size() } };
    const { deleted, erasedHead } = await t.audit.erase();
    return { deleted: { audit: deleted }, erasedHead: erasedHead.hash };
  },
};

/**
 * The personal sublevels in table order, the audit last: records the other erasers write (a
 * purge's own audit lines) go with it, and forget's record starts the new chain.
 */
export const FORGOTTEN: readonly PersonalSublevel[] = [
  ...SUBLEVEL_NAMES.filter(
    (n): n is PersonalSublevel => n !== SUBLEVEL.audit && (SUBLEVELS[n] as SublevelRow).personal !== 'none',
  ),
  SUBLEVEL.audit,
];

export async function forget(
  t: ForgetTargets,
  options: { readonly dryRun?: boolean; readonly origin: CommandOrigin },
): Promise<ForgetReport> {
  const dryRun = options.dryRun === true;
  const deleted: Record<string, number> = {};
  let erasedHead: string | undefined;
  for (const name of FORGOTTEN) {
    const erased = await ERASERS[name](t, dryRun);
    Object.assign(deleted, erased.deleted);
    erasedHead = erased.erasedHead ?? erasedHead;
  }
  if (dryRun) return { dryRun, deleted };
  await compactStore(t.store);
  await t.audit.append({
    kind: 'forget',
    outcome: 'done',
    channel: options.origin.channel,
    authenticated: options.origin.authenticated,
    deleted,
    erased_head: erasedHead,
    compacted: true,
  });
  t.logger.info({ deleted }, 'forget: personal data erased');
  return { dryRun, deleted };
}

/** The outbox of a stopped daemon: personal entries deleted, empty retained clears queued. */
async function forgetStoredOutbox(
  t: ForgetTargets,
  dryRun: boolean,
): Promise<{ outbox: number; retained: number }> {
  const outbox = new Outbox({
    store: t.store,
    clock: new SystemClock(),
    logger: t.logger,
    maxMessages: t.outbox?.max_messages ?? 10_000,
    policy: t.outbox?.policy ?? 'drop-oldest',
  });
  await outbox.open();
  const r = await forgetQueued(outbox, t.baseTopic, dryRun, async (topic, message) => {
    await outbox.add(topic, message.raw ?? JSON.stringify(message.payload), message.retain).persisted;
  });
  await outbox.flush();
  return r;
}

/**
 * Serves `rpc/forget` (the MQTT command and the control socket). Forgetting is irreversible
 * and erases the audit trail, so it needs an authenticated origin: a signed command or the CLI.
 */
export class ForgetService implements Component {
  readonly name = 'privacy.forget';
  private subscription: Subscription | undefined;
  /** One forget at a time. */
  private running: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly bus: EventBus,
    private readonly targets: ForgetTargets,
  ) {}

  async start(): Promise<void> {
    this.subscription = this.bus.respond('rpc/forget', (req) => this.run(req.payload), {
      component: this.name,
    });
  }

  async stop(): Promise<void> {
    await this.subscription?.unsubscribe();
    this.subscription = undefined;
    await this.running;
  }

  run(request: ForgetRequest): Promise<ForgetReport> {
    const origin = request.origin;
    if (!origin.authenticated) {
      return Promise.reject(
        new EdgeloomError(
          ErrorCode.E_CMD_AUTH,
          'forget erases personal data and the audit trail; it needs a signed command (control.command_key) or `edgeloom forget` on the device',
          { where: 'forget' },
        ),
      );
    }
    const run = this.running.then(() => forget(this.targets, { dryRun: request.dry_run === true, origin }));
    this.running = run.catch(() => undefined);
    return run;
  }
}
