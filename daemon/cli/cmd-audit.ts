/**
 * `edgeloom audit [--since T] [--json] [--config FILE]`: print the egress audit log (every request
 * that left the device or was refused by the privacy guard). Reads the shared LevelDB store, so
 * it runs while the daemon is stopped (a running daemon holds the store's lock).
 */
import { loadConfig } from '../config/index.js';
import { EdgeloomError } from '../errors.js';
import { type AnyAuditEntry, AuditLog, isEgressEntry } from '../router/audit-log.js';
import { openStore } from '../router/storage.js';
import { bool, parse, str } from './args.js';
import type { Command } from './command.js';

const USAGE = `Usage: edgeloom audit [--since T] [--json] [--config FILE]

Print every cloud egress recorded in the audit log: time, data kind, bytes, destination host,
path, privacy tier, decision reason, correlation id, payload reference, outcome (sent|refused).

Options:
  --since T      only entries at or after T: an ISO date/time (2024-05-01T08:00) or a
                 duration back from now (90s, 15m, 2h, 7d)
  --json         one JSON object per line instead of a table
  --config FILE  configuration file (for storage.dir)`;

/** `T` as ms since epoch: ISO time, or `<n><s|m|h|d>` before `nowMs`. */
export function parseSince(value: string, nowMs: number): number {
  const rel = /^(\d+(?:\.\d+)?)(s|m|h|d)$/.exec(value.trim());
  if (rel) {
    const unitMs = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[rel[2] as 's' | 'm' | 'h' | 'd'];
    return nowMs - Number(rel[1]) * unitMs;
  }
  const at = Date.parse(value);
  if (Number.isNaN(at)) {
    throw new EdgeloomError(
      'E_USAGE',
      `audit: --since must be an ISO time or a duration like 2h (got ${JSON.stringify(value)})`,
      {
        where: '--since',
      },
    );
  }
  return at;
}

function row(e: AnyAuditEntry): string {
  if (!isEgressEntry(e)) {
    // A cloud-requested tool call: outcome, tool and target in the kind/destination columns.
    const outcome = e.outcome === 'allowed' ? 'ran' : 'refused';
    return [new Date(e.tsMs).toISOString(), outcome.padEnd(7), 'tool  ', ''.padStart(9), ''.padEnd(10)]
      .concat([`${e.tool}${e.target === undefined ? '' : ` ${e.target}`}`, e.code ?? 'cloud_tool_call'])
      .concat([e.correlationId, e.argsRef])
      .join('  ');
  }
  return [
    new Date(e.tsMs).toISOString(),
    e.outcome.padEnd(7),
    e.dataKind.padEnd(6),
    String(e.bytes).padStart(9),
    e.tier.padEnd(10),
    `${e.host}${e.path}`,
    e.reason,
    e.correlationId,
    e.payloadRef,
  ].join('  ');
}

export const auditCommand: Command = {
  name: 'audit',
  summary: 'print the cloud egress audit log',
  usage: USAGE,
  async run(argv) {
    const p = parse(
      'audit',
      argv,
      { since: { type: 'string' }, json: { type: 'boolean' }, config: { type: 'string' } },
      false,
    );
    const since = str(p, 'since');
    const sinceMs = since === undefined ? undefined : parseSince(since, Date.now());
    const file = str(p, 'config');
    const config = loadConfig(file === undefined ? {} : { file });
    const store = await openStore(config.storage.dir);
    try {
      const entries = await new AuditLog(store).list(sinceMs === undefined ? {} : { sinceMs });
      if (bool(p, 'json')) {
        for (const e of entries) process.stdout.write(`${JSON.stringify(e)}\n`);
      } else if (entries.length === 0) {
        process.stdout.write('no egress recorded\n');
      } else {
        process.stdout.write(
          'time                      outcome  kind        bytes  tier        destination  reason  correlation  payload\n',
        );
        for (const e of entries) process.stdout.write(`${row(e)}\n`);
        const egress = entries.filter(isEgressEntry);
        const sent = egress.filter((e) => e.outcome === 'sent');
        const calls = entries.length - egress.length;
        process.stdout.write(
          `${sent.length} sent (${sent.reduce((n, e) => n + e.bytes, 0)} bytes), ${egress.length - sent.length} refused` +
            `${calls === 0 ? '' : `; ${calls} cloud tool call(s)`}\n`,
        );
      }
      return 0;
    } finally {
      await store.close();
    }
  },
};
