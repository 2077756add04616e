/**
 * The SoC temperature from the kernel's thermal sysfs (Documentation/driver-api/thermal/sysfs-api.rst):
 * `/sys/class/thermal/thermal_zone<N>/temp` is the zone's temperature in millidegrees Celsius and
 * `type` names the zone. A Raspberry Pi calls its SoC zone `cpu-thermal`, a Jetson `CPU-therm`
 * (or `cpu-thermal`), an x86 package `x86_pkg_temp`; a board whose zone has another name falls back
 * to the first zone. VMs and containers often have no zone at all: then there is no temperature.
 *
 * Two small non-blocking file reads per call (no child process, no dependency).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Where the kernel lists its thermal zones. */
export const THERMAL_ROOT = '/sys/class/thermal';

/** Zone types that are the SoC or CPU package, best first. */
const SOC_TYPES = ['cpu-thermal', 'cpu_thermal', 'CPU-therm', 'soc_thermal', 'soc-thermal', 'x86_pkg_temp'];

/** The zone directory of the SoC temperature, or undefined where the board reports none. */
export function findSocZone(root: string = THERMAL_ROOT): string | undefined {
  let zones: string[];
  try {
    zones = readdirSync(root)
      .filter((n) => /^thermal_zone\d+$/.test(n))
      .sort((a, b) => Number(a.slice(12)) - Number(b.slice(12)));
  } catch {
    return undefined;
  }
  const typed = zones.map((zone) => {
    try {
      return { zone, type: readFileSync(join(root, zone, 'type'), 'utf8').trim() };
    } catch {
      return { zone, type: '' };
    }
  });
  for (const type of SOC_TYPES) {
    const hit = typed.find((z) => z.type === type);
    if (hit !== undefined) return join(root, hit.zone);
  }
  return typed[0] === undefined ? undefined : join(root, typed[0].zone);
}

/**
 * The zone's temperature, °C; undefined when it cannot be read or is implausible (a disabled
 * zone reads an error or a sentinel such as -274000).
 */
export async function readZoneCelsius(zoneDir: string): Promise<number | undefined> {
  let text: string;
  try {
    text = await readFile(join(zoneDir, 'temp'), 'utf8');
  } catch {
    return undefined;
  }
  const milli = Number(text.trim());
  if (!Number.isFinite(milli)) return undefined;
  const c = milli / 1000;
  return c > -40 && c < 150 ? Math.round(c * 10) / 10 : undefined;
}
