/**
 * The voice skills' sources, with real parts: device values from retained topics on a real
 * Mosquitto, read through the daemon's MQTT client (its `watch` hook), spoken by the voice agent
 * for a transcript; the weather from a loopback HTTP server and from a retained topic, and the
 * clear errors of a slow, failing or malformed source. No network beyond 127.0.0.1.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import mqtt from 'mqtt';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MqttClientSink } from '../../daemon/actions/mqtt-client.js';
import { createAgents } from '../../daemon/agents/build.js';
import { Bus } from '../../daemon/bus/bus.js';
import type { SayAction } from '../../daemon/bus/topics.js';
import { loadConfig } from '../../daemon/config/index.js';
import { silentLogger } from '../../daemon/log.js';
import type { Store } from '../../daemon/storage/store.js';
import { SystemClock } from '../../daemon/util/clock.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { mqttTestConfig } from '../helpers/mqtt.js';
import { needs } from '../helpers/tools.js';
import { transcript } from '../helpers/voice-events.js';
import { until } from '../helpers/wait.js';

let dir: string;
let db: Store;
const cleanups: Array<() => Promise<unknown>> = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edgeloom-skills-'));
  db = new Level<string, unknown>(join(dir, 'db'), { valueEncoding: 'json' });
  await db.open();
});

afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
  await db.close();
  await rm(dir, { recursive: true, force: true });
});

/** The agents (voice + timers) and the skills' tools with `skills` as agents.voice.skills. */
async function rig(skills: Record<string, unknown>) {
  const config = loadConfig({
    env: {},
    overrides: {
      device: { id: 'test' },
      storage: { dir },
      agents: { voice: { refine_wait_ms: 0, skills } },
    },
  });
  const clock = new SystemClock();
  const logger = silentLogger();
  const bus = new Bus({ clock, logger });
  const agents = createAgents({
    config,
    bus,
    clock,
    logger,
    storage: db,
    only: new Set(['voice', 'timers']),
  });
  await agents.runtime.start(new AbortController().signal);
  cleanups.push(() => agents.runtime.stop());
  const said: SayAction[] = [];
  bus.subscribe('action/say', (e) => void said.push(e.payload), { component: 'test' });
  /** Say `text` to the assistant; resolves with what it answers aloud. */
  const ask = async (text: string): Promise<string> => {
    const before = said.length;
    await bus.publish('inference/stt/mic', transcript(text));
    return (await until(`an answer to ${JSON.stringify(text)}`, () => said[before])).text;
  };
  const call = async (tool: string, args: unknown = {}) => {
    const r = await agents.tools.execute(tool, args);
    expect(r.ok, JSON.stringify(r.error)).toBe(true);
    return r.result as Record<string, unknown>;
  };
  return { config, bus, agents, said, ask, call };
}

describe.runIf(needs({ tools: ['mosquitto'] }))(
  'skills reading retained MQTT topics (real Mosquitto)',
  () => {
    let broker: Mosquitto;
    beforeEach(async () => {
      broker = await Mosquitto.start();
      cleanups.push(() => broker.stop());
    });

    /** Another device's client publishing a retained state. */
    async function retain(topic: string, payload: string): Promise<void> {
      const c = await mqtt.connectAsync(broker.url, { protocolVersion: 4 });
      await c.publishAsync(topic, payload, { qos: 1, retain: true });
      await c.endAsync();
    }

    /** The daemon's MQTT client, watching the skills' topics. */
    async function sinkFor(r: Awaited<ReturnType<typeof rig>>): Promise<MqttClientSink> {
      const states = r.agents.skills.states;
      const sink = new MqttClientSink({
        config: mqttTestConfig(broker.url),
        deviceId: 'test',
        logger: silentLogger(),
        clock: new SystemClock(),
        storage: db,
        watch: { topics: states.topics(), deliver: (t, p) => states.deliver(t, p) },
      });
      await sink.start(new AbortController().signal);
      cleanups.push(() => sink.stop());
      await sink.whenConnected();
      return sink;
    }

    it('a retained device state is spoken when asked; one not heard yet is said honestly', async () => {
      await retain(
        'zigbee2mqtt/kitchen_sensor',
        JSON.stringify({ temperature: 21.46, humidity: 40, linkquality: 90 }),
      );
      await retain('zigbee2mqtt/hall_plug', JSON.stringify({ state: { power: 'ON' } }));
      const r = await rig({
        devices: [
          {
            name: 'temperature in the kitchen',
            topic: 'zigbee2mqtt/kitchen_sensor',
            field: 'temperature',
            unit: 'degrees',
          },
          { name: 'hall plug', topic: 'zigbee2mqtt/hall_plug', field: 'state.power' },
          {
            name: 'humidity in the cellar',
            topic: 'zigbee2mqtt/cellar_sensor',
            field: 'humidity',
            unit: 'percent',
          },
          { name: 'kitchen battery', topic: 'zigbee2mqtt/kitchen_sensor', field: 'battery', unit: 'percent' },
        ],
      });
      // Nothing heard before the client connects.
      expect(await r.ask('what is the temperature in the kitchen')).toBe(
        'I have not heard from the temperature in the kitchen yet.',
      );
      await sinkFor(r);
      await until('the retained states arrive', () => r.agents.skills.states.get('zigbee2mqtt/hall_plug'));
      expect(await r.ask("What's the temperature in the kitchen?")).toBe(
        'The temperature in the kitchen is 21.5 degrees.',
      );
      expect(await r.ask('how is the hall plug')).toBe('The hall plug is on.');
      expect(await r.ask('what is the humidity in the cellar')).toBe(
        'I have not heard from the humidity in the cellar yet.',
      );
      // A field the message does not carry: said, and an error code in the result.
      const battery = await r.call('device.state', { name: 'kitchen battery' });
      expect(battery).toMatchObject({
        say: 'The last message about the kitchen battery has no value I can read.',
        value: null,
        error: { code: 'E_SKILL_SOURCE' },
      });
      expect(r.agents.skills.counters.sourceErrors).toBe(1);

      // A live update replaces the value (the subscription stays, not just the retained copy).
      await retain('zigbee2mqtt/kitchen_sensor', JSON.stringify({ temperature: 19 }));
      await until('the update arrives', () => {
        const v = r.agents.skills.states.get('zigbee2mqtt/kitchen_sensor')?.value as { temperature?: number };
        return v?.temperature === 19;
      });
      expect(await r.call('device.state', { name: 'the temperature in the kitchen' })).toMatchObject({
        say: 'The temperature in the kitchen is 19 degrees.',
        value: 19,
        unit: 'degrees',
        topic: 'zigbee2mqtt/kitchen_sensor',
      });
      // A name nobody configured is refused, naming the config key.
      const unknown = await r.agents.tools.execute('device.state', { name: 'pressure in the attic' });
      expect(unknown).toMatchObject({ ok: false, error: { code: 'E_TOOL_REFUSED' } });
      expect(unknown.error!.message).toContain('agents.voice.skills.devices');
    });

    it('the weather from a retained topic', async () => {
      await retain('weather/now', JSON.stringify({ main: { temp: 12.34 }, text: 'Light rain' }));
      const r = await rig({
        weather: { topic: 'weather/now', fields: { temperature: 'main.temp', condition: 'text' } },
      });
      await sinkFor(r);
      await until('the weather arrives', () => r.agents.skills.states.get('weather/now'));
      expect(await r.ask("what's the weather like")).toBe('It is 12.3 degrees and light rain.');
    });
  },
);

describe('the weather from a LAN HTTP endpoint (loopback server)', () => {
  let server: Server;
  let url: string;
  let handler: (req: IncomingMessage, res: ServerResponse) => void;
  const requests: string[] = [];

  beforeEach(async () => {
    requests.length = 0;
    server = createServer((req, res) => {
      requests.push(req.url ?? '');
      handler(req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    url = `http://127.0.0.1:${port}`;
    cleanups.push(async () => {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    });
  });

  const json =
    (body: unknown, status = 200) =>
    (_req: IncomingMessage, res: ServerResponse) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(typeof body === 'string' ? body : JSON.stringify(body));
    };

  it('reads the configured URL and speaks temperature and condition', async () => {
    handler = json({ temperature: 7.04, condition: 'Cloudy', wind: 3 });
    const r = await rig({ weather: { url: `${url}/weather.json` } });
    expect(await r.ask('what is the weather like today')).toBe('It is 7 degrees and cloudy.');
    expect(await r.call('weather.current')).toEqual({
      say: 'It is 7 degrees and cloudy.',
      temperature: 7.04,
      unit: 'degrees',
      condition: 'cloudy',
      source: 'url',
      age_s: null,
    });
    expect(requests).toEqual(['/weather.json', '/weather.json']);
  });

  it('a slow source is cut at timeout_ms with a clear error, and the assistant says so', async () => {
    // Never answers: the request hangs until the tool gives up.
    handler = () => undefined;
    const r = await rig({ weather: { url, timeout_ms: 300 } });
    const started = Date.now();
    const result = await r.call('weather.current');
    expect(Date.now() - started).toBeLessThan(4000);
    expect(result).toMatchObject({
      say: 'I cannot get the weather right now.',
      temperature: null,
      error: { code: 'E_SKILL_SOURCE', message: `weather (${url}): no answer within 300 ms` },
    });
    expect(await r.ask("what's the weather")).toBe('I cannot get the weather right now.');
  });

  it.each([
    ['an HTTP error', json({ error: 'down' }, 503), 'HTTP 503'],
    ['not JSON', json('<html>oops</html>'), 'the answer is not JSON'],
    ['no temperature at the path', json({ temp: 'warm' }), 'no number at "temperature"'],
    [
      'a redirect (only the configured URL is contacted)',
      (_req: IncomingMessage, res: ServerResponse) => {
        res.writeHead(302, { location: 'http://192.0.2.1/elsewhere' });
        res.end();
      },
      'fetch failed',
    ],
  ])('%s gives a clear error naming the source', async (_what, h, message) => {
    handler = h;
    const r = await rig({ weather: { url } });
    const result = await r.call('weather.current');
    expect(result).toMatchObject({
      say: 'I cannot get the weather right now.',
      error: { code: 'E_SKILL_SOURCE' },
    });
    expect((result.error as { message: string }).message).toContain(`weather (${url}): ${message}`);
    expect(requests).toHaveLength(1);
  });

  it('refuses a config with both a URL and a topic, naming the key', () => {
    expect(() =>
      createAgents({
        config: loadConfig({
          env: {},
          overrides: { device: { id: 't' }, agents: { voice: { skills: { weather: { url, topic: 'w' } } } } },
        }),
        bus: new Bus({ clock: new SystemClock(), logger: silentLogger() }),
        clock: new SystemClock(),
        logger: silentLogger(),
        storage: db,
      }),
    ).toThrow(/agents\.voice\.skills\.weather: set url or topic, not both/);
  });
});

describe('timers by voice', () => {
  it('set by speech, announced when done', async () => {
    const r = await rig({});
    expect(await r.ask('set a timer for one second')).toBe('Timer set for 1 second.');
    const done = await until('the timer fires', () => r.said.find((s) => s.source === 'timer'));
    expect(done.text).toBe('Your 1 second timer is done.');
    expect(await r.ask('how long is left')).toBe('There are no timers running.');
  });
});
