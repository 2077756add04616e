/**
 * Who may change the privacy tiers, and how a change lasts.
 *
 * - **Tighten-only from outside.** A change that would let more leave the device (PrivacyTiers
 *   .loosens: the scope's own value, or any topic of this device, gets less strict) needs an
 *   authenticated origin: a signed MQTT command (actions/command-auth.ts) or the local control
 *   socket (`edgeloom privacy set`). Anything else is refused with `E_CMD_AUTH` and audited.
 * - **Persisted.** Applied run-time changes live in the `privacy` sublevel (one key, at most one
 *   entry per scope, so bounded by PrivacyTiers' own bound) and are re-applied at the next start.
 *   Each entry remembers the config's value at that scope when it was made: if the config file
 *   has been edited at that scope since, the file wins and the entry is dropped (logged), so the
 *   newest deliberate setting always holds.
 * - **Audited** (`privacy` records: scope, from, to, channel, applied or refused; refusals and
 *   repeats of the current setting are flood-bounded by audit-budget.ts) and **visible**:
 *   listeners (the MQTT client) republish the retained `<base>/privacy` after every change.
 */
import type { PrivacyView } from '../actions/mqtt-egress.js';
import type { CommandOrigin, PrivacyRequest } from '../bus/rpc.js';
import type { PrivacyTier } from '../bus/topics.js';
import type { EventBus, Subscription } from '../bus/types.js';
import type { Component } from '../component.js';
import { EdgeloomError, ErrorCode, isEdgeloomError, toError } from '../errors.js';
import type { Logger } from '../log.js';
import { AuditBudget } from '../router/audit-budget.js';
import type { AuditLog } from '../router/audit-log.js';
import {
  type CanonicalScope,
  isTier,
  type PrivacySnapshot,
  PrivacyTiers,
  type PrivacyTiersOptions,
} from '../router/privacy.js';
import type { Store } from '../storage/store.js';
import { SUBLEVEL, type Sub, sublevel } from '../storage/sublevels.js';

/** The origin of a request that names none (an in-process caller): treated as unproven. */
const UNPROVEN: CommandOrigin = { channel: 'mqtt', authenticated: false };
const LAYER_KEY = 'runtime';
/** Refused or no-op requests audited one by one per minute; past it they are summarised. */
const REFUSALS_PER_MINUTE = 60;

interface LayerEntry {
  readonly tier: PrivacyTier;
  /** The config's tier at this scope when the change was made (null: none). */
  readonly config_tier: PrivacyTier | null;
  readonly at_ms: number;
  readonly channel: string;
}
interface Layer {
  readonly entries: Readonly<Record<string, LayerEntry>>;
}

export interface PrivacyChange {
  readonly scope: CanonicalScope;
  readonly tier: PrivacyTier;
  readonly previous: PrivacyTier | null;
  /** The change let more leave the device (allowed because the origin was authenticated). */
  readonly loosened: boolean;
}

export interface PrivacyControlOptions {
  /** Absent: no command responder (the offline CLI uses change() directly). */
  readonly bus?: EventBus;
  readonly store: Store;
  readonly audit: AuditLog;
  /** router.privacy and the sensors' ids and tiers. */
  readonly config: PrivacyTiersOptions;
  readonly logger: Logger;
  /** Wall clock, ms since the epoch. Default Date.now. */
  readonly now?: () => number;
}

export class PrivacyControl implements Component, PrivacyView {
  readonly name = 'privacy';
  /** The live tiers; the router and the MQTT gate read them. */
  readonly tiers: PrivacyTiers;
  /** The tiers as the config file alone says (what `reset` returns to). */
  private readonly configured: PrivacyTiers;
  private readonly sub: Sub<Layer>;
  private layer: Layer = { entries: {} };
  private readonly listeners = new Set<() => void>();
  private subscription: Subscription | undefined;
  private loaded = false;
  /** Serialises changes, so two commands never interleave their read-modify-write. */
  private queue: Promise<unknown> = Promise.resolve();
  private readonly budget: AuditBudget;

  constructor(private readonly o: PrivacyControlOptions) {
    this.budget = new AuditBudget({
      append: (r) => o.audit.append(r),
      perMinute: REFUSALS_PER_MINUTE,
      now: () => this.now(),
      summary: (byOutcome, total) => ({
        kind: 'privacy',
        outcome: 'summary',
        requests: total,
        by_outcome: byOutcome,
      }),
      onError: (err) => o.logger.error({ err: toError(err).message }, 'privacy: audit record not written'),
    });
    this.tiers = new PrivacyTiers(o.config);
    this.configured = new PrivacyTiers(o.config);
    this.sub = sublevel<Layer>(o.store, SUBLEVEL.privacy);
  }

  async start(): Promise<void> {
    await this.load();
    const bus = this.o.bus;
    if (bus === undefined) return;
    this.subscription = bus.respond('rpc/privacy/set', (req) => this.change(req.payload), {
      component: this.name,
    });
  }

  async stop(): Promise<void> {
    await this.subscription?.unsubscribe();
    this.subscription = undefined;
    await this.queue;
    this.budget.flush();
  }

  /** Re-apply the persisted run-time changes over the config (idempotent). */
  async load(): Promise<void> {
    if (this.loaded) return;
    this.loaded = true;
    const stored = (await this.sub.get(LAYER_KEY)) as Layer | undefined;
    const kept: Record<string, LayerEntry> = {};
    for (const [scope, entry] of Object.entries(stored?.entries ?? {})) {
      const configNow = this.configured.valueAt(scope) ?? null;
      if (configNow !== entry.config_tier) {
        this.o.logger.info(
          { scope, runtime: entry.tier, config: configNow },
          'privacy: the config changed at this scope since the run-time change; the config wins',
        );
        continue;
      }
      try {
        if (!isTier(entry.tier)) throw new Error(`bad tier ${String(entry.tier)}`);
        this.tiers.resolveScope(scope, { mustMatch: false });
        this.tiers.apply(scope, entry.tier);
        kept[scope] = entry;
      } catch (err) {
        this.o.logger.warn({ scope, err: toError(err).message }, 'privacy: stored change not applied');
      }
    }
    this.layer = { entries: kept };
    if (Object.keys(kept).length > 0)
      this.o.logger.info({ changes: kept }, 'privacy: run-time changes restored');
  }

  tierFor(topic: string): PrivacyTier {
    return this.tiers.tierFor(topic);
  }

  snapshot(): PrivacySnapshot {
    return this.tiers.snapshot();
  }

  /** The run-time changes in force (scope → tier, channel, time). */
  runtimeChanges(): Readonly<Record<string, LayerEntry>> {
    return this.layer.entries;
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Set a tier (see the module comment for who may loosen). */
  change(request: PrivacyRequest): Promise<PrivacyChange> {
    return this.serial(async () => {
      const origin = request.origin;
      const requested = request.scope ?? 'default';
      const refuse = async (err: EdgeloomError, scope: string, from?: PrivacyTier): Promise<never> => {
        // Refusals are what a flood from the network produces: bounded (audit-budget.ts).
        this.budget.record({
          kind: 'privacy',
          outcome: 'refused',
          error: err.code,
          scope,
          ...(scope === requested ? {} : { requested_scope: requested }),
          ...(from === undefined ? {} : { from }),
          to: request.tier,
          channel: origin.channel,
          authenticated: origin.authenticated,
        });
        throw err;
      };
      if (!isTier(request.tier)) {
        return refuse(
          new EdgeloomError(
            ErrorCode.E_PRIVACY_TIER,
            `unknown privacy tier ${JSON.stringify(request.tier)}`,
            {
              where: 'privacy.tier',
            },
          ),
          requested,
        );
      }
      let scope: CanonicalScope;
      try {
        scope = this.tiers.resolveScope(requested);
      } catch (err) {
        return refuse(err as EdgeloomError, requested);
      }
      const before = this.tiers.valueAt(scope);
      let loosens: string | undefined;
      try {
        loosens = this.tiers.loosens(scope, request.tier);
      } catch (err) {
        if (!isEdgeloomError(err)) throw err;
        return refuse(err, scope, before);
      }
      if (loosens !== undefined && !origin.authenticated) {
        const what = loosens === scope ? scope : `${loosens} (through ${scope})`;
        return refuse(
          new EdgeloomError(
            ErrorCode.E_CMD_AUTH,
            `setting ${scope} to ${request.tier} would loosen ${what}; that needs a signed command (control.command_key) or \`edgeloom privacy set\` on the device`,
            { where: 'privacy' },
          ),
          scope,
          before,
        );
      }
      if (before === request.tier && this.layer.entries[scope]?.tier === request.tier) {
        // Already so, by an earlier run-time change: nothing to persist; counted, not re-recorded.
        this.budget.record({
          kind: 'privacy',
          outcome: 'unchanged',
          scope,
          to: request.tier,
          channel: origin.channel,
        });
        return { scope, tier: request.tier, previous: before, loosened: false };
      }
      try {
        this.tiers.apply(scope, request.tier);
      } catch (err) {
        if (!isEdgeloomError(err)) throw err;
        return refuse(err, scope, before);
      }
      const entries = {
        ...this.layer.entries,
        [scope]: {
          tier: request.tier,
          config_tier: this.configured.valueAt(scope) ?? null,
          at_ms: this.now(),
          channel: origin.channel,
        },
      };
      try {
        await this.sub.put(LAYER_KEY, { entries });
      } catch (err) {
        this.revert(scope, before);
        throw new EdgeloomError(
          ErrorCode.E_PRIVACY_PERSIST,
          `privacy change not saved: ${toError(err).message}`,
          {
            where: 'privacy',
            cause: err,
          },
        );
      }
      this.layer = { entries };
      const loosened = loosens !== undefined;
      await this.audit({
        outcome: 'applied',
        scope,
        ...(scope === requested ? {} : { requested_scope: requested }),
        from: before ?? null,
        to: request.tier,
        loosened,
        channel: origin.channel,
        authenticated: origin.authenticated,
      });
      this.o.logger.info(
        { scope, from: before ?? null, to: request.tier, channel: origin.channel },
        'privacy tier changed',
      );
      this.notify();
      return { scope, tier: request.tier, previous: before ?? null, loosened };
    });
  }

  /**
   * Drop the run-time change at `scope` (or all of them) and return to the config's tiers. May
   * loosen, so only an authenticated origin (the local CLI) may ask. Returns the scopes reset.
   */
  reset(scope: string | undefined, origin: CommandOrigin = UNPROVEN): Promise<string[]> {
    return this.serial(async () => {
      if (origin?.authenticated !== true) {
        throw new EdgeloomError(ErrorCode.E_CMD_AUTH, 'resetting privacy changes needs the local CLI', {
          where: 'privacy',
        });
      }
      const scopes =
        scope === undefined
          ? Object.keys(this.layer.entries)
          : [this.tiers.resolveScope(scope, { mustMatch: false })];
      const entries = { ...this.layer.entries };
      for (const s of scopes) {
        delete entries[s];
        this.revert(s, this.configured.valueAt(s));
      }
      await this.sub.put(LAYER_KEY, { entries });
      this.layer = { entries };
      await this.audit({ outcome: 'reset', scopes, channel: origin.channel, authenticated: true });
      this.notify();
      return scopes;
    });
  }

  private revert(scope: CanonicalScope, tier: PrivacyTier | undefined): void {
    if (tier === undefined) this.tiers.removeOverride(scope);
    else this.tiers.apply(scope, tier);
  }

  private notify(): void {
    for (const l of this.listeners) {
      try {
        l();
      } catch (err) {
        this.o.logger.warn({ err: toError(err).message }, 'privacy: change listener failed');
      }
    }
  }

  private async audit(fields: { outcome: string } & Record<string, unknown>): Promise<void> {
    try {
      await this.o.audit.append({ kind: 'privacy', ...fields });
    } catch (err) {
      this.o.logger.error({ err: toError(err).message }, 'privacy: audit record not written');
    }
  }

  private now(): number {
    return (this.o.now ?? Date.now)();
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(async () => {
      await this.load();
      return fn();
    });
    this.queue = run.catch(() => undefined);
    return run;
  }
}
