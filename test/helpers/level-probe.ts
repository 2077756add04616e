/**
 * Test-only preload for the daemon (`NODE_OPTIONS=--import=<dist>/test/helpers/level-probe.js`):
 * watches every LevelDB write the process makes, so a test can aim a SIGKILL at the moment a
 * particular kind of write is under way, and can see which writes completed. Nothing in the
 * daemon's own code knows about it: it wraps classic-level's implementation methods (`_batch`,
 * `_put`, `_del`, `_clear`, `_close`), which every abstract-level call on the store (and on its
 * sublevels) ends in.
 *
 * Environment (not EDGELOOM_*: those are configuration overrides):
 * - `LEVEL_PROBE_FD=3`: write one JSON line per write to this descriptor, synchronously, when it
 *   is issued (`{"ev":"issued","kind":"outbox","n":7,"ops":[{type,key,value}]}`, the operations
 *   for every kind but `other` and `compaction`) and when it completes (`{"ev":"done",...}`).
 * - `LEVEL_PROBE_FREEZE=<kind>:<n>`: when the n-th write of that kind has been handed to
 *   LevelDB (its worker thread is writing it), report `{"ev":"frozen",...}` and block the main
 *   thread (Atomics.wait) so the process never learns whether it completed: the test's SIGKILL then
 *   lands with that write in flight or just finished but unacknowledged — the instant a crash can
 *   tear state apart (a batch half-applied, an outbox entry persisted but not yet published).
 * - `LEVEL_PROBE_HANG_CLOSE=1`: closing the store never finishes (a component that does not
 *   stop, for the shutdown-deadline test).
 *
 * Kinds, from the keys (layouts in agents/store.ts, actions/outbox.ts, router/audit-log.ts):
 * `agent-log` (an input's events), `snapshot` (events + the snapshot they complete), `working`
 * (working memory alone), `compaction` (a clear of old log entries or snapshots), `outbox` (a
 * group-committed batch of puts/deletes), `audit` (an egress record), `other`.
 */
import { writeSync } from 'node:fs';
import { Level } from 'level';

type Op = { type: 'put' | 'del'; key: unknown; value?: unknown };
type Kind = 'agent-log' | 'snapshot' | 'working' | 'compaction' | 'outbox' | 'audit' | 'other';

const fd = process.env.LEVEL_PROBE_FD === undefined ? undefined : Number(process.env.LEVEL_PROBE_FD);
const [freezeKind, freezeN] = (process.env.LEVEL_PROBE_FREEZE ?? '').split(':');
const freezeAt = freezeN === undefined ? undefined : { kind: freezeKind as Kind, n: Number(freezeN) };
const hangClose = process.env.LEVEL_PROBE_HANG_CLOSE === '1';
const counts = new Map<Kind, number>();

const text = (v: unknown): string =>
  typeof v === 'string' ? v : v instanceof Uint8Array ? Buffer.from(v).toString('utf8') : String(v);

function report(line: Record<string, unknown>): void {
  if (fd !== undefined) writeSync(fd, `${JSON.stringify(line)}\n`);
}

function kindOf(keys: readonly string[]): Kind {
  if (keys.some((k) => k.startsWith('!outbox!'))) return 'outbox';
  if (keys.some((k) => k.startsWith('!audit!'))) return 'audit';
  const agent = keys.filter((k) => k.startsWith('!agents!!'));
  if (agent.length > 0) {
    const local = agent.map((k) => k.slice(k.indexOf('!', '!agents!!'.length) + 1));
    if (local.some((k) => k.startsWith('s!'))) return 'snapshot';
    if (local.some((k) => k.startsWith('l!'))) return 'agent-log';
    return 'working';
  }
  return 'other';
}

/** Count, report (with the operations, for the kinds a test checks), maybe freeze. */
function issued(kind: Kind, run: () => Promise<void>, ops?: readonly Op[]): Promise<void> {
  const n = (counts.get(kind) ?? 0) + 1;
  counts.set(kind, n);
  report({
    ev: 'issued',
    kind,
    n,
    ...(ops !== undefined && kind !== 'other'
      ? {
          ops: ops.map((o) => ({
            type: o.type,
            key: text(o.key),
            ...(o.value === undefined ? {} : { value: text(o.value) }),
          })),
        }
      : {}),
  });
  const p = run().then(() => report({ ev: 'done', kind, n }));
  if (freezeAt !== undefined && freezeAt.kind === kind && freezeAt.n === n) {
    report({ ev: 'frozen', kind, n });
    // The write is with LevelDB's worker thread; the main thread stops here until SIGKILL.
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 60_000);
  }
  return p;
}

// biome-ignore lint/suspicious/noExplicitAny: patching the implementation methods of classic-level.
const proto = Level.prototype as any;
const batch = proto._batch as (ops: Op[], options: unknown) => Promise<void>;
const put = proto._put as (key: unknown, value: unknown, options: unknown) => Promise<void>;
const del = proto._del as (key: unknown, options: unknown) => Promise<void>;
const clear = proto._clear as (options: { gte?: unknown; gt?: unknown }) => Promise<void>;
const close = proto._close as () => Promise<void>;

proto._batch = function (this: unknown, ops: Op[], options: unknown): Promise<void> {
  return issued(kindOf(ops.map((o) => text(o.key))), () => batch.call(this, ops, options), ops);
};
proto._put = function (this: unknown, key: unknown, value: unknown, options: unknown): Promise<void> {
  const ops: Op[] = [{ type: 'put', key, value }];
  return issued(kindOf([text(key)]), () => put.call(this, key, value, options), ops);
};
proto._del = function (this: unknown, key: unknown, options: unknown): Promise<void> {
  const ops: Op[] = [{ type: 'del', key }];
  return issued(kindOf([text(key)]), () => del.call(this, key, options), ops);
};
proto._clear = function (this: unknown, options: { gte?: unknown; gt?: unknown }): Promise<void> {
  const from = text(options.gte ?? options.gt ?? '');
  const kind: Kind = from.startsWith('!agents!') ? 'compaction' : 'other';
  return issued(kind, () => clear.call(this, options));
};
proto._close = function (this: unknown): Promise<void> {
  if (hangClose) {
    report({ ev: 'close-hangs' });
    return new Promise<void>(() => {});
  }
  return close.call(this);
};
