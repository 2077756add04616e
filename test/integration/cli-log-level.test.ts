/** `edgeloom run --log-level`: the level for this run, over the config's log.level (info). */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseLogLines, runCli, spawnCli } from '../helpers/cli-process.js';
import { DEMO, signalAndWait, writeDaemonConfig } from '../helpers/daemon-mqtt.js';
import { Mosquitto, mosquittoAvailable } from '../helpers/mosquitto.js';

describe.runIf(mosquittoAvailable())('edgeloom run --log-level', () => {
  let dir: string;
  let broker: Mosquitto;
  let config: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'edgeloom-log-level-'));
    broker = await Mosquitto.start();
    config = writeDaemonConfig({ dir, brokerUrl: broker.url, fixture: DEMO, speed: 0 });
  });

  afterAll(async () => {
    await broker?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it('debug shows the debug lines the configured info level hides', async () => {
    const d = spawnCli(['run', '--config', config, '--log-level', 'debug']);
    try {
      // The controller logs each component's start at debug.
      await d.waitForLog('started');
      await d.waitForLog('replaying fixture');
    } finally {
      await signalAndWait(d, 'SIGTERM');
    }
    expect((await d.exited).code).toBe(0);
    const levels = new Set(parseLogLines(d.stdout).map((l) => l.level));
    expect(levels.has('debug')).toBe(true);
  });

  it('refuses a level pino does not have, naming the option, with exit status 2', async () => {
    const r = await runCli(['run', '--config', config, '--log-level', 'loud']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--log-level loud');
  });
});
