/**
 * `edgeloom mcp` and POST /mcp against a running daemon (`edgeloom run`, compiled, replaying the
 * demo fixture into its embedded broker), with the official SDK's Client as the MCP host: over
 * stdio (StdioClientTransport starting `edgeloom mcp`, which relays to the daemon's control
 * socket) it lists and calls the daemon's tools and reads its resources; over streamable HTTP it
 * needs the token. Under `local_only` everywhere the same client sees nothing at all.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { controlRequest } from '../../daemon/control/control-client.js';
import { controlSocketPath } from '../../daemon/control/protocol.js';
import { type CliChild, parseLogLines, runCli, spawnCli } from '../helpers/cli-process.js';
import { DEMO } from '../helpers/daemon-mqtt.js';
import { CLI } from '../helpers/tools.js';

const dir = mkdtempSync(join(tmpdir(), 'edgeloom-mcp-serve-'));
const TOKEN = 'mcp-test-token-0123456789';
let daemon: CliChild | undefined;
const clients: Client[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close().catch(() => undefined);
  daemon?.process.kill('SIGTERM');
  await daemon?.exited;
  daemon = undefined;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** `edgeloom run` on a speed-0 replay of the demo; resolves once the replay has finished. */
async function startDaemon(name: string, extra: Record<string, unknown>): Promise<string> {
  const config = join(dir, `${name}.yaml`);
  writeFileSync(
    config,
    stringify({
      device: { id: `mcp-${name}` },
      storage: { dir: join(dir, `${name}-state`) },
      source: { mode: 'replay', replay: { fixture: DEMO, speed: 0, loop: false } },
      mqtt: { embedded: { port: 0 }, stats_interval_ms: 1000 },
      http: { enabled: true, port: 0, token: TOKEN },
      ...extra,
    }),
  );
  daemon = spawnCli(['run', '--config', config], { timeoutMs: 110_000 });
  await daemon.waitForLog('replay finished');
  return config;
}

/** The SDK's client on `edgeloom mcp`, as an MCP host configured with it starts it. */
async function stdioClient(config: string): Promise<Client> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [CLI, 'mcp', '--config', config],
    env: getDefaultEnvironment(),
    stderr: 'pipe',
  });
  const client = new Client({ name: 'edgeloom-test', version: '1.0.0' });
  await client.connect(transport);
  clients.push(client);
  return client;
}

const read = async (c: Client, uri: string): Promise<unknown> => {
  const r = await c.readResource({ uri });
  const first = r.contents[0] as { text: string };
  return JSON.parse(first.text);
};

describe('edgeloom as an MCP server', () => {
  it('over stdio lists and calls its tools and reads its state; over HTTP only with the token', async () => {
    const config = await startDaemon('open', {
      // Transcripts come from the fixture's truth; the camera's and mic's data may leave as
      // derived data (sensitive), the IMU's is public by default.
      pipeline: { stt: { engine: 'reference' } },
      sensors: { camera: { privacy: 'sensitive' }, mic: { privacy: 'sensitive' } },
    });
    const client = await stdioClient(config);

    const tools = (await client.listTools()).tools.map((t) => t.name);
    expect(tools).toEqual(expect.arrayContaining(['mqtt.publish', 'display.show', 'log', 'speak']));
    // Internal tools are never offered (the conversation loop); the consent button is a person's tool.
    expect(tools.some((t) => t.includes('cloud_assist'))).toBe(false);
    expect(tools).toContain('voice.ask_cloud');
    const shown = await client.callTool({
      name: 'display.show',
      arguments: { emotion: 'happy', text: 'hello from MCP' },
    });
    expect(shown.isError).toBeFalsy();
    const refused = await client.callTool({
      name: 'mqtt.publish',
      arguments: { topic: 'not/allowed', payload: 1 },
    });
    expect(refused).toMatchObject({
      isError: true,
      content: [{ text: expect.stringMatching(/^E_TOOL_REFUSED/) }],
    });

    const uris = (await client.listResources()).resources.map((r) => r.uri);
    expect(uris).toEqual([
      'edgeloom://state/emotion',
      'edgeloom://state/transcripts',
      'edgeloom://state/motion',
      'edgeloom://state/sensors',
      'edgeloom://state/stats',
    ]);
    await expect
      .poll(() => read(client, 'edgeloom://state/emotion'))
      .toMatchObject({
        emotion: 'happy',
        text: 'hello from MCP',
      });
    const transcripts = (await read(client, 'edgeloom://state/transcripts')) as { text: string }[];
    expect(transcripts.map((t) => t.text)).toEqual(['turn on the kitchen light', 'what time is it']);
    const motion = (await read(client, 'edgeloom://state/motion')) as { events: { kind: string }[] };
    expect(motion.events.map((e) => e.kind)).toContain('fall');
    // A replay reports a sensor's status when it changes: pause the microphone as `edgeloom` would.
    const socket = controlSocketPath(join(dir, 'open-state'));
    await controlRequest(socket, { op: 'sensor.pause', sensor: 'mic0', duration_s: 60 });
    await expect
      .poll(() => read(client, 'edgeloom://state/sensors'))
      .toMatchObject({ mic0: { kind: 'mic', state: 'paused' } });
    await expect
      .poll(() => read(client, 'edgeloom://state/stats'))
      .toMatchObject({ process: { uptimeS: expect.any(Number) } });

    // The same server over streamable HTTP, behind http.token.
    const url = parseLogLines(daemon!.stdout).find((l) => l.msg === 'http listening')?.url as string;
    const anonymous = await fetch(`${url}/mcp`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(anonymous.status).toBe(401);
    const http = new Client({ name: 'edgeloom-test-http', version: '1.0.0' });
    await http.connect(
      new StreamableHTTPClientTransport(new URL(`${url}/mcp`), {
        requestInit: { headers: { authorization: `Bearer ${TOKEN}` } },
      }),
    );
    clients.push(http);
    expect((await http.listTools()).tools.map((t) => t.name).sort()).toEqual([...tools].sort());
    expect(await read(http, 'edgeloom://state/motion')).toEqual(motion);

    // Every MCP tool call is audited, with its channel.
    const audit = await runCli(['audit', '--json', '--config', config]);
    const calls = audit.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((r) => r.channel === 'mcp');
    expect(calls).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ tool: 'display.show', outcome: 'ok' }),
        expect.objectContaining({ tool: 'mqtt.publish', outcome: 'E_TOOL_REFUSED' }),
      ]),
    );
  }, 120_000);

  it('under local_only offers no tool and no resource', async () => {
    const config = await startDaemon('closed', {
      pipeline: { face: { enabled: false }, stt: { engine: 'reference' } },
      sensors: {
        camera: { privacy: 'local_only' },
        mic: { privacy: 'local_only' },
        imu: { privacy: 'local_only' },
      },
      router: { privacy: { default_tier: 'local_only' } },
    });
    const client = await stdioClient(config);
    expect((await client.listTools()).tools).toEqual([]);
    expect((await client.listResources()).resources).toEqual([]);
    await expect(read(client, 'edgeloom://state/motion')).rejects.toThrow(/no resource/);
    await expect(read(client, 'edgeloom://state/stats')).rejects.toThrow(/no resource/);
    const call = await client.callTool({ name: 'display.show', arguments: { emotion: 'happy' } });
    expect(call).toMatchObject({
      isError: true,
      content: [{ text: expect.stringMatching(/^E_TOOL_UNKNOWN/) }],
    });
  }, 120_000);

  it('without a daemon, edgeloom mcp exits 1 naming the socket', async () => {
    const config = join(dir, 'none.yaml');
    writeFileSync(config, stringify({ device: { id: 'none' }, storage: { dir: join(dir, 'none-state') } }));
    const r = await runCli(['mcp', '--config', config]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/no running edgeloom daemon.*control\.sock.*E_MCP_NO_DAEMON/);
  });
});
