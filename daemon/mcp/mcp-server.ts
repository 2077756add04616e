/**
 * edgeloom as an MCP server (README, "MCP"), one official-SDK `Server` per client session:
 *
 * - tools: the registry's non-internal tools (the built-ins, plugins with `offer_tools`, MCP tool
 *   servers), called as an outside caller would (`external`, internal tools refused), each call
 *   audited (commands' flood bound: AuditBudget);
 * - resources: the latest emotion, the last transcripts, the motion state, the sensors' status and
 *   the stats (mcp-state.ts).
 *
 * An MCP client hands what it reads to a language model whose whereabouts the device cannot know,
 * so it is treated as a destination elsewhere (README, "Privacy"): it gets what a broker elsewhere
 * gets, derived data of the `public` and `sensitive` tiers and nothing of `private` or
 * `local_only`. Every entry is filtered by its topic's tier at the moment of the read; the tools,
 * tied to no sensor, by `router.privacy.default_tier`. Under `local_only` everywhere a client sees
 * nothing at all: no tool, no resource.
 */
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  ListResourcesRequestSchema,
  ListToolsRequestSchema,
  McpError,
  ReadResourceRequestSchema,
} from '@modelcontextprotocol/sdk/types.js';
import type { ToolRegistry } from '../agents/tools.js';
import type { PrivacyTier } from '../bus/topics.js';
import { ErrorCode } from '../errors.js';
import type { AuditBudget } from '../router/audit-budget.js';
import { packageVersion } from '../util/package-root.js';
import type { Kept, McpState } from './mcp-state.js';

/** What a destination elsewhere may receive: derived data of these tiers (README, "Privacy"). */
export function mcpMayRead(tier: PrivacyTier): boolean {
  return tier === 'public' || tier === 'sensitive';
}

export interface McpServerDeps {
  readonly registry: ToolRegistry;
  readonly state: McpState;
  /** The live tier of a topic (the router's tiers, with run-time changes). */
  readonly tierFor: (topic: string) => PrivacyTier;
  /** The live `router.privacy.default_tier`: the tier of the tools. */
  readonly defaultTier: () => PrivacyTier;
  /** Tool calls are audited here (channel `mcp`); absent: not audited (tests of the server alone). */
  readonly audit?: AuditBudget;
  /** Counted per call and read. */
  readonly counts: McpCounts;
}

export interface McpCounts {
  toolCalls: number;
  toolFailures: number;
  resourceReads: number;
  /** Lists and reads answered with less than asked, or refused, because of a tier. */
  withheld: number;
}

interface Resource {
  readonly uri: string;
  readonly name: string;
  readonly description: string;
  /** The value as it may be read now; undefined when its tier keeps it from MCP clients. */
  read(d: McpServerDeps): unknown;
}

/** JSON-RPC error of an unknown resource (MCP specification, "Resources": error handling). */
const RESOURCE_NOT_FOUND = -32002;

const visible = <T>(d: McpServerDeps, k: Kept<T> | undefined): Kept<T> | undefined =>
  k !== undefined && mcpMayRead(d.tierFor(k.topic)) ? k : undefined;

/** The resources, in the order they are listed. Each knows the topic its data came from. */
const RESOURCES: readonly Resource[] = [
  {
    uri: 'edgeloom://state/emotion',
    name: 'emotion',
    description: 'The emotion the display shows (debounced), with its confidence and when it changed.',
    read: (d) => {
      const e = visible(d, d.state.emotion);
      return e && { ts: e.tsMs, ...e.value };
    },
  },
  {
    uri: 'edgeloom://state/transcripts',
    name: 'transcripts',
    description: 'The last transcripts of speech (newest last): text, language, confidence.',
    read: (d) => {
      const all = d.state.transcripts.filter((t) => visible(d, t) !== undefined);
      if (all.length === 0 && !mcpMayRead(d.tierFor('inference/stt/+'))) return undefined;
      return all.map((t) => ({
        ts: t.tsMs,
        microphone: t.topic.split('/')[2],
        text: t.value.text,
        language: t.value.language,
        confidence: t.value.confidence,
      }));
    },
  },
  {
    uri: 'edgeloom://state/motion',
    name: 'motion',
    description: 'Whether the device is still or moving, and its last falls, shakes and tilts (newest last).',
    read: (d) => {
      if (!mcpMayRead(d.tierFor('agent/motion/motion'))) return undefined;
      const m = visible(d, d.state.motion);
      const events = d.state.motionEvents.filter((e) => visible(d, e) !== undefined).map((e) => e.value);
      return { state: m?.value.kind ?? null, since: m?.tsMs ?? null, events };
    },
  },
  {
    uri: 'edgeloom://state/sensors',
    name: 'sensors',
    description: 'Each sensor: kind, state (running, paused, failed, ...), reason and restarts.',
    read: (d) => {
      const out: Record<string, unknown> = {};
      for (const [id, k] of d.state.sensors) {
        if (visible(d, k) === undefined) continue;
        const { kind, state, reason, restarts } = k.value;
        out[id] = { kind, state, reason: reason ?? null, restarts, ts: k.tsMs };
      }
      return Object.keys(out).length === 0 && !mcpMayRead(d.defaultTier()) ? undefined : out;
    },
  },
  {
    uri: 'edgeloom://state/stats',
    name: 'stats',
    description: 'The latest stats snapshot: process, bus rates, models, routing, broker, plugins.',
    read: (d) => {
      if (!mcpMayRead(d.tierFor('system/stats'))) return undefined;
      const s = d.state.stats;
      return s === undefined ? null : { ts: s.tsMs, ...s.value };
    },
  },
];

/** The tools an MCP client may see now: none unless the default tier lets data go elsewhere. */
function tools(d: McpServerDeps) {
  if (!mcpMayRead(d.defaultTier())) return [];
  return d.registry.asFunctionDefinitions().map((f) => ({
    name: d.registry.fromFunctionName(f.function.name) ?? f.function.name,
    description: f.function.description,
    inputSchema: { type: 'object' as const, ...f.function.parameters },
  }));
}

/** A new server for one session (the SDK binds a Server to one transport). */
export function createMcpServer(d: McpServerDeps): Server {
  const server = new Server(
    { name: 'edgeloom', version: packageVersion() },
    {
      capabilities: { tools: {}, resources: {} },
      instructions:
        'edgeloom, a sensor daemon on an edge device. Resources hold its current state (what its privacy tiers let leave the device); tools act on the device.',
    },
  );
  server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: tools(d) }));
  server.setRequestHandler(CallToolRequestSchema, async (req, extra) => {
    const name = req.params.name;
    d.counts.toolCalls++;
    if (!tools(d).some((t) => t.name === name)) {
      d.counts.toolFailures++;
      return {
        isError: true,
        content: [{ type: 'text' as const, text: `${ErrorCode.E_TOOL_UNKNOWN}: no tool named '${name}'` }],
      };
    }
    const r = await d.registry.execute(name, req.params.arguments ?? {}, {
      signal: extra.signal,
      external: true,
      origin: 'command',
      source: 'mcp',
    });
    d.audit?.record({
      kind: 'command',
      outcome: r.ok ? 'ok' : (r.error?.code ?? 'failed'),
      channel: 'mcp',
      command: 'tool',
      tool: name,
    });
    if (!r.ok) {
      d.counts.toolFailures++;
      const text = `${r.error?.code ?? ErrorCode.E_TOOL_FAILED}: ${r.error?.message ?? 'failed'}`;
      return { isError: true, content: [{ type: 'text' as const, text }] };
    }
    const value = r.result ?? null;
    const structured =
      typeof value === 'object' && value !== null && !Array.isArray(value)
        ? { structuredContent: value as Record<string, unknown> }
        : {};
    return { content: [{ type: 'text' as const, text: JSON.stringify(value) }], ...structured };
  });
  server.setRequestHandler(ListResourcesRequestSchema, () => {
    const listed = RESOURCES.filter((r) => r.read(d) !== undefined);
    if (listed.length < RESOURCES.length) d.counts.withheld++;
    return {
      resources: listed.map((r) => ({
        uri: r.uri,
        name: r.name,
        description: r.description,
        mimeType: 'application/json',
      })),
    };
  });
  server.setRequestHandler(ReadResourceRequestSchema, (req) => {
    d.counts.resourceReads++;
    const r = RESOURCES.find((x) => x.uri === req.params.uri);
    const value = r?.read(d);
    if (value === undefined) {
      if (r !== undefined) d.counts.withheld++;
      // The same answer for a resource that does not exist and one a tier keeps on the device:
      // the spec's "resource not found" (-32002).
      throw new McpError(RESOURCE_NOT_FOUND, `no resource ${req.params.uri}`, { uri: req.params.uri });
    }
    return { contents: [{ uri: r!.uri, mimeType: 'application/json', text: JSON.stringify(value) }] };
  });
  return server;
}
