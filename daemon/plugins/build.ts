/**
 * Wiring for the configured plugins (README, "Write a plugin"): one host per `plugins[]` entry,
 * its state under `<storage.dir>/plugins/<id>`, its tools joining the registry.
 */
import { join } from 'node:path';
import type { ToolRegistry } from '../agents/tools.js';
import type { EventBus } from '../bus/types.js';
import type { PluginConfig } from '../config/types.js';
import { componentLogger, type Logger } from '../log.js';
import type { PrivacyTiers } from '../router/privacy.js';
import { PluginHost } from './plugin-host.js';

export interface BuildPluginsOptions {
  readonly plugins: readonly PluginConfig[];
  readonly bus: EventBus;
  readonly logger: Logger;
  readonly registry: ToolRegistry;
  /** The live privacy tiers (capabilities read a topic's tier per event). */
  readonly tiers: PrivacyTiers;
  readonly storageDir: string;
  /** Working directory of the plugins (the config file's directory). */
  readonly cwd: string;
  /** A speed-0 replay: each host waits for its plugin's `synced` after a record (plugin-host.ts). */
  readonly settle: boolean;
}

export function buildPlugins(o: BuildPluginsOptions): PluginHost[] {
  return o.plugins.map(
    (config) =>
      new PluginHost({
        config,
        bus: o.bus,
        logger: componentLogger(o.logger, `plugin.${config.id}`),
        tools: o.registry,
        tierFor: (topic) => o.tiers.tierFor(topic),
        stateRoot: join(o.storageDir, 'plugins'),
        cwd: o.cwd,
        settle: o.settle,
      }),
  );
}
