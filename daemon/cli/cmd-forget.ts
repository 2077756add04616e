/**
 * `edgeloom forget [--yes] [--config FILE]`: GDPR-style erasure of the personal data edgeloom
 * stores in the shared LevelDB store (`storage.dir`): the egress audit log with its payload
 * references (`audit`), stored transcripts (`transcripts`) and agent memory — event logs and
 * snapshots (`agents`). Cost counters and the MQTT outbox are not personal and stay. Without
 * `--yes` it only reports what would be deleted.
 */
import { loadConfig } from '../config/index.js';
import { clearSublevel, countSublevel, openStore, PERSONAL_SUBLEVELS } from '../router/storage.js';
import { bool, parse, str } from './args.js';
import type { Command } from './command.js';

const USAGE = `Usage: edgeloom forget [--yes] [--config FILE]

Delete the personal data stored on this device and say what was deleted (counts per kind):
  audit        the egress audit log and its payload references
  transcripts  stored transcripts
  agents       agent memory (event logs and snapshots)
Run it with the daemon stopped (the daemon holds the store's lock).

Options:
  --yes          really delete (without it: a dry run that only counts)
  --config FILE  configuration file (for storage.dir)`;

export const forgetCommand: Command = {
  name: 'forget',
  summary: 'delete stored personal data (audit log, transcripts, agent memory)',
  usage: USAGE,
  async run(argv) {
    const p = parse('forget', argv, { yes: { type: 'boolean' }, config: { type: 'string' } }, false);
    const file = str(p, 'config');
    const config = loadConfig(file === undefined ? {} : { file });
    const store = await openStore(config.storage.dir);
    const apply = bool(p, 'yes');
    try {
      const counts: Record<string, number> = {};
      for (const name of PERSONAL_SUBLEVELS) {
        counts[name] = apply ? await clearSublevel(store, name) : await countSublevel(store, name);
      }
      const verb = apply ? 'deleted' : 'would delete';
      for (const [name, n] of Object.entries(counts)) process.stdout.write(`${verb} ${n} ${name} entries\n`);
      if (!apply) process.stdout.write('dry run: nothing deleted (pass --yes to delete)\n');
      return 0;
    } finally {
      await store.close();
    }
  },
};
