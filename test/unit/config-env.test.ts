import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, configEnvVars, loadConfig } from '../../daemon/config/index.js';

const dir = mkdtempSync(join(tmpdir(), 'edgeloom-cfg-env-'));
function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

function problems(env: NodeJS.ProcessEnv): string[] {
  try {
    loadConfig({ env });
  } catch (err) {
    if (err instanceof ConfigError) return err.problems.map((p) => `${p.source}: ${p.key}: ${p.message}`);
    throw err;
  }
  throw new Error('expected loadConfig to throw');
}

describe('EDGELOOM_* environment overrides', () => {
  it('derives one variable per schema key, with underscores inside keys kept whole', () => {
    const vars = configEnvVars();
    expect(vars.get('EDGELOOM_BUDGET_MEMORY_MB')?.path).toEqual(['budget', 'memory_mb']);
    expect(vars.get('EDGELOOM_SENSORS_MIC_SAMPLE_RATE_HZ')?.path).toEqual([
      'sensors',
      'mic',
      'sample_rate_hz',
    ]);
    expect(vars.get('EDGELOOM_MQTT_TLS_REJECT_UNAUTHORIZED')?.path).toEqual([
      'mqtt',
      'tls',
      'reject_unauthorized',
    ]);
    expect(vars.get('EDGELOOM_MQTT_PASSWORD_FILE')?.fromFile).toBe(true);
    expect(vars.has('EDGELOOM_MQTT_USERNAME_FILE')).toBe(false); // only secrets read files
    expect(vars.size).toBeGreaterThan(150);
  });

  it('coerces numbers, integers, booleans, strings and enums per the schema', () => {
    const c = loadConfig({
      env: {
        EDGELOOM_SENSORS_CAMERA_FPS: '10',
        EDGELOOM_ROUTER_HYBRID_BAND: '0.25',
        EDGELOOM_BUDGET_MEMORY_MB: '512',
        EDGELOOM_CLOUD_ENABLED: 'true',
        EDGELOOM_MQTT_CLEAN: '1',
        EDGELOOM_HTTP_ENABLED: 'off',
        EDGELOOM_MQTT_URL: 'mqtt://10.0.0.2:1883',
        EDGELOOM_CLOUD_API_KEY: 'sk-test',
        EDGELOOM_SENSORS_MIC_RECORDER: 'arecord',
        EDGELOOM_LOG_LEVEL: 'debug',
      },
    });
    expect(c.sensors.camera.fps).toBe(10);
    expect(c.router.hybrid_band).toBe(0.25);
    expect(c.budget.memory_mb).toBe(512);
    expect(c.cloud.enabled).toBe(true);
    expect(c.mqtt.clean).toBe(true);
    expect(c.http.enabled).toBe(false);
    expect(c.mqtt.url).toBe('mqtt://10.0.0.2:1883');
    expect(c.cloud.api_key).toBe('sk-test');
    expect(c.sensors.mic.recorder).toBe('arecord');
    expect(c.log.level).toBe('debug');
  });

  it('takes lists, maps and whole sections as JSON; maps merge over defaults, lists replace', () => {
    const c = loadConfig({
      env: {
        EDGELOOM_MQTT_PUBLISH_ALLOW: '["home/+/light/set","home/alarm"]',
        EDGELOOM_ROUTER_THRESHOLDS: '{"silero-vad-v5": 0.9}',
        EDGELOOM_MQTT_EMBEDDED: '{"port": 1884}',
        EDGELOOM_SENSORS_CAMERA_COMMAND: '["ffmpeg","-i","x"]',
        EDGELOOM_AGENTS_VOICE_INTENTS: '[{"name":"hi","templates":["hello"]}]',
      },
    });
    expect(c.mqtt.publish_allow).toEqual(['home/+/light/set', 'home/alarm']);
    expect(c.router.thresholds['silero-vad-v5']).toBe(0.9);
    expect(c.router.thresholds['whisper-tiny']).toBe(0.6); // default kept
    expect(c.mqtt.embedded).toMatchObject({ host: '127.0.0.1', port: 1884, username: 'edgeloom' });
    expect(c.sensors.camera.command).toEqual(['ffmpeg', '-i', 'x']);
    expect(c.agents.voice.intents[0]).toEqual({
      name: 'hi',
      templates: ['hello'],
      action: { tool: '', args: {} },
    });
  });

  it('lets a key variable win over its section given as JSON, whatever the order', () => {
    const c = loadConfig({
      env: { EDGELOOM_MQTT_EMBEDDED_PORT: '2000', EDGELOOM_MQTT_EMBEDDED: '{"port": 1000}' },
    });
    expect(c.mqtt.embedded.port).toBe(2000);
  });

  it('refuses unknown variables by name, ignoring the documented tooling ones', () => {
    expect(
      problems({ EDGELOOM_SENSORS_CAMERA_FSP: '10', EDGELOOM_SKIP_BUILD: '1', EDGELOOM_TEST_X: 'y' }),
    ).toEqual([
      'env EDGELOOM_SENSORS_CAMERA_FSP: : unknown variable (did you mean "EDGELOOM_SENSORS_CAMERA_FPS"?)',
    ]);
    expect(problems({ EDGELOOM_WHATEVER: '1' })).toEqual(['env EDGELOOM_WHATEVER: : unknown variable']);
  });

  it('names the variable when its value does not parse or does not validate', () => {
    expect(
      problems({
        EDGELOOM_SENSORS_CAMERA_FPS: 'ten',
        EDGELOOM_ROUTER_HYBRID_BAND: '',
        EDGELOOM_CLOUD_ENABLED: 'maybe',
        EDGELOOM_MQTT_PUBLISH_ALLOW: '[unclosed',
        EDGELOOM_HTTP_PORT: '70000',
        EDGELOOM_SENSORS_IMU_FORMAT: 'xml',
        EDGELOOM_MQTT_EMBEDDED: '{"prot": 1}',
      }).sort(),
    ).toEqual(
      [
        'env EDGELOOM_SENSORS_CAMERA_FPS: sensors.camera.fps: expected an integer (got "ten")',
        'env EDGELOOM_ROUTER_HYBRID_BAND: router.hybrid_band: expected a number (got "")',
        'env EDGELOOM_CLOUD_ENABLED: cloud.enabled: expected true or false (got "maybe")',
        'env EDGELOOM_MQTT_PUBLISH_ALLOW: mqtt.publish_allow: expected JSON (got "[unclosed")',
        'env EDGELOOM_HTTP_PORT: http.port: must be <= 65535 (got 70000)',
        'env EDGELOOM_SENSORS_IMU_FORMAT: sensors.imu.format: must be one of csv, jsonl, binary (got "xml")',
        'env EDGELOOM_MQTT_EMBEDDED: mqtt.embedded.prot: unknown key (did you mean "port"?)',
      ].sort(),
    );
  });

  it('reads secrets from <NAME>_FILE, without the trailing newline', () => {
    const secret = file('mqtt-password', 's3cret\n');
    expect(loadConfig({ env: { EDGELOOM_MQTT_PASSWORD_FILE: secret } }).mqtt.password).toBe('s3cret');
    const missing = join(dir, 'absent');
    expect(problems({ EDGELOOM_MQTT_PASSWORD_FILE: missing })).toEqual([
      `env EDGELOOM_MQTT_PASSWORD_FILE: mqtt.password: cannot read ${missing} (ENOENT)`,
    ]);
  });
});

describe('precedence and immutability', () => {
  const yaml = file('p.yaml', 'sensors:\n  camera:\n    fps: 10\n    width: 320\n');

  it('applies defaults < file < env < overrides', () => {
    const env = { EDGELOOM_SENSORS_CAMERA_FPS: '12' };
    const overrides = { sensors: { camera: { fps: 20 } } };
    expect(loadConfig({ env: {} }).sensors.camera.fps).toBe(15);
    expect(loadConfig({ file: yaml, env: {} }).sensors.camera.fps).toBe(10);
    expect(loadConfig({ file: yaml, env }).sensors.camera.fps).toBe(12);
    const all = loadConfig({ file: yaml, env, overrides });
    expect(all.sensors.camera.fps).toBe(20);
    expect(all.sensors.camera.width).toBe(320); // untouched keys keep the file's value
    expect(all.sensors.camera.height).toBe(480); // and the default below it
  });

  it('finds the file through EDGELOOM_CONFIG unless one is given explicitly', () => {
    const other = file('o.yaml', 'sensors:\n  camera:\n    fps: 7\n');
    expect(loadConfig({ env: { EDGELOOM_CONFIG: yaml } }).sensors.camera.fps).toBe(10);
    expect(loadConfig({ file: other, env: { EDGELOOM_CONFIG: yaml } }).sensors.camera.fps).toBe(7);
  });

  it('returns a deep-frozen config and leaves the caller’s overrides alone', () => {
    const overrides = { mqtt: { publish_allow: ['a/#'] } };
    const c = loadConfig({ env: {}, overrides });
    expect(Object.isFrozen(c)).toBe(true);
    // ES modules run in strict mode, where writing a frozen property throws.
    expect(() => {
      (c.sensors.camera as { fps: number }).fps = 1;
    }).toThrow(TypeError);
    expect(() => (c.mqtt.publish_allow as string[]).push('b')).toThrow(TypeError);
    expect(() => {
      (c.router.thresholds as Record<string, number>).x = 1;
    }).toThrow(TypeError);
    expect(Object.isFrozen(overrides.mqtt.publish_allow)).toBe(false);
    overrides.mqtt.publish_allow.push('b');
    expect(c.mqtt.publish_allow).toEqual(['a/#']);
  });
});
