/**
 * `edgeloom audit [--since T] [--json] [--verify] [--config FILE]`: print the audit log (cloud and
 * MQTT egress, privacy changes, commands, cloud tool calls, forget), or check its hash chain.
 * Asks the running daemon through its control socket, or reads the store of a stopped one.
 */
import { EdgeloomError, ErrorCode } from '../errors.js';
import type { AuditRecord, AuditVerification } from '../router/audit-log.js';
import { bool, parse, str } from './args.js';
import type { Command } from './command.js';
import { viaDaemonOrStore } from './store-access.js';

const USAGE = `Usage: edgeloom audit [--since T] [--json] [--verify] [--config FILE]

Print the audit log, oldest first: time (wall clock, also for replays), kind (egress, mqtt_egress,
privacy, command, tool_call, sensor_pause, forget), outcome and details. Cloud egress shows data
kind, bytes, privacy tier, destination, reason, correlation id and payload reference.

Options:
  --since T      only records at or after T: an ISO date/time (2024-05-01T08:00) or a
                 duration back from now (90s, 15m, 2h, 7d)
  --json         one JSON object per line instead of a table
  --verify       check the hash chain: exit 1 and name every edited, deleted or reordered record
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
      ErrorCode.E_USAGE,
      `audit: --since must be an ISO time or a duration like 2h (got ${JSON.stringify(value)})`,
      {
        where: '--since',
      },
    );
  }
  return at;
}

const CHAIN_FIELDS = new Set(['seq', 'tsMs', 'kind', 'outcome', 'prev', 'hash']);

function row(r: AuditRecord): string {
  const head = [
    new Date(r.tsMs).toISOString(),
    String(r.seq).padStart(6),
    r.kind.padEnd(12),
    r.outcome.padEnd(10),
  ];
  if (r.kind === 'egress') {
    return [
      ...head,
      String(r.dataKind).padEnd(6),
      String(r.bytes).padStart(9),
      String(r.tier).padEnd(10),
      `${String(r.host)}${String(r.path)}`,
      String(r.reason),
      String(r.correlationId),
      String(r.payloadRef),
    ].join('  ');
  }
  const rest = Object.fromEntries(Object.entries(r).filter(([k]) => !CHAIN_FIELDS.has(k)));
  return [...head, JSON.stringify(rest)].join('  ');
}

export const auditCommand: Command = {
  name: 'audit',
  summary: 'print or verify the audit log',
  usage: USAGE,
  async run(argv) {
    const p = parse(
      'audit',
      argv,
      {
        since: { type: 'string' },
        json: { type: 'boolean' },
        verify: { type: 'boolean' },
        config: { type: 'string' },
      },
      false,
    );
    const configFile = str(p, 'config');
    if (bool(p, 'verify')) {
      const { result } = await viaDaemonOrStore(configFile, { op: 'audit.verify' }, (a) => a.audit.verify());
      const v = result as AuditVerification;
      if (bool(p, 'json')) process.stdout.write(`${JSON.stringify(v)}\n`);
      else if (v.ok) {
        process.stdout.write(`audit chain ok: ${v.checked} records (${v.fromSeq}..${v.headSeq})\n`);
      } else {
        process.stdout.write(`audit chain BROKEN (${v.checked} records checked):\n`);
        for (const pr of v.problems) process.stdout.write(`  record ${pr.seq}: ${pr.problem}\n`);
      }
      return v.ok ? 0 : 1;
    }
    const since = str(p, 'since');
    const sinceMs = since === undefined ? undefined : parseSince(since, Date.now());
    const { result } = await viaDaemonOrStore(
      configFile,
      { op: 'audit.list', ...(sinceMs === undefined ? {} : { since_ms: sinceMs }) },
      (a) => a.audit.list(sinceMs === undefined ? {} : { sinceMs }),
    );
    const records = result as AuditRecord[];
    if (bool(p, 'json')) {
      for (const r of records) process.stdout.write(`${JSON.stringify(r)}\n`);
    } else if (records.length === 0) {
      process.stdout.write('no audit records\n');
    } else {
      process.stdout.write('time                         seq  kind          outcome     details\n');
      for (const r of records) process.stdout.write(`${row(r)}\n`);
      const egress = records.filter((r) => r.kind === 'egress');
      const sent = egress.filter((r) => r.outcome === 'sent');
      process.stdout.write(
        `${records.length} records; cloud egress: ${sent.length} sent (${sent.reduce((n, r) => n + Number(r.bytes), 0)} bytes), ${egress.length - sent.length} refused\n`,
      );
    }
    return 0;
  },
};
