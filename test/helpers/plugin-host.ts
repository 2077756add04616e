/**
 * A PluginHost on a real bus with a real tool registry, its plugin a real process (the configs go
 * through the real config loader, defaults and cross-field rules included).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ToolRegistry } from '../../daemon/agents/tools.js';
import { Bus } from '../../daemon/bus/bus.js';
import type { PrivacyTier } from '../../daemon/bus/topics.js';
import type { EventBus } from '../../daemon/bus/types.js';
import { loadConfig, type PluginConfig } from '../../daemon/config/index.js';
import { silentLogger } from '../../daemon/log.js';
import { PluginHost } from '../../daemon/plugins/plugin-host.js';
import { SystemClock } from '../../daemon/util/clock.js';
import { needs, REPO_ROOT } from './tools.js';

/** The plugins' tools: bubblewrap, prlimit, python3; under CI a missing one fails the tests. */
export const BWRAP_OK = needs({ tools: ['bwrap', 'prlimit', 'python3'] });

export function pluginConfig(p: Record<string, unknown>): PluginConfig {
  return loadConfig({ env: {}, hostname: 'test', overrides: { plugins: [p] } as never }).plugins[0]!;
}

export interface Harness {
  readonly bus: EventBus;
  readonly tools: ToolRegistry;
  readonly hosts: PluginHost[];
  add(p: Record<string, unknown>, tier?: PrivacyTier): Promise<PluginHost>;
  close(): Promise<void>;
}

export function harness(): Harness {
  const clock = new SystemClock();
  const bus = new Bus({ clock, logger: silentLogger() });
  const tools = new ToolRegistry({ bus, clock, logger: silentLogger(), defaultTimeoutMs: 10_000 });
  const stateRoot = mkdtempSync(join(tmpdir(), 'edgeloom-plugins-'));
  const hosts: PluginHost[] = [];
  return {
    bus,
    tools,
    hosts,
    async add(p, tier = 'local_only') {
      const host = new PluginHost({
        config: pluginConfig(p),
        bus,
        logger: silentLogger(),
        tools,
        tierFor: () => tier,
        stateRoot,
        cwd: REPO_ROOT,
      });
      hosts.push(host);
      await host.start(new AbortController().signal);
      return host;
    },
    async close() {
      for (const h of hosts.reverse()) await h.stop();
      await bus.close(1_000).catch(() => {});
    },
  };
}

export const stateRootOf = (h: PluginHost): string => (h as unknown as { stateDir: string }).stateDir;
