/**
 * Which Home Assistant entities a configuration enables (ha-config.ts → ha-entities.ts), and the
 * SoC temperature reader that decides the temperature entity (util/thermal.ts). The configs
 * themselves are validated against HA's documented options on a real broker in
 * test/integration/ha-discovery.test.ts.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { configurationUrl, haDeviceFromConfig } from '../../daemon/actions/ha-config.js';
import { haDiscoveryConfigs } from '../../daemon/actions/ha-entities.js';
import { loadConfig } from '../../daemon/config/index.js';
import type { ConfigOverrides } from '../../daemon/config/types.js';
import { findSocZone, readZoneCelsius } from '../../daemon/util/thermal.js';

const FACTS = {
  swVersion: '1.2.3',
  speakAvailable: true,
  temperature: false,
  safetySensors: new Set(['imu0']),
  hostname: 'kitchen-pi',
};

function objects(overrides: ConfigOverrides): string[] {
  const config = loadConfig({
    overrides: { device: { id: 'k' }, storage: { dir: '/tmp/x' }, ...overrides },
    env: {},
  });
  return haDiscoveryConfigs(haDeviceFromConfig(config, FACTS)).map(
    (c) => `${c.component}/${c.topic.split('/')[3]}`,
  );
}

describe('Home Assistant entities from the configuration', () => {
  it('has an entity only for what is enabled', () => {
    const live = { source: { mode: 'live' as const } };
    const all = objects({ ...live });
    expect(all).toEqual(
      expect.arrayContaining([
        'sensor/emotion',
        'text/display_text',
        'event/motion_event',
        'select/privacy_cam0',
      ]),
    );
    const noCamera = objects({ ...live, sensors: { camera: { enabled: false } } });
    expect(noCamera.filter((o) => /emotion|display_text|cam0/.test(o))).toEqual([]);
    const noImu = objects({ ...live, sensors: { imu: { enabled: false } } });
    expect(noImu.filter((o) => /motion_event|sensor\/motion$|imu0/.test(o))).toEqual([]);
    const noStt = objects({ ...live, pipeline: { stt: { enabled: false } } });
    expect(noStt.filter((o) => /transcript|intent/.test(o))).toEqual([]);
    expect(all).not.toContain('button/pause_imu0');
    expect(all).toContain('button/resume_imu0');
    expect(all.some((o) => o.startsWith('image/'))).toBe(false);
    expect(objects({ ...live, mqtt: { discovery: { image_interval_s: 5 } } })).toContain(
      'image/camera_image',
    );
  });

  it('links the dashboard only where Home Assistant can open it', () => {
    const url = (o: ConfigOverrides) =>
      configurationUrl(
        loadConfig({ overrides: { device: { id: 'k' }, storage: { dir: '/tmp/x' }, ...o }, env: {} }),
        'kitchen-pi',
      );
    expect(url({})).toBeUndefined(); // 127.0.0.1 by default
    expect(url({ http: { host: '0.0.0.0', port: 8080, token: 'a-long-enough-token' } })).toBe(
      'http://kitchen-pi.local:8080/',
    );
    expect(url({ http: { host: '192.168.1.20', token: 'a-long-enough-token' } })).toBe(
      'http://192.168.1.20:8080/',
    );
    expect(url({ mqtt: { discovery: { configuration_url: 'https://pi.example/' } } })).toBe(
      'https://pi.example/',
    );
    expect(url({ http: { enabled: false, host: '0.0.0.0' } })).toBeUndefined();
  });
});

describe('SoC temperature from /sys/class/thermal', () => {
  const dirs: string[] = [];
  afterEach(() => {
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  function sysfs(zones: Record<string, { type: string; temp: string }>): string {
    const root = mkdtempSync(join(tmpdir(), 'edgeloom-thermal-'));
    dirs.push(root);
    for (const [name, z] of Object.entries(zones)) {
      mkdirSync(join(root, name));
      writeFileSync(join(root, name, 'type'), `${z.type}\n`);
      writeFileSync(join(root, name, 'temp'), `${z.temp}\n`);
    }
    return root;
  }

  it('prefers the SoC zone by its type (a Pi: cpu-thermal; a Jetson: CPU-therm)', async () => {
    const pi = sysfs({
      thermal_zone0: { type: 'gpu-thermal', temp: '40000' },
      thermal_zone1: { type: 'cpu-thermal', temp: '51234' },
    });
    expect(await readZoneCelsius(findSocZone(pi)!)).toBe(51.2);
    const jetson = sysfs({
      thermal_zone0: { type: 'AO-therm', temp: '30000' },
      thermal_zone1: { type: 'CPU-therm', temp: '45500' },
    });
    expect(await readZoneCelsius(findSocZone(jetson)!)).toBe(45.5);
    const other = sysfs({ thermal_zone2: { type: 'acpitz', temp: '38000' } });
    expect(await readZoneCelsius(findSocZone(other)!)).toBe(38);
  });

  it('reports nothing without zones, or for an implausible reading', async () => {
    expect(findSocZone(join(tmpdir(), 'no-such-thermal-root'))).toBeUndefined();
    const bad = sysfs({ thermal_zone0: { type: 'cpu-thermal', temp: '-274000' } });
    expect(await readZoneCelsius(findSocZone(bad)!)).toBeUndefined();
    const garbage = sysfs({ thermal_zone0: { type: 'cpu-thermal', temp: 'n/a' } });
    expect(await readZoneCelsius(findSocZone(garbage)!)).toBeUndefined();
  });
});
