/**
 * `edgeloom listen` and `edgeloom sensor pause|resume` through the real parts: the compiled daemon
 * (`run`) replays the demo fixture in a loop at real-time speed into a real Mosquitto on a
 * loopback port, with wake mode `push_to_talk`; the compiled CLI reaches it on its control
 * socket, and an MQTT client watches what the device publishes.
 *
 * - listen opens the window through the same responder as Home Assistant's Listen button (the
 *   daemon logs it with the CLI's channel) and answers when it closes; a window past the MQTT
 *   command's 300 s bound is a usage error before anything is asked, and the daemon refuses one
 *   written to its socket directly.
 * - sensor pause publishes the sensor's retained `paused` status over MQTT and an audit record;
 *   resume publishes `running`; the IMU (fall detection) needs --safety-override; an unknown id
 *   names the known ones.
 * - with no daemon, both say so (E_CONTROL_NO_DAEMON) and name the socket they tried.
 * - in wake mode `always` (a second daemon, the default mode) listen says which modes have
 *   push-to-talk instead of only that nothing serves it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controlRequest } from '../../daemon/control/control-client.js';
import type { CliChild } from '../helpers/cli-process.js';
import { runCli } from '../helpers/cli-process.js';
import { BASE, DEMO, startDaemon, stopCleanly, writeDaemonConfig } from '../helpers/daemon-mqtt.js';
import { Mosquitto, mosquittoAvailable } from '../helpers/mosquitto.js';
import { Subscriber, waitFor } from '../helpers/mqtt.js';
import { cli, jsonLines } from '../helpers/privacy-daemon.js';

describe.runIf(mosquittoAvailable())('edgeloom listen and edgeloom sensor on the running daemon', () => {
  let broker: Mosquitto;
  let dir: string;
  let config: string;
  let daemon: CliChild | undefined;
  let watcher: Subscriber;

  beforeAll(async () => {
    broker = await Mosquitto.start();
    dir = mkdtempSync(join(tmpdir(), 'edgeloom-cli-ctl-'));
    config = writeDaemonConfig({
      dir,
      brokerUrl: broker.url,
      fixture: DEMO,
      speed: 1,
      extra: {
        source: { mode: 'replay', replay: { fixture: DEMO, speed: 1, loop: true } },
        agents: { voice: { wake: { mode: 'push_to_talk', window_s: 8 } } },
      },
    });
    watcher = await Subscriber.connect(broker.url, [`${BASE}/sensor/+/status`]);
  });
  afterAll(async () => {
    await watcher?.close();
    daemon?.kill();
    await broker?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('say that no daemon runs, naming the socket, when none does', async () => {
    for (const args of [['listen'], ['sensor', 'pause', 'mic0']]) {
      const r = await runCli([...args, '--config', config], { timeoutMs: 30_000 });
      expect(r.code, r.stderr).toBe(1);
      expect(r.stderr).toContain('E_CONTROL_NO_DAEMON');
      expect(r.stderr).toContain(join(dir, 'state', 'control.sock'));
    }
  });

  it('listen opens the push-to-talk window on the daemon, as the Listen button does', async () => {
    daemon = startDaemon(config);
    // Every component started (the control socket opens before the responders do).
    await daemon.waitForLog('edgeloom running', 'stdout', 60_000);
    const before = Date.now();
    const out = jsonLines<{ listening: boolean; until_ms: number }>(
      await cli(['listen', '--seconds', '5', '--json', '--config', config]),
    );
    expect(out).toHaveLength(1);
    expect(out[0]!.listening).toBe(true);
    // The replay's clock follows wall time from the fixture's recorded start, so the window's end
    // is 5 s after the command on that clock: check its length against the next command's.
    const text = await cli(['listen', '--config', config]);
    expect(text).toMatch(/^listening until \d{4}-\d\d-\d\dT[\d:.]+Z\n$/);
    const defaultEnd = Date.parse(text.slice('listening until '.length).trim());
    // The default window (8 s) from a later command ends ≥ 3 s after the 5 s one.
    expect(defaultEnd - out[0]!.until_ms).toBeGreaterThanOrEqual(3_000 - 50);
    expect(defaultEnd - out[0]!.until_ms).toBeLessThan(3_000 + (Date.now() - before) + 50);
    await daemon.waitForLog('push-to-talk: listening', 'stdout', 10_000);
    expect(daemon.stdout).toMatch(/"channel":"cli"[^\n]*push-to-talk: listening/);
    // Past the MQTT command's bound: refused by the CLI before it asks.
    const long = await runCli(['listen', '--seconds', '301', '--config', config], { timeoutMs: 30_000 });
    expect(long.code).toBe(2);
    expect(long.stderr).toContain('--seconds must be in (0, 300]');
    // And by the daemon, for whatever else writes to its socket.
    for (const seconds of [1e9, -1, 'forever'])
      await expect(
        controlRequest(join(dir, 'state', 'control.sock'), { op: 'voice.listen', seconds } as never),
      ).rejects.toMatchObject({ code: 'E_CONTROL_BAD_REQUEST' });
  }, 90_000);

  it('sensor pause and resume switch the microphone, published over MQTT and audited', async () => {
    const status = (): unknown[] =>
      watcher.on(`${BASE}/sensor/mic0/status`).map((m) => (m.payload as { state?: string }).state);
    const paused = jsonLines(
      await cli(['sensor', 'pause', 'mic0', '--duration', '600', '--json', '--config', config]),
    );
    expect(paused).toEqual([{ sensor: 'mic0', state: 'paused', resumes_in_s: 600 }]);
    await waitFor(() => status().includes('paused'), 'mic0 paused over MQTT');
    expect(await cli(['sensor', 'resume', 'mic0', '--config', config])).toBe('mic0 running\n');
    await waitFor(() => status().at(-1) === 'running', 'mic0 running over MQTT');
    const audit = jsonLines<{ kind: string; channel?: string; command?: string; sensor?: string }>(
      await cli(['audit', '--json', '--config', config]),
    );
    expect(audit.filter((r) => r.kind === 'command' && r.channel === 'cli').map((r) => r.command)).toEqual(
      expect.arrayContaining(['sensor.pause', 'sensor.resume']),
    );
  }, 60_000);

  it('sensor pause keeps fall detection unless told, and names the sensors it knows', async () => {
    const imu = await runCli(['sensor', 'pause', 'imu0', '--config', config], { timeoutMs: 30_000 });
    expect(imu.code).toBe(1);
    expect(imu.stderr).toMatch(/safety/i);
    const unknown = await runCli(['sensor', 'pause', 'cam9', '--config', config], { timeoutMs: 30_000 });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('E_CMD_UNKNOWN_SENSOR');
    expect(unknown.stderr).toMatch(/known: [^\n]*mic0/);
    const overridden = jsonLines(
      await cli([
        'sensor',
        'pause',
        'imu0',
        '--duration',
        '30',
        '--safety-override',
        '--json',
        '--config',
        config,
      ]),
    );
    expect(overridden).toEqual([{ sensor: 'imu0', state: 'paused', resumes_in_s: 30 }]);
    await waitFor(
      () =>
        watcher
          .on(`${BASE}/sensor/imu0/status`)
          .some((m) => (m.payload as { state?: string }).state === 'paused'),
      'imu0 paused over MQTT',
    );
    await stopCleanly(daemon!);
    daemon = undefined;
  }, 60_000);
});

describe.runIf(mosquittoAvailable())('edgeloom listen in wake mode always', () => {
  it('says that push-to-talk needs another wake mode, since every utterance is heard', async () => {
    const broker = await Mosquitto.start();
    const dir = mkdtempSync(join(tmpdir(), 'edgeloom-cli-always-'));
    const config = writeDaemonConfig({
      dir,
      brokerUrl: broker.url,
      fixture: DEMO,
      speed: 1,
      extra: { source: { mode: 'replay', replay: { fixture: DEMO, speed: 1, loop: true } } },
    });
    const daemon = startDaemon(config);
    try {
      await daemon.waitForLog('edgeloom running', 'stdout', 60_000);
      const r = await runCli(['listen', '--config', config], { timeoutMs: 30_000 });
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('E_CMD_NO_RESPONDER');
      expect(r.stderr).toContain('push-to-talk needs agents.voice.wake.mode wake_word or push_to_talk');
      await stopCleanly(daemon);
    } finally {
      daemon.kill();
      await broker.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);
});
