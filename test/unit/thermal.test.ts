/**
 * The SoC temperature from thermal sysfs. /sys/class/thermal cannot be written on this machine, so
 * the zones are laid out in a temporary directory the way the kernel presents them
 * (Documentation/driver-api/thermal/sysfs-api.rst: `thermal_zone<N>/type`, `thermal_zone<N>/temp`
 * in millidegrees Celsius); the reads are the same file reads as on a board.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { findSocZone, readZoneCelsius } from '../../daemon/util/thermal.js';

describe('thermal sysfs', () => {
  const roots: string[] = [];
  const sysfs = (zones: Record<string, { type?: string; temp?: string }>): string => {
    const root = mkdtempSync(join(tmpdir(), 'edgeloom-thermal-'));
    roots.push(root);
    for (const [name, z] of Object.entries(zones)) {
      mkdirSync(join(root, name));
      if (z.type !== undefined) writeFileSync(join(root, name, 'type'), `${z.type}\n`);
      if (z.temp !== undefined) writeFileSync(join(root, name, 'temp'), `${z.temp}\n`);
    }
    return root;
  };
  afterEach(() => {
    for (const r of roots.splice(0)) rmSync(r, { recursive: true, force: true });
  });

  it('picks the SoC zone by type over earlier zones (a Jetson lists several)', async () => {
    const root = sysfs({
      thermal_zone0: { type: 'AO-therm', temp: '30500' },
      thermal_zone1: { type: 'CPU-therm', temp: '47250' },
      thermal_zone10: { type: 'GPU-therm', temp: '45000' },
      cooling_device0: {},
    });
    const zone = findSocZone(root);
    expect(zone).toBe(join(root, 'thermal_zone1'));
    expect(await readZoneCelsius(zone!)).toBe(47.3);
  });

  it('reads a Raspberry Pi cpu-thermal zone in °C', async () => {
    const root = sysfs({ thermal_zone0: { type: 'cpu-thermal', temp: '52123' } });
    expect(await readZoneCelsius(findSocZone(root)!)).toBe(52.1);
  });

  it('falls back to the lowest-numbered zone when no type is known', () => {
    const root = sysfs({ thermal_zone2: { type: 'b', temp: '1' }, thermal_zone1: { type: 'a', temp: '1' } });
    expect(findSocZone(root)).toBe(join(root, 'thermal_zone1'));
  });

  it('has no temperature without zones, with an unreadable or implausible reading', async () => {
    expect(findSocZone(join(tmpdir(), 'edgeloom-no-such-thermal-root'))).toBeUndefined();
    expect(findSocZone(sysfs({}))).toBeUndefined();
    const root = sysfs({
      thermal_zone0: { type: 'cpu-thermal', temp: '-274000' },
      thermal_zone1: { type: 'x', temp: 'garbage' },
      thermal_zone2: { type: 'y' },
    });
    expect(await readZoneCelsius(join(root, 'thermal_zone0'))).toBeUndefined();
    expect(await readZoneCelsius(join(root, 'thermal_zone1'))).toBeUndefined();
    expect(await readZoneCelsius(join(root, 'thermal_zone2'))).toBeUndefined();
  });
});
