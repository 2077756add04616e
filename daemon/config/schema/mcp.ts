import { arr, bool, int, obj, rec, str } from './builder.js';
import { backoff, sandboxSchema } from './common.js';

/**
 * The Model Context Protocol, both ways (README, "MCP"): edgeloom answers MCP clients (`edgeloom
 * mcp`, POST /mcp) with its tools and its current state; MCP tool servers it starts join its tool
 * registry.
 */
const serverSchema = obj('One MCP tool server, spoken to over its stdin/stdout.', {
  id: str({
    description:
      'Server id: its tools join the registry as `<id>.<tool>`. Lowercase letters, digits, `_`; not a plugin id.',
    pattern: '^[a-z][a-z0-9_]{0,31}$',
  }),
  command: arr({
    description: 'Program and arguments; relative paths resolve against the config file directory.',
    items: str({ description: 'One argument.', minLength: 1 }),
    maxItems: 64,
  }),
  env: rec({
    description:
      'Environment for the server besides HOME, LOGNAME, PATH, SHELL, TERM and USER (nothing else of the daemon is passed).',
    values: str({ description: 'A value.' }),
    default: {},
  }),
  sandbox: sandboxSchema(),
  start_timeout_ms: int({
    description: 'Start-up waits this long for the server to answer initialize and tools/list, ms.',
    default: 10_000,
    minimum: 100,
  }),
  restart: backoff('MCP server restart', 500, 30_000),
});

export const mcpSchema = obj('Model Context Protocol (README, "MCP").', {
  serve: bool({
    description:
      'Answer MCP clients: `edgeloom mcp` through the control socket, and POST /mcp on the HTTP server (behind http.token).',
    default: true,
  }),
  servers: arr({
    description: 'MCP tool servers (stdio) the daemon starts and supervises.',
    items: serverSchema,
    default: [],
    maxItems: 16,
  }),
});
