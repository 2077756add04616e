import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { configEnvVars, configSchema, loadConfig, redactConfig } from '../../daemon/config/index.js';
import type { JsonSchema } from '../../daemon/config/schema/builder.js';
import { REPO_ROOT } from '../helpers/tools.js';

/** Keys the loader derives at run time, or that an entry must name itself. */
const NO_DEFAULT = new Set([
  'device.id',
  'storage.dir',
  'agents.voice.intents[].name',
  'agents.voice.skills.devices[].name',
  'agents.voice.skills.devices[].topic',
  'plugins[].id',
  'plugins[].command',
  'mcp.servers[].id',
  'mcp.servers[].command',
]);

function walk(schema: JsonSchema, path: string, visit: (path: string, s: JsonSchema) => void): void {
  visit(path, schema);
  for (const [key, child] of Object.entries(schema.properties ?? {}))
    walk(child, path ? `${path}.${key}` : key, visit);
  if (schema.items) walk(schema.items, `${path}[]`, visit);
  if (typeof schema.additionalProperties === 'object') walk(schema.additionalProperties, `${path}.*`, visit);
}

describe('config schema', () => {
  it('documents every key and gives every leaf a default', () => {
    const undocumented: string[] = [];
    const noDefault: string[] = [];
    walk(configSchema, '', (path, s) => {
      if (s.description.trim().length < 3) undocumented.push(path);
      const leaf = s.properties === undefined && !path.endsWith('.*') && !path.endsWith('[]');
      if (leaf && path !== '' && s.default === undefined && !NO_DEFAULT.has(path)) noDefault.push(path);
    });
    expect(undocumented).toEqual([]);
    expect(noDefault).toEqual([]);
  });

  it('fills defaults, deriving device.id from the host name and storage.dir from STATE_DIRECTORY', () => {
    const c = loadConfig({ env: {}, hostname: 'Pi-Kitchen.local' });
    expect(c.device.id).toBe('pi-kitchen-local');
    expect(c.mqtt.base_topic).toBe('edgeloom/pi-kitchen-local');
    expect(c.storage.dir).toBe('./var/edgeloom');
    expect(c.budget.memory_mb).toBe(2048);
    expect(c.sensors.mic.sample_rate_hz).toBe(16000);
    expect(c.sensors.mic.frame_samples).toBe(512);
    expect(c.sensors.camera.device).toBe('/dev/video0');
    expect(c.pipeline.face.input_size).toBe(416);
    expect(c.pipeline.onnx.intra_op_threads).toBe(1);
    expect(c.mqtt.embedded).toEqual({
      host: '127.0.0.1',
      port: 1883,
      username: 'edgeloom',
      password: '',
      allow_anonymous: false,
    });
    expect(c.mqtt.destination).toBe('auto');
    expect(c.mqtt.clean).toBe(false);
    expect(c.source).toEqual({ mode: 'replay', replay: { fixture: 'fixtures/demo', speed: 1, loop: true } });

    const systemd = loadConfig({
      env: { STATE_DIRECTORY: '/var/lib/edgeloom:/var/lib/other' },
      hostname: '---',
    });
    expect(systemd.storage.dir).toBe('/var/lib/edgeloom');
    expect(systemd.device.id).toBe('edgeloom');
  });

  it('validates the shipped demo config as a no-hardware, no-cloud replay', () => {
    const c = loadConfig({ file: join(REPO_ROOT, 'config/default.yaml'), env: {}, hostname: 'demo' });
    expect(c.source.mode).toBe('replay');
    expect(c.source.replay.fixture).toBe('fixtures/demo');
    expect(c.source.replay.loop).toBe(true);
    expect(c.mqtt.url).toBe('');
    expect(c.cloud.enabled).toBe(false);
    expect(c.agents.voice.intents.length).toBeGreaterThan(0);
    // Defaults reach inside list items too: the `status` intent names no args.
    const status = c.agents.voice.intents.find((i) => i.name === 'status');
    expect(status?.action).toEqual({ tool: '', args: {} });
  });

  it('validates the Raspberry Pi example', () => {
    const c = loadConfig({ file: join(REPO_ROOT, 'config/raspberry-pi.example.yaml'), env: {} });
    expect(c.source.mode).toBe('live');
    expect(c.sensors.camera).toMatchObject({
      preset: 'v4l2',
      device: '/dev/video0',
      width: 640,
      height: 480,
      fps: 15,
    });
    expect(c.sensors.mic).toMatchObject({ recorder: 'arecord', device: 'plughw:1,0' });
    expect(c.sensors.imu).toMatchObject({ path: '/dev/ttyUSB0', baud_rate: 115200, format: 'csv' });
    expect(c.mqtt.url).toMatch(/^mqtt:\/\//);
    expect(c.mqtt.username).toBe('edgeloom');
    expect(c.mqtt.base_topic).toBe('edgeloom/pi-livingroom');
    expect(c.storage.dir).toBe('/var/lib/edgeloom');
    expect(c.models.dir).toBe('/var/cache/edgeloom/models');
  });

  it('names only variables that exist in the comments of the shipped configs', () => {
    const vars = configEnvVars();
    for (const file of ['config/default.yaml', 'config/raspberry-pi.example.yaml']) {
      const text = readFileSync(join(REPO_ROOT, file), 'utf8');
      for (const name of text.match(/EDGELOOM_[A-Z0-9_]+/g) ?? []) {
        if (name === 'EDGELOOM_CONFIG') continue;
        expect(vars.has(name), `${file} mentions ${name}`).toBe(true);
      }
    }
  });

  it('redacts secrets that are set, and only those', () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgeloom-cfg-'));
    const file = join(dir, 'c.yaml');
    writeFileSync(file, 'mqtt:\n  username: bob\n  password: hunter2\n');
    const c = loadConfig({ file, env: { EDGELOOM_CLOUD_API_KEY: 'sk-123' } });
    expect(c.mqtt.password).toBe('hunter2');
    const shown = JSON.stringify(redactConfig(c));
    expect(shown).not.toContain('hunter2');
    expect(shown).not.toContain('sk-123');
    expect(shown).toContain('"username":"bob"');
    expect(shown).toContain('"token":""');
  });
});
