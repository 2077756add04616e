/**
 * The metric families of what runs outside the daemon's own code: process plugins
 * (plugins/plugin-host.ts) and, from mcpFamilies, MCP tool servers and MCP clients
 * (mcp/). Everything a plugin does is counted per plugin: events delivered, dropped by its
 * subscription's QoS policy or withheld by its capabilities, publishes accepted, refused or dropped,
 * tool calls ok or failed, restarts, and whether it is up and healthy.
 */
import type { StatsSnapshot } from '../stats-snapshot.js';
import type { DefineFamily } from './metrics-core.js';

type Plugin = NonNullable<StatsSnapshot['plugins']>[number];
type McpServer = NonNullable<StatsSnapshot['mcp']>['servers'][number];
type McpClients = NonNullable<NonNullable<StatsSnapshot['mcp']>['clients']>;

export function pluginFamilies(family: DefineFamily): void {
  const byOutcome = (name: string, help: string, rows: (p: Plugin) => [string, number][]) =>
    family('counter', name, help, ['plugin', 'outcome'], (s, set) => {
      for (const p of s.plugins ?? []) for (const [outcome, n] of rows(p)) set(n, { plugin: p.id, outcome });
    });
  byOutcome(
    'edgeloom_plugin_events_total',
    'Bus events for a plugin: delivered, dropped by its queue (drop-oldest), withheld by its capabilities.',
    (p) => [
      ['delivered', p.eventsSent],
      ['dropped', p.eventsDropped],
      ['withheld', p.eventsWithheld],
    ],
  );
  byOutcome(
    'edgeloom_plugin_publishes_total',
    "A plugin's publishes: accepted, refused (outside its namespace), dropped (past max_publish_per_s).",
    (p) => [
      ['accepted', p.published],
      ['refused', p.publishRefused],
      ['dropped', p.publishDropped],
    ],
  );
  byOutcome('edgeloom_plugin_tool_calls_total', "Calls of a plugin's tools: ok or failed.", (p) => [
    ['ok', p.toolOk],
    ['failed', p.toolFailures],
  ]);
  byOutcome(
    'edgeloom_plugin_lines_total',
    'Lines a plugin wrote: read, bad (not a message), overlong (discarded).',
    (p) => [
      ['read', p.linesIn],
      ['bad', p.linesBad],
      ['overlong', p.linesOverlong],
    ],
  );
  family(
    'counter',
    'edgeloom_plugin_restarts_total',
    'Restarts of a plugin process.',
    ['plugin'],
    (s, set) => {
      for (const p of s.plugins ?? []) set(p.restarts, { plugin: p.id });
    },
  );
  family(
    'gauge',
    'edgeloom_plugin_up',
    'A plugin process runs and has said hello (1) or not (0).',
    ['plugin'],
    (s, set) => {
      for (const p of s.plugins ?? []) set(p.ready ? 1 : 0, { plugin: p.id });
    },
  );
  family(
    'gauge',
    'edgeloom_plugin_healthy',
    'The health a plugin last reported: ok (1) or not (0).',
    ['plugin'],
    (s, set) => {
      for (const p of s.plugins ?? []) set(p.healthOk ? 1 : 0, { plugin: p.id });
    },
  );
}

export function mcpFamilies(family: DefineFamily): void {
  family(
    'counter',
    'edgeloom_mcp_server_tool_calls_total',
    "Calls of an MCP tool server's tools: ok or failed.",
    ['server', 'outcome'],
    (s, set) => {
      for (const m of s.mcp?.servers ?? []) {
        set(m.toolOk, { server: m.id, outcome: 'ok' });
        set(m.toolFailures, { server: m.id, outcome: 'failed' });
      }
    },
  );
  const perServer = (kind: 'gauge' | 'counter', name: string, help: string, pick: (m: McpServer) => number) =>
    family(kind, name, help, ['server'], (s, set) => {
      for (const m of s.mcp?.servers ?? []) set(pick(m), { server: m.id });
    });
  perServer(
    'counter',
    'edgeloom_mcp_server_restarts_total',
    'Reconnects of an MCP tool server.',
    (m) => m.restarts,
  );
  perServer('gauge', 'edgeloom_mcp_server_up', 'An MCP tool server is connected (1) or not (0).', (m) =>
    m.ready ? 1 : 0,
  );
  perServer(
    'gauge',
    'edgeloom_mcp_server_tools',
    'Tools an MCP tool server offers now.',
    (m) => m.tools.length,
  );
  const clients = (kind: 'gauge' | 'counter', name: string, help: string, pick: (c: McpClients) => number) =>
    family(kind, name, help, [], (s, set) => {
      if (s.mcp?.clients !== undefined) set(pick(s.mcp.clients));
    });
  clients('gauge', 'edgeloom_mcp_client_sessions', 'MCP client sessions open now.', (c) => c.sessions);
  clients(
    'counter',
    'edgeloom_mcp_client_sessions_total',
    'MCP client sessions and HTTP requests served.',
    (c) => c.sessionsTotal,
  );
  clients(
    'counter',
    'edgeloom_mcp_client_refused_total',
    'MCP clients refused (all sessions taken).',
    (c) => c.refused,
  );
  family(
    'counter',
    'edgeloom_mcp_client_tool_calls_total',
    'Tool calls by MCP clients: ok or failed.',
    ['outcome'],
    (s, set) => {
      const c = s.mcp?.clients;
      if (c === undefined) return;
      set(c.toolCalls - c.toolFailures, { outcome: 'ok' });
      set(c.toolFailures, { outcome: 'failed' });
    },
  );
  clients(
    'counter',
    'edgeloom_mcp_client_resource_reads_total',
    'Resource reads by MCP clients.',
    (c) => c.resourceReads,
  );
  clients(
    'counter',
    'edgeloom_mcp_client_withheld_total',
    'Resource lists and reads answered with less, or refused, because of a privacy tier.',
    (c) => c.withheld,
  );
}
