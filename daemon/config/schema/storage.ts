/** `storage`: the LevelDB directory and its bounds. */
import { int, obj, str } from './builder.js';

export const storageSchema = obj('Local state (LevelDB: agent event logs, snapshots, MQTT outbox).', {
  dir: str({
    description: 'LevelDB directory; default $STATE_DIRECTORY (systemd StateDirectory=) or ./var/edgeloom.',
    minLength: 1,
  }),
  audit_max_records: int({
    description: 'Audit records kept; past it the oldest are deleted (the hash chain continues).',
    default: 200_000,
    minimum: 100,
  }),
});
