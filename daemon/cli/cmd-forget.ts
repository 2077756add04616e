/**
 * `edgeloom forget [--yes] [--config FILE]`: GDPR-style erasure of the personal data edgeloom
 * keeps (daemon/privacy/forget.ts): agent memory, queued personal MQTT messages, the personal
 * retained topics, the audit records; then the store is compacted so the deleted bytes leave its
 * files. It asks the running daemon through the control socket, or works on the store of a
 * stopped one. Without `--yes` it only counts.
 */
import { forget } from '../privacy/forget.js';
import { bool, parse, str } from './args.js';
import type { Command } from './command.js';
import { viaDaemonOrStore } from './store-access.js';

const USAGE = `Usage: edgeloom forget [--yes] [--json] [--config FILE]

Delete the personal data stored on this device and say what was deleted (counts per store):
  agents    agent memory (event logs, snapshots, working memory)
  outbox    queued MQTT messages carrying personal data
  retained  personal retained MQTT topics (display/set), cleared with an empty retained message
  audit     the audit records (one new record says that forget ran)
Works while the daemon runs (through its control socket) and while it is stopped. The store is
compacted afterwards, so deleted data does not linger in LevelDB's files.

Options:
  --yes          really delete (without it: a dry run that only counts)
  --json         print {"dry_run", "deleted": {store: count}, "via"} instead of text
  --config FILE  configuration file (for storage.dir)`;

const CLI = { channel: 'cli', authenticated: true } as const;

export const forgetCommand: Command = {
  name: 'forget',
  summary: 'delete stored personal data (agent memory, queued messages, audit records)',
  usage: USAGE,
  async run(argv) {
    const options = {
      yes: { type: 'boolean' },
      json: { type: 'boolean' },
      config: { type: 'string' },
    } as const;
    const p = parse('forget', argv, options, false);
    const apply = bool(p, 'yes');
    const { via, result } = await viaDaemonOrStore(str(p, 'config'), { op: 'forget', dry_run: !apply }, (a) =>
      forget(
        {
          store: a.store,
          audit: a.audit,
          logger: a.ctx.logger,
          baseTopic: a.ctx.config.mqtt.base_topic,
          outbox: a.ctx.config.mqtt.outbox,
        },
        { dryRun: !apply, origin: CLI },
      ),
    );
    const verb = apply ? 'deleted' : 'would delete';
    const deleted = (result as { deleted: Record<string, number> }).deleted;
    if (bool(p, 'json')) {
      process.stdout.write(`${JSON.stringify({ dry_run: !apply, deleted, via })}\n`);
      return 0;
    }
    for (const [name, n] of Object.entries(deleted)) process.stdout.write(`${verb} ${n} ${name} entries\n`);
    if (!apply) process.stdout.write('dry run: nothing deleted (pass --yes to delete)\n');
    else
      process.stdout.write(`store compacted (${via === 'daemon' ? 'daemon running' : 'daemon stopped'})\n`);
    return 0;
  },
};
