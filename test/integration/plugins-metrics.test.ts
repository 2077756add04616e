/**
 * Everything a plugin does is counted per plugin on /metrics, and every MCP tool server's calls per
 * server: real plugin processes (under bubblewrap) and the fixture MCP server on a real bus and
 * tool registry, the real stats collector and HTTP server, /metrics fetched over loopback HTTP.
 * Each family is checked against what the test made happen.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../daemon/config/index.js';
import { silentLogger } from '../../daemon/log.js';
import { McpToolServer } from '../../daemon/mcp/tool-server.js';
import { HttpServer } from '../../daemon/observe/http/server.js';
import { StatsCollector } from '../../daemon/observe/stats.js';
import { SystemClock } from '../../daemon/util/clock.js';
import { BWRAP_OK, type Harness, harness } from '../helpers/plugin-host.js';
import { REPO_ROOT } from '../helpers/tools.js';
import { until } from '../helpers/wait.js';

const PROBE = ['python3', 'test/helpers/plugins/probe.py'];
let h: Harness | undefined;
const stops: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const stop of stops.splice(0).reverse()) await stop();
  await h?.close();
  h = undefined;
});

/** `name{labels} value` lines of a Prometheus text exposition, as `name{labels}` → value. */
function samples(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (m) out.set(m[1]!, Number(m[2]));
  }
  return out;
}

describe.skipIf(!BWRAP_OK)('plugins and MCP tool servers on /metrics', () => {
  it('counts per plugin events, publishes, tool calls, restarts and health, and per MCP server its calls', async () => {
    h = harness();
    const seen: unknown[] = [];
    h.bus.subscribe('plugin/probe/seen', (e) => void seen.push(e.payload), { component: 'test' });
    // Subscribes the sensors, may see no raw media: the frame is withheld, the IMU window delivered.
    const probe = await h.add({
      id: 'probe',
      command: PROBE,
      config: { subscribe: ['sensor/#'], sensor: 'hall0' },
    });
    const deaf = await h.add({
      id: 'deaf',
      command: ['python3', 'test/helpers/plugins/deaf.py'],
      sandbox: { network: true, fs: 'host' },
      queue_capacity: 8,
    });
    const crash = await h.add({
      id: 'crash',
      command: ['python3', 'test/helpers/plugins/crash.py'],
      restart: { initial_ms: 20, max_ms: 40 },
    });
    const frame = { seq: 0, tsMs: 1, width: 2, height: 2, jpeg: Buffer.from([0xff, 0xd8, 0xff, 0xd9]) };
    h.bus.publish('sensor/camera/cam0/frame', frame);
    h.bus.publish('sensor/imu/imu0/window', {
      tsMs: 1,
      windowMs: 10,
      sampleCount: 1,
      mean: { ax: 0, ay: 0, az: 1, gx: 0, gy: 0, gz: 0 },
      peak: { ax: 0, ay: 0, az: 1, gx: 0, gy: 0, gz: 0 },
      accelMagnitudeG: { min: 1, max: 1, mean: 1 },
    });
    await until('the probe saw the IMU window', () => seen.length > 0);
    // Its hello declared sensor/plugin/hall0, which its config does not give it: refused.
    expect(await h.tools.execute('probe.reading', {})).toMatchObject({ ok: true });
    expect(await h.tools.execute('probe.connect', { port: 1 })).toMatchObject({ ok: false });
    const bus = h.bus as unknown as { publish(t: string, p: unknown): unknown };
    const blob = 'z'.repeat(4096);
    for (let i = 0; i < 2_000; i++) bus.publish('load/x', { i, blob });
    await until('drops at the deaf plugin', () => deaf.stats().eventsDropped > 0);
    await until('a crash restarted', () => crash.stats().restarts >= 1);

    const config = loadConfig({
      env: {},
      hostname: 't',
      overrides: {
        mcp: {
          servers: [{ id: 'fixture', command: [process.execPath, 'test/helpers/mcp/tool-server.mjs'] }],
        },
      } as never,
    }).mcp.servers[0]!;
    const mcp = new McpToolServer({
      config,
      registry: h.tools,
      logger: silentLogger(),
      stateRoot: mkdtempSync(join(tmpdir(), 'edgeloom-pm-')),
      cwd: REPO_ROOT,
    });
    await mcp.start(new AbortController().signal);
    stops.push(() => mcp.stop());
    await h.tools.execute('fixture.shout', { text: 'x' });
    await h.tools.execute('fixture.fail', {});

    const clock = new SystemClock();
    const stats = new StatsCollector({
      clock,
      logger: silentLogger(),
      bus: h.bus,
      providers: {
        plugins: () => h!.hosts.map((p) => p.stats()),
        mcp: () => ({ servers: [mcp.stats()] }),
      },
    });
    const server = new HttpServer({ bus: h.bus, stats, clock, logger: silentLogger(), port: 0 });
    await stats.start();
    await server.start(new AbortController().signal);
    stops.push(
      () => stats.stop(),
      () => server.stop(),
    );
    const m = samples(await (await fetch(`${server.url()}/metrics`)).text());

    const p = probe.stats();
    expect(p).toMatchObject({ eventsWithheld: 1, publishRefused: 1, toolOk: 1, toolFailures: 1 });
    const at = (name: string, labels: string) => m.get(`${name}{${labels}}`);
    expect(at('edgeloom_plugin_events_total', 'plugin="probe",outcome="delivered"')).toBe(p.eventsSent);
    expect(at('edgeloom_plugin_events_total', 'plugin="probe",outcome="withheld"')).toBe(1);
    // Drops happen as the events are published (the queue is full): none came after the loop.
    expect(at('edgeloom_plugin_events_total', 'plugin="deaf",outcome="dropped"')).toBe(
      deaf.stats().eventsDropped,
    );
    expect(at('edgeloom_plugin_publishes_total', 'plugin="probe",outcome="accepted"')).toBe(p.published);
    expect(at('edgeloom_plugin_publishes_total', 'plugin="probe",outcome="refused"')).toBe(1);
    expect(at('edgeloom_plugin_tool_calls_total', 'plugin="probe",outcome="ok"')).toBe(1);
    expect(at('edgeloom_plugin_tool_calls_total', 'plugin="probe",outcome="failed"')).toBe(1);
    expect(at('edgeloom_plugin_restarts_total', 'plugin="crash"')).toBeGreaterThanOrEqual(1);
    expect(at('edgeloom_plugin_up', 'plugin="probe"')).toBe(1);
    expect(at('edgeloom_plugin_healthy', 'plugin="probe"')).toBe(1);
    expect(at('edgeloom_mcp_server_tool_calls_total', 'server="fixture",outcome="ok"')).toBe(1);
    expect(at('edgeloom_mcp_server_tool_calls_total', 'server="fixture",outcome="failed"')).toBe(1);
    expect(at('edgeloom_mcp_server_up', 'server="fixture"')).toBe(1);
    expect(at('edgeloom_mcp_server_tools', 'server="fixture"')).toBe(4);
  });
});
