/**
 * MCP tool servers (`mcp.servers`) through real processes: the fixture server
 * (test/helpers/mcp/tool-server.mjs, written with the official SDK) runs under bubblewrap, its
 * tools join the real tool registry as `fixture.<tool>` with their schemas enforced, a crash is
 * restarted; and the whole path through the compiled CLI: a replay whose unmatched utterance goes
 * to the cloud LLM (a loopback OpenAI-compatible server, the one the other cloud tests use) that
 * answers with a call of `fixture_shout`, which runs on the MCP server only when
 * `agents.cloud_tools.allow` lists it — the same cloud tool policy as every other tool.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { ToolRegistry } from '../../daemon/agents/tools.js';
import { Bus } from '../../daemon/bus/bus.js';
import { loadConfig } from '../../daemon/config/index.js';
import { silentLogger } from '../../daemon/log.js';
import { McpToolServer } from '../../daemon/mcp/tool-server.js';
import { SystemClock } from '../../daemon/util/clock.js';
import { runCli } from '../helpers/cli-process.js';
import { DEMO } from '../helpers/daemon-mqtt.js';
import { CHAT, FakeOpenAIServer, toolCallAnswer } from '../helpers/fake-openai-server.js';
import { BWRAP_OK } from '../helpers/plugin-host.js';
import { REPO_ROOT } from '../helpers/tools.js';
import { until } from '../helpers/wait.js';

const FIXTURE = join(REPO_ROOT, 'test/helpers/mcp/tool-server.mjs');
const SERVER = { id: 'fixture', command: [process.execPath, FIXTURE] };
const dir = mkdtempSync(join(tmpdir(), 'edgeloom-mcp-tools-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.skipIf(!BWRAP_OK)('an MCP tool server in the registry', () => {
  const clock = new SystemClock();
  const bus = new Bus({ clock, logger: silentLogger() });
  const registry = new ToolRegistry({ bus, clock, logger: silentLogger(), defaultTimeoutMs: 10_000 });
  let server: McpToolServer | undefined;
  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  it('registers its tools as <id>.<tool>, enforces their schemas, and restarts it after a crash', async () => {
    const config = loadConfig({
      env: {},
      hostname: 't',
      overrides: { mcp: { servers: [{ ...SERVER, restart: { initial_ms: 50, max_ms: 100 } }] } } as never,
    }).mcp.servers[0]!;
    server = new McpToolServer({ config, registry, logger: silentLogger(), stateRoot: dir, cwd: REPO_ROOT });
    await server.start(new AbortController().signal);
    expect(server.health()).toEqual({ status: 'ok' });
    expect(registry.names()).toEqual(
      expect.arrayContaining(['fixture.shout', 'fixture.get_weather', 'fixture.fail', 'fixture.exit']),
    );
    // Offered like any tool: the cloud sees it only when its policy allows (cloud-tools.ts).
    expect(registry.asFunctionDefinitions().map((f) => f.function.name)).toContain('fixture_shout');

    const shout = await registry.execute('fixture.shout', { text: 'lights' });
    expect(shout).toMatchObject({ ok: true, result: { shouted: 'LIGHTS' } });
    const first = (shout.result as { instance: string }).instance;
    expect(await registry.execute('fixture.get_weather', { city: 'Oslo' })).toMatchObject({
      ok: true,
      result: { content: [{ type: 'text', text: 'sunny in Oslo' }] },
    });
    // The schema the server declared is checked before the server sees the call.
    expect(await registry.execute('fixture.shout', {})).toMatchObject({
      ok: false,
      error: { code: 'E_TOOL_INVALID_ARGS' },
    });
    expect(await registry.execute('fixture.fail', {})).toMatchObject({
      ok: false,
      error: { code: 'E_MCP_TOOL_FAILED', message: 'the fixture always fails' },
    });

    await registry.execute('fixture.exit', {});
    await until('the server restarted', () => server!.stats().restarts >= 1 && server!.stats().ready);
    const again = await registry.execute('fixture.shout', { text: 'again' });
    expect(again).toMatchObject({ ok: true, result: { shouted: 'AGAIN' } });
    expect((again.result as { instance: string }).instance).not.toBe(first);
    expect(server.stats()).toMatchObject({ toolOk: 4, toolFailures: 1, restarts: 1 });
  });
});

/** A demo replay whose second utterance (no intent matches it) goes to the cloud LLM. */
async function replayAsking(name: string, allow: readonly string[]) {
  const cloud = await FakeOpenAIServer.start();
  cloud.setDefault(CHAT, toolCallAnswer([{ name: 'fixture_shout', arguments: { text: 'from the cloud' } }]));
  const config = join(dir, `${name}.yaml`);
  writeFileSync(
    config,
    stringify({
      device: { id: 'mcp-dev' },
      storage: { dir: join(dir, `${name}-state`) },
      pipeline: { face: { enabled: false }, stt: { engine: 'reference' } },
      sensors: { mic: { privacy: 'public' } },
      cloud: { enabled: true, base_url: cloud.baseUrl, api_key: 'sk-test', retries: 0 },
      router: { latency_budget_ms: 20_000 },
      http: { enabled: false },
      agents: { cloud_tools: { allow } },
      mcp: { servers: [SERVER] },
    }),
  );
  try {
    const r = await runCli(['replay', DEMO, '--config', config, '--emit-bus', 'tool/#'], {
      timeoutMs: 100_000,
    });
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    const results = r.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as { topic: string; payload: { ok: boolean; result?: unknown } });
    const offered = cloud.requests
      .filter((q) => q.path === CHAT)
      .map(
        (q) =>
          (JSON.parse(q.body.toString('utf8')) as { tools?: { function: { name: string } }[] }).tools ?? [],
      );
    return { results, offered };
  } finally {
    await cloud.close();
  }
}

describe.skipIf(!BWRAP_OK)('an MCP tool called by the cloud LLM (edgeloom replay)', () => {
  it('runs on the MCP server when the cloud tool policy allows it, and is not even offered otherwise', async () => {
    const allowed = await replayAsking('allowed', ['fixture.shout']);
    expect(allowed.offered.length).toBeGreaterThan(0);
    const fn = allowed.offered[0]!.find((t) => t.function.name === 'fixture_shout');
    // Offered with the schema the MCP server declared.
    expect(fn).toMatchObject({ function: { parameters: { required: ['text'] } } });
    const shouts = allowed.results.filter((r) => r.topic === 'tool/fixture.shout/result');
    expect(shouts.length).toBeGreaterThan(0);
    expect(shouts[0]!.payload).toMatchObject({ ok: true, result: { shouted: 'FROM THE CLOUD' } });

    const refused = await replayAsking('refused', []);
    expect(refused.offered.length).toBeGreaterThan(0);
    expect(refused.offered.flat().map((t) => t.function.name)).not.toContain('fixture_shout');
    expect(refused.results.filter((r) => r.topic === 'tool/fixture.shout/result')).toEqual([]);
  }, 240_000);
});
