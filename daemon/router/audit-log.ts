/**
 * The audit log: append-only and tamper-evident, in the `audit` sublevel of the shared store.
 *
 * What it records (one record each, never the personal content itself):
 * - `egress`: a cloud request that left the device or was refused by the privacy guard (egress.ts);
 *   `payloadRef` is a SHA-256 of the bytes plus the bus envelope id they came from;
 * - `mqtt_egress`: per broker and minute, how many messages of each topic went to which
 *   destination under which tier, and how many were withheld (actions/mqtt-egress.ts);
 * - `privacy`: every tier change, applied or refused, with the channel that asked;
 * - `command`: every MQTT or local command and its outcome (a flood is summarised);
 * - `tool_call`: tool calls the cloud asked for; `sensor_pause`: safety overrides; `forget`.
 *
 * Tamper evidence is a hash chain: each record carries `prev` (the hash of the record before it)
 * and `hash` = SHA-256 of its own canonical JSON (which includes `seq` and `prev`). Keys are the
 * zero-padded sequence number, so an edited record no longer matches its hash, a deleted one
 * leaves a gap in the sequence and a broken link, and a moved one sits under the wrong key;
 * `verify()` (`edgeloom audit --verify`) names each. The chain's head (and the base the retained
 * records continue from) is kept in one meta key, written in the same batch as each record, so
 * deleting the newest records is detected too. The chain carries no secret: it shows tampering
 * by anything that does not recompute every later hash, as a log shipped elsewhere would.
 *
 * Time: `tsMs` is always the wall clock, also during a fixture replay (whose virtual clock is in
 * the fixture's past), so `edgeloom audit --since 2h` finds what a replay sent an hour ago. An
 * event time that differs is kept as `eventTsMs`.
 *
 * Bound: at most `maxRecords` records are kept; past that the oldest are deleted in small batches
 * and the base moves forward (the chain stays verifiable from there). Every AuditLog opened on
 * the same store shares one chain state, so records from the router, the MQTT stage and the
 * command handlers interleave into a single chain.
 */
import { createHash } from 'node:crypto';
import type { Store } from '../storage/store.js';
import { SUBLEVEL, type Sub, sublevel } from '../storage/sublevels.js';
import { canonicalJson } from '../util/canonical-json.js';

import type {
  AuditEntry,
  AuditProblem,
  AuditRecord,
  AuditRecordInput,
  AuditVerification,
  ToolCallAuditEntry,
} from './audit-types.js';

export {
  type AuditEntry,
  type AuditKind,
  type AuditProblem,
  type AuditRecord,
  type AuditRecordInput,
  type AuditVerification,
  type EgressDataKind,
  isEgressEntry,
  type ToolCallAuditEntry,
} from './audit-types.js';

export interface AuditLogOptions {
  /** Records kept; the oldest are deleted past it (default DEFAULT_MAX_RECORDS). */
  readonly maxRecords?: number;
  /** Wall clock, ms since epoch (default Date.now; tests may pin it). */
  readonly now?: () => number;
}

/** Default bound: ~300 bytes a record, so about 60 MB at most. */
export const DEFAULT_MAX_RECORDS = 200_000;
const GENESIS = '0'.repeat(64);
const REC = 'r!';
const REC_END = 'r"';
const META = 'm!chain';
const SEQ_DIGITS = 16;
const MAX_PROBLEMS = 20;

interface Link {
  readonly seq: number;
  readonly hash: string;
}
interface Meta {
  /** The record the retained ones continue from (seq 0 / GENESIS for a fresh chain). */
  readonly base: Link;
  readonly head: Link;
}
interface ChainState {
  loaded: Promise<void> | undefined;
  meta: Meta;
  /** Serialises every operation on the chain. */
  tail: Promise<unknown>;
  /** Told of each record once it is written (the dashboard's tally); removed by their owners. */
  readonly listeners: Set<(record: AuditRecord) => void>;
}

/** One chain per store, whichever AuditLog instance appends (see the module comment). */
const chains = new WeakMap<object, ChainState>();

const recKey = (seq: number): string => REC + String(seq).padStart(SEQ_DIGITS, '0');

/** The hash a record must carry: SHA-256 over its canonical JSON without `hash`. */
export function recordHash(record: Omit<AuditRecord, 'hash'> & { hash?: string }): string {
  const { hash: _h, ...rest } = record;
  return createHash('sha256').update(canonicalJson(rest)).digest('hex');
}

export class AuditLog {
  private readonly sub: Sub<unknown>;
  private readonly state: ChainState;
  private readonly maxRecords: number;
  private readonly now: () => number;

  constructor(db: Store, options: AuditLogOptions = {}) {
    this.sub = sublevel<unknown>(db, SUBLEVEL.audit);
    let state = chains.get(db);
    if (state === undefined) {
      state = {
        loaded: undefined,
        meta: { base: { seq: 0, hash: GENESIS }, head: { seq: 0, hash: GENESIS } },
        tail: Promise.resolve(),
        listeners: new Set(),
      };
      chains.set(db, state);
    }
    this.state = state;
    this.maxRecords = Math.max(1, options.maxRecords ?? DEFAULT_MAX_RECORDS);
    this.now = options.now ?? Date.now;
  }

  /** Append one record at the chain's head; resolves once it is written. */
  append(input: AuditEntry | ToolCallAuditEntry | AuditRecordInput): Promise<AuditRecord> {
    return this.serial(async () => {
      const { head } = this.state.meta;
      const wallMs = this.now();
      const { tsMs: eventTsMs, kind, outcome, ...fields } = input as AuditRecordInput;
      const unhashed = {
        ...fields,
        seq: head.seq + 1,
        tsMs: wallMs,
        kind: kind ?? 'egress',
        outcome,
        ...(eventTsMs !== undefined && Math.abs(eventTsMs - wallMs) > 1000 ? { eventTsMs } : {}),
        prev: head.hash,
      } as Omit<AuditRecord, 'hash'>;
      const record = { ...unhashed, hash: recordHash(unhashed) } as AuditRecord;
      const meta: Meta = { base: this.state.meta.base, head: { seq: record.seq, hash: record.hash } };
      await this.sub.batch([
        { type: 'put', key: recKey(record.seq), value: record },
        { type: 'put', key: META, value: meta },
      ]);
      this.state.meta = meta;
      for (const listener of this.state.listeners) {
        try {
          listener(record);
        } catch {
          // a listener's fault is its own: the record is written
        }
      }
      await this.prune();
      return record;
    });
  }

  /**
   * Close this instance's `audit` sublevel (a resource of the shared store until closed). The
   * chain state is per store and survives; another instance keeps appending to it.
   */
  async close(): Promise<void> {
    await this.sub.close();
  }

  /**
   * Hear every record appended to this store's chain from now on, by any instance. Returns the
   * function that stops it; a listener that is never removed is a leak.
   */
  onAppend(listener: (record: AuditRecord) => void): () => void {
    this.state.listeners.add(listener);
    return () => void this.state.listeners.delete(listener);
  }

  /**
   * The newest records appended at or after `sinceMs` (wall clock), oldest first, at most
   * `limit`: read from the head backwards, so today's records cost what today wrote, not the
   * whole retained log.
   */
  recent(sinceMs: number, limit: number): Promise<AuditRecord[]> {
    return this.serial(async () => {
      const out: AuditRecord[] = [];
      for await (const value of this.sub.values({ gte: REC, lt: REC_END, reverse: true })) {
        const r = value as AuditRecord;
        if (!(r.tsMs >= sinceMs) || out.length >= limit) break;
        out.push(r);
      }
      return out.reverse();
    });
  }

  /** Records appended at or after `sinceMs` (wall clock), oldest first, at most `limit`. */
  list(options: { sinceMs?: number; limit?: number } = {}): Promise<AuditRecord[]> {
    return this.serial(async () => {
      const out: AuditRecord[] = [];
      const limit = options.limit ?? Number.POSITIVE_INFINITY;
      for await (const value of this.sub.values({ gte: REC, lt: REC_END })) {
        const r = value as AuditRecord;
        if (options.sinceMs !== undefined && !(r.tsMs >= options.sinceMs)) continue;
        out.push(r);
        if (out.length >= limit) break;
      }
      return out;
    });
  }

  /** Walk the chain and report every sign of tampering (see the module comment). */
  verify(): Promise<AuditVerification> {
    return this.serial(async () => {
      const { base, head } = this.state.meta;
      const problems: AuditProblem[] = [];
      const report = (seq: number, problem: string): void => {
        if (problems.length < MAX_PROBLEMS) problems.push({ seq, problem });
      };
      let expected: Link = base;
      let checked = 0;
      for await (const [key, value] of this.sub.iterator({ gte: REC, lt: REC_END })) {
        checked++;
        const keySeq = Number(key.slice(REC.length));
        const r = value as AuditRecord;
        if (r === null || typeof r !== 'object' || r.seq !== keySeq) {
          report(
            keySeq,
            `record under key ${keySeq} says it is record ${String(r?.seq)} (moved or reordered)`,
          );
        } else if (keySeq !== expected.seq + 1) {
          report(keySeq, `records ${expected.seq + 1}..${keySeq - 1} are missing (deleted)`);
        } else if (r.prev !== expected.hash) {
          report(
            keySeq,
            `does not follow record ${expected.seq} (a record before it was edited, replaced or reordered)`,
          );
        }
        if (r !== null && typeof r === 'object' && recordHash(r) !== r.hash) {
          report(keySeq, 'content does not match its hash (edited)');
        }
        expected = { seq: keySeq, hash: typeof r?.hash === 'string' ? r.hash : '' };
      }
      if (head.seq !== expected.seq) {
        report(expected.seq + 1, `records ${expected.seq + 1}..${head.seq} are missing (deleted at the end)`);
      } else if (head.hash !== expected.hash) {
        report(head.seq, 'the newest record does not match the chain head (edited or replaced)');
      }
      return { ok: problems.length === 0, checked, fromSeq: base.seq + 1, headSeq: head.seq, problems };
    });
  }

  /**
   * Delete every record (`forget`); the chain continues from the erased head, so the next record
   * (forget's own) links to what was there. Returns how many records were deleted.
   */
  erase(): Promise<{ deleted: number; erasedHead: Link }> {
    return this.serial(async () => {
      const { head } = this.state.meta;
      let deleted = 0;
      for await (const _k of this.sub.keys({ gte: REC, lt: REC_END })) deleted++;
      // Legacy (pre-chain) keys and anything else in the sublevel go too; the meta is rewritten.
      await this.sub.clear();
      const meta: Meta = { base: head, head };
      await this.sub.put(META, meta);
      this.state.meta = meta;
      return { deleted, erasedHead: head };
    });
  }

  /** Records currently kept. */
  size(): Promise<number> {
    return this.serial(async () => this.state.meta.head.seq - this.state.meta.base.seq);
  }

  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.state.tail.then(async () => {
      await this.load();
      return fn();
    });
    this.state.tail = run.catch(() => undefined);
    return run;
  }

  private load(): Promise<void> {
    this.state.loaded ??= this.loadMeta();
    return this.state.loaded;
  }

  private async loadMeta(): Promise<void> {
    const stored = (await this.sub.get(META)) as Meta | undefined;
    if (stored !== undefined) {
      this.state.meta = stored;
    } else {
      // No meta: a fresh store, or records whose meta was lost; continue after the last record.
      let first: AuditRecord | undefined;
      let last: AuditRecord | undefined;
      for await (const value of this.sub.values({ gte: REC, lt: REC_END })) {
        first ??= value as AuditRecord;
        last = value as AuditRecord;
      }
      if (first !== undefined && last !== undefined) {
        this.state.meta = {
          base: { seq: first.seq - 1, hash: first.prev },
          head: { seq: last.seq, hash: last.hash },
        };
      }
    }
    await this.migrateLegacy();
  }

  /** Entries written before the chain (keys `<ts>-<seq>`) are re-appended in order, then removed. */
  private async migrateLegacy(): Promise<void> {
    const legacy: [string, AuditEntry][] = [];
    for await (const [key, value] of this.sub.iterator({ lt: META })) {
      if (/^\d{15}-\d{6}$/.test(key)) legacy.push([key, value as AuditEntry]);
    }
    for (const [key, entry] of legacy) {
      const { head } = this.state.meta;
      const unhashed = {
        ...entry,
        seq: head.seq + 1,
        tsMs: entry.tsMs,
        kind: 'egress',
        migrated: true,
        prev: head.hash,
      } as Omit<AuditRecord, 'hash'>;
      const record = { ...unhashed, hash: recordHash(unhashed) } as AuditRecord;
      const meta: Meta = { base: this.state.meta.base, head: { seq: record.seq, hash: record.hash } };
      await this.sub.batch([
        { type: 'put', key: recKey(record.seq), value: record },
        { type: 'put', key: META, value: meta },
        { type: 'del', key },
      ]);
      this.state.meta = meta;
    }
  }

  /** Past the bound, delete the oldest records in batches of 1 % and move the base forward. */
  private async prune(): Promise<void> {
    const { base, head } = this.state.meta;
    const slack = Math.max(1, Math.floor(this.maxRecords / 100));
    if (head.seq - base.seq <= this.maxRecords + slack - 1) return;
    const drop = head.seq - base.seq - this.maxRecords;
    let newBase: Link = base;
    const ops: { type: 'del'; key: string }[] = [];
    for await (const [key, value] of this.sub.iterator({ gte: REC, lt: REC_END, limit: drop })) {
      ops.push({ type: 'del', key });
      const r = value as AuditRecord;
      newBase = { seq: r.seq, hash: r.hash };
    }
    const meta: Meta = { base: newBase, head };
    await this.sub.batch([...ops, { type: 'put', key: META, value: meta }] as never);
    this.state.meta = meta;
  }
}
