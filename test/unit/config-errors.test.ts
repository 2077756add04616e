import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, type LoadConfigOptions, loadConfig } from '../../daemon/config/index.js';
import { isEdgeloomError } from '../../daemon/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'edgeloom-cfg-'));
let n = 0;
/** Write `lines` to a fresh file named cfg<n>.yaml and return its path. */
function yamlFile(lines: string[]): string {
  const file = join(dir, `cfg${n++}.yaml`);
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

function failure(options: LoadConfigOptions): ConfigError {
  try {
    loadConfig({ env: {}, ...options });
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected loadConfig to throw');
}

describe('config errors name the key and the line', () => {
  it('reports a range error at the value, with file:line:col, key and the value given', () => {
    const file = yamlFile(['# camera', 'sensors:', '  camera:', '    fps: 0']);
    const err = failure({ file });
    expect(err.code).toBe('E_CONFIG_INVALID');
    expect(isEdgeloomError(err, 'E_CONFIG_INVALID')).toBe(true);
    expect(err.where).toBe('sensors.camera.fps');
    expect(err.message).toContain(`${file}:4:10: sensors.camera.fps: must be >= 1 (got 0)`);
  });

  it('reports a wrong type and a wrong enum value with a suggestion', () => {
    const file = yamlFile([
      'sensors:',
      '  camera:',
      '    width: wide',
      '    preset: v4l',
      'log: { level: loud }',
    ]);
    const err = failure({ file });
    const text = err.problems.map((p) => `${p.source} ${p.key} ${p.message}`);
    expect(text).toContain(`${file}:3:12 sensors.camera.width must be integer (got "wide")`);
    expect(text.find((t) => t.includes('sensors.camera.preset'))).toBe(
      `${file}:4:13 sensors.camera.preset must be one of v4l2, rpicam, jetson, custom, testsrc (got "v4l") (did you mean "v4l2"?)`,
    );
    expect(text.find((t) => t.includes('log.level'))).toMatch(
      new RegExp(`^${file}:5:15 log.level must be one of`),
    );
    expect(err.problems).toHaveLength(3);
  });

  it('refuses unknown keys at the key, suggesting a close one', () => {
    const file = yamlFile([
      'sensors:',
      '  camera:',
      '    fsp: 10',
      'budget:',
      '  memory_mib: 512',
      'frobnicate: true',
    ]);
    const err = failure({ file });
    const text = err.problems.map((p) => `${p.source} ${p.key} ${p.message}`);
    expect(text).toContain(`${file}:3:5 sensors.camera.fsp unknown key (did you mean "fps"?)`);
    expect(text).toContain(`${file}:5:3 budget.memory_mib unknown key (did you mean "memory_mb"?)`);
    expect(text).toContain(`${file}:6:1 frobnicate unknown key`);
  });

  it('refuses a removed key with why it went (sensors.mic.sampling: the VAD needs every frame)', () => {
    const file = yamlFile(['sensors:', '  mic:', '    sampling: { every_nth: 2 }']);
    const err = failure({ file });
    expect(err.problems).toHaveLength(1);
    const p = err.problems[0]!;
    expect(`${p.source} ${p.key}`).toBe(`${file}:3:5 sensors.mic.sampling`);
    expect(p.message).toMatch(/^is no longer a setting: microphone frames are never thinned/);
  });

  it('refuses agents.tts_command and tts_input, naming where they went (agents.voice.tts)', () => {
    const file = yamlFile(['agents:', '  tts_command: espeak-ng -v en', '  tts_input: argument']);
    const err = failure({ file });
    const text = err.problems.map((p) => `${p.source} ${p.key} ${p.message}`);
    expect(text).toEqual([
      expect.stringMatching(
        new RegExp(
          `^${file}:2:3 agents.tts_command is no longer a setting: moved to agents.voice.tts.command`,
        ),
      ),
      expect.stringMatching(
        new RegExp(`^${file}:3:3 agents.tts_input is no longer a setting: moved to agents.voice.tts.input`),
      ),
    ]);
  });

  it('checks agents.voice.tts: a command is a non-empty list, the device a plain name', () => {
    const file = yamlFile([
      'agents:',
      '  voice:',
      '    tts:',
      '      command: []',
      '      output_device: "hw:0; rm"',
    ]);
    const keys = failure({ file }).problems.map((p) => p.key);
    expect(keys.sort()).toEqual(['agents.voice.tts.command', 'agents.voice.tts.output_device']);
  });

  it('names list items by index and points a missing key at its parent', () => {
    const file = yamlFile([
      'agents:',
      '  voice:',
      '    intents:',
      '      - name: ok',
      '        templates: [hello]',
      '      - templates: [bye]',
    ]);
    const err = failure({ file });
    expect(err.problems).toHaveLength(1);
    expect(err.message).toContain(`${file}:6:9: agents.voice.intents[1].name: is required`);
  });

  it('names the line of a YAML syntax error and of a duplicated key', () => {
    const bad = yamlFile(['log:', '  level: [info', 'budget:', '  memory_mb: 10']);
    const syntax = failure({ file: bad });
    expect(syntax.problems[0]?.source).toBe(`${bad}:3:1`);
    expect(syntax.message).toContain('YAML syntax error: Flow sequence');

    const tab = yamlFile(['log:', '\tlevel: info']);
    expect(failure({ file: tab }).message).toContain(`${tab}:2:1: YAML syntax error: Tabs are not allowed`);

    const dup = yamlFile(['log:', '  level: info', 'log:', '  level: debug']);
    expect(failure({ file: dup }).message).toMatch(
      new RegExp(`${dup}:3:\\d+: YAML syntax error: .*[Uu]nique`),
    );
  });

  it('refuses a top level that is not a mapping, and reads `yes` as a string, not a boolean', () => {
    expect(failure({ file: yamlFile(['- a', '- b']) }).message).toContain('the top level must be a mapping');
    const err = failure({ file: yamlFile(['cloud:', '  enabled: yes']) });
    expect(err.message).toContain('cloud.enabled: must be boolean (got "yes")');
  });

  it('treats an empty file and an empty section as defaults', () => {
    expect(loadConfig({ file: yamlFile(['# nothing yet']), env: {} }).sensors.camera.fps).toBe(15);
    expect(
      loadConfig({ file: yamlFile(['sensors:', '  # camera: {}']), env: {} }).sensors.imu.baud_rate,
    ).toBe(115200);
  });

  it('never echoes a secret in an error', () => {
    const err = failure({ file: yamlFile(['cloud:', '  api_key: 987654321']) });
    expect(err.message).toContain('cloud.api_key: must be string');
    expect(err.message).not.toContain('987654321');
  });

  it('raises E_CONFIG_NOT_FOUND naming a missing file', () => {
    const missing = join(dir, 'nope.yaml');
    try {
      loadConfig({ file: missing, env: {} });
      expect.unreachable();
    } catch (err) {
      expect(isEdgeloomError(err, 'E_CONFIG_NOT_FOUND')).toBe(true);
      expect((err as Error).message).toContain(missing);
    }
  });
});

describe('cross-field rules', () => {
  it('requires an http token when the host is not loopback, pointing at the host line', () => {
    const file = yamlFile(['http:', '  port: 9000', '  host: 0.0.0.0']);
    const err = failure({ file });
    expect(err.message).toContain(`${file}:3:9: http.token: is required when http.host is not loopback`);
    expect(err.where).toBe('http.token');

    expect(loadConfig({ file, env: { EDGELOOM_HTTP_TOKEN: 'abc' } }).http.token).toBe('abc');
    expect(loadConfig({ file, env: {}, overrides: { http: { enabled: false } } }).http.enabled).toBe(false);
    for (const host of ['127.0.0.1', '127.3.2.1', 'localhost', '::1', '[::1]']) {
      expect(loadConfig({ env: {}, overrides: { http: { host } } }).http.host).toBe(host);
    }
    for (const host of ['::', '192.168.1.5', 'pi.local']) {
      expect(failure({ overrides: { http: { host } } }).where).toBe('http.token');
    }
  });

  it('refuses a cloud key over plain http and an unverified broker unless the opt-in key says so', () => {
    const cloud = { enabled: true, base_url: 'http://192.168.1.20:8000/v1', api_key: 'sk-live' };
    let err = failure({ overrides: { cloud } });
    expect(err.where).toBe('cloud.base_url');
    expect(err.message).toContain('cloud.allow_insecure_http: true');
    expect(err.message).not.toContain('sk-live');
    // Credentials in the URL count as a key; https, loopback or no key at all are fine.
    const inUrl = { enabled: true, base_url: 'http://me:pw@192.168.1.20:8000/v1' };
    expect(failure({ overrides: { cloud: inUrl } }).where).toBe('cloud.base_url');
    for (const ok of [
      { ...cloud, allow_insecure_http: true },
      { ...cloud, base_url: 'https://192.168.1.20:8000/v1' },
      { ...cloud, base_url: 'http://127.0.0.1:8000/v1' },
      { ...cloud, api_key: '' },
      { ...cloud, enabled: false },
    ]) {
      expect(loadConfig({ env: {}, overrides: { cloud: ok } }).cloud.base_url).toBe(ok.base_url);
    }
    err = failure({ overrides: { mqtt: { tls: { reject_unauthorized: false } } } });
    expect(err.where).toBe('mqtt.tls.reject_unauthorized');
    expect(err.message).toContain('mqtt.tls.allow_unverified: true');
    const opted = { tls: { reject_unauthorized: false, allow_unverified: true } };
    expect(loadConfig({ env: {}, overrides: { mqtt: opted } }).mqtt.tls.reject_unauthorized).toBe(false);
  });

  it('checks VAD hysteresis, backoff order, custom commands and TLS pairs', () => {
    const err = failure({
      overrides: {
        pipeline: { vad: { positive_threshold: 0.4, negative_threshold: 0.6 } },
        sensors: { camera: { preset: 'custom', restart: { initial_ms: 5000, max_ms: 100 } } },
        mqtt: { tls: { cert: '/etc/cert.pem' } },
      },
    });
    expect(err.problems.map((p) => `${p.source} ${p.key}`).sort()).toEqual([
      'overrides mqtt.tls.key',
      'overrides pipeline.vad.negative_threshold',
      'overrides sensors.camera.command',
      'overrides sensors.camera.restart.max_ms',
    ]);
  });
});
