/**
 * `edgeloom privacy show|set|reset`: the safe way for the device's owner to change a tier. It
 * talks to the running daemon through its control socket (mode 0600: only the daemon's user and
 * root), or changes the stored settings of a stopped daemon, which apply at its next start. Either
 * way the change is persisted, audited, and (when running) published on `<base>/privacy`.
 */
import { EdgeloomError, ErrorCode } from '../errors.js';
import { PrivacyControl } from '../privacy/privacy-control.js';
import { bool, parse, str } from './args.js';
import type { Command } from './command.js';
import { type OfflineAccess, viaDaemonOrStore } from './store-access.js';

const USAGE = `Usage: edgeloom privacy show [--json] [--config FILE]
       edgeloom privacy set SCOPE TIER [--json] [--config FILE]
       edgeloom privacy reset [SCOPE] [--json] [--config FILE]

Show or change the privacy tiers. SCOPE is a sensor id (mic0, cam0, imu0), sensor:<kind>,
default, or a bus topic pattern matching one of this device's topics (inference/face/#).
TIER is public, sensitive, private or local_only. \`reset\` drops the run-time change at SCOPE
(all of them without SCOPE) and returns to the config file's tiers.

Talks to the running daemon (its control socket in storage.dir); with the daemon stopped it
changes the stored settings, applied at the next start. Unlike an MQTT command, this may loosen
a tier: whoever can run it can read the device's state anyway. Every change is audited.

Options:
  --json         print one JSON object (show: the tiers; set: scope, tier, previous; reset: what was reset)
  --config FILE  configuration file (for storage.dir and the sensors' ids)`;

function control(access: OfflineAccess): PrivacyControl {
  const { config, logger } = access.ctx;
  return new PrivacyControl({
    store: access.store,
    audit: access.audit,
    config: { privacy: config.router.privacy, sensors: config.sensors },
    logger,
  });
}

const CLI = { channel: 'cli', authenticated: true } as const;

export const privacyCommand: Command = {
  name: 'privacy',
  summary: 'show or change the privacy tiers (persisted, audited)',
  usage: USAGE,
  async run(argv) {
    const p = parse('privacy', argv, { json: { type: 'boolean' }, config: { type: 'string' } });
    const [action, ...args] = p.positionals;
    const configFile = str(p, 'config');
    const usage = (why: string): never => {
      throw new EdgeloomError(ErrorCode.E_USAGE, `privacy: ${why} (see: edgeloom privacy --help)`, {
        where: 'privacy',
      });
    };
    if (action === 'show' && args.length === 0) {
      const { via, result } = await viaDaemonOrStore(configFile, { op: 'privacy.show' }, async (a) => {
        const c = control(a);
        await c.load();
        return { tiers: c.snapshot(), runtime: c.runtimeChanges() };
      });
      const r = result as {
        tiers: { defaultTier: string; sensorIds: object; overrides: object };
        runtime: object;
      };
      if (bool(p, 'json')) process.stdout.write(`${JSON.stringify({ via, ...r })}\n`);
      else {
        process.stdout.write(`default: ${r.tiers.defaultTier}\n`);
        for (const [id, tier] of Object.entries(r.tiers.sensorIds)) process.stdout.write(`${id}: ${tier}\n`);
        for (const [pattern, tier] of Object.entries(r.tiers.overrides))
          process.stdout.write(`${pattern}: ${tier}\n`);
        const changes = Object.keys(r.runtime);
        process.stdout.write(
          `run-time changes: ${changes.length === 0 ? 'none' : changes.join(', ')} (${via})\n`,
        );
      }
      return 0;
    }
    if (action === 'set' && args.length === 2) {
      const [scope, tier] = args as [string, string];
      const { via, result } = await viaDaemonOrStore(configFile, { op: 'privacy.set', scope, tier }, (a) =>
        control(a).change({ scope, tier: tier as never, origin: CLI }),
      );
      const r = result as { scope: string; tier: string; previous: string | null };
      const where = via === 'daemon' ? 'now' : 'at the next start';
      if (bool(p, 'json')) process.stdout.write(`${JSON.stringify({ via, ...r })}\n`);
      else process.stdout.write(`${r.scope}: ${r.previous ?? '(none)'} -> ${r.tier} (applies ${where})\n`);
      return 0;
    }
    if (action === 'reset' && args.length <= 1) {
      const scope = args[0];
      const { via, result } = await viaDaemonOrStore(
        configFile,
        { op: 'privacy.reset', ...(scope === undefined ? {} : { scope }) },
        async (a) => ({ reset: await control(a).reset(scope, CLI) }),
      );
      const reset = (result as { reset: string[] }).reset;
      if (bool(p, 'json')) process.stdout.write(`${JSON.stringify({ via, reset })}\n`);
      else process.stdout.write(`reset: ${reset.length === 0 ? 'nothing to reset' : reset.join(', ')}\n`);
      return 0;
    }
    return usage(action === undefined ? 'missing action' : `bad arguments for ${action}`);
  },
};
