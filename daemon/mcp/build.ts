/**
 * Wiring for MCP (README, "MCP"): the tool servers of `mcp.servers` (their tools join the
 * registry), the service MCP clients reach through the control socket and /mcp, and, with
 * `mcp.serve`, the state its resources read. The composition root adds `components` to the
 * controller.
 */

import { join } from 'node:path';
import type { ToolRegistry } from '../agents/tools.js';
import type { EventBus } from '../bus/types.js';
import type { Component } from '../component.js';
import type { McpConfig } from '../config/types.js';
import { componentLogger, type Logger } from '../log.js';
import type { AuditRecordInput } from '../router/audit-log.js';
import type { PrivacyTiers } from '../router/privacy.js';
import { McpService, type McpServiceStats } from './mcp-service.js';
import { McpState } from './mcp-state.js';
import { type McpServerStats, McpToolServer } from './tool-server.js';

export interface McpStats {
  /** The configured MCP tool servers. */
  readonly servers: readonly McpServerStats[];
  /** MCP clients of this daemon (absent when `mcp.serve` is off). */
  readonly clients?: McpServiceStats;
}

export interface BuildMcpOptions {
  readonly config: McpConfig;
  readonly bus: EventBus;
  readonly registry: ToolRegistry;
  /** The live privacy tiers: what an MCP client may read (mcp-server.ts). */
  readonly tiers: PrivacyTiers;
  readonly audit?: (record: AuditRecordInput) => Promise<unknown>;
  readonly logger: Logger;
  /** Each tool server's state dir is `<storageDir>/mcp/<id>`. */
  readonly storageDir: string;
  /** Working directory of the tool servers (the config file's directory). */
  readonly cwd: string;
}

export interface Mcp {
  readonly servers: readonly McpToolServer[];
  readonly service: McpService;
  /** In start order: the state before the service, the tool servers last. */
  readonly components: readonly Component[];
  stats(): McpStats;
}

export function buildMcp(o: BuildMcpOptions): Mcp {
  const servers = o.config.servers.map(
    (config) =>
      new McpToolServer({
        config,
        registry: o.registry,
        logger: componentLogger(o.logger, `mcp.${config.id}`),
        stateRoot: join(o.storageDir, 'mcp'),
        cwd: o.cwd,
      }),
  );
  const state = new McpState(o.bus);
  // Built either way: with `serve` off it answers every client with E_MCP_REFUSED, naming the key.
  const service = new McpService({
    enabled: o.config.serve,
    registry: o.registry,
    state,
    tierFor: (topic) => o.tiers.tierFor(topic),
    defaultTier: () => o.tiers.snapshot().defaultTier,
    ...(o.audit === undefined ? {} : { audit: o.audit }),
    logger: componentLogger(o.logger, 'mcp.serve'),
  });
  const components: Component[] = o.config.serve ? [state, service, ...servers] : [service, ...servers];
  return {
    servers,
    service,
    components,
    stats: () => ({
      servers: servers.map((s) => s.stats()),
      ...(o.config.serve ? { clients: service.stats() } : {}),
    }),
  };
}
