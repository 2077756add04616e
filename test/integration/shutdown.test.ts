import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { type CliChild, parseLogLines, runCli, spawnCli } from '../helpers/cli-process.js';
import { freePort } from '../helpers/mosquitto.js';
import { Subscriber } from '../helpers/mqtt.js';
import { REPO_ROOT } from '../helpers/tools.js';
import { until } from '../helpers/wait.js';

/**
 * Graceful shutdown (README, "Stop, crashes, a damaged store, a full disk") of the real daemon
 * process: `edgeloom run` replaying the demo fixture in a loop at real-time speed through the
 * pipeline stages (VAD, face, STT), so there is work in flight when the signal arrives.
 * SIGTERM/SIGINT → 'shutting down' → 'stopped' → exit 0 within shutdown_timeout_ms. Start-up
 * failures and invalid configs exit non-zero with one clear line on stderr.
 */

const dir = mkdtempSync(join(tmpdir(), 'edgeloom-shutdown-'));
const SHUTDOWN_TIMEOUT_MS = 5_000;

function writeConfig(name: string, fixture: string, brokerPort = 0): string {
  const file = join(dir, name);
  writeFileSync(
    file,
    [
      'device:',
      '  id: shutdown-test',
      'log:',
      '  level: info',
      'source:',
      '  mode: replay',
      '  replay:',
      `    fixture: ${JSON.stringify(fixture)}`,
      '    speed: 1',
      '    loop: true',
      'pipeline:',
      '  stt:',
      '    model: whisper-synthetic-tiny',
      'cloud:',
      '  enabled: false',
      // Nothing here may collide with another test or a running daemon on this host.
      'mqtt:',
      '  embedded:',
      `    port: ${brokerPort}`,
      'http:',
      '  enabled: false',
      'storage:',
      `  dir: ${JSON.stringify(join(dir, 'state'))}`,
      `shutdown_timeout_ms: ${SHUTDOWN_TIMEOUT_MS}`,
      '',
    ].join('\n'),
  );
  return file;
}

let child: CliChild | undefined;

afterEach(() => {
  child?.kill();
  child = undefined;
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('edgeloom run: graceful shutdown', () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`${signal} drains and exits 0 within shutdown_timeout_ms`, async () => {
      const brokerPort = await freePort();
      const demoConfig = writeConfig(`demo-${signal}.yaml`, join(REPO_ROOT, 'fixtures/demo'), brokerPort);
      child = spawnCli(['run', '--config', demoConfig], { timeoutMs: 40_000 });
      await child.waitForLog('edgeloom running', 'stdout', 30_000);
      const running = parseLogLines(child.stdout).find((l) => l.msg === 'edgeloom running')!;
      expect(running.device).toBe('shutdown-test');
      expect(running.components).toEqual(expect.arrayContaining(['pipeline.vad', 'source.replay']));
      // The signal lands on a busy pipeline: wait until the face stage's results come out on MQTT.
      // The embedded broker requires a login; the daemon generated the password in its state dir.
      const password = readFileSync(join(dir, 'state', 'mqtt-embedded-password'), 'utf8').trim();
      const sub = await Subscriber.connect(
        `mqtt://127.0.0.1:${brokerPort}`,
        ['edgeloom/shutdown-test/#'],
        50,
        { username: 'edgeloom', password },
      );
      await until('the pipeline to publish', () =>
        sub.messages.some((m) => m.topic.endsWith('/face/emotion')),
      );
      await sub.close();
      expect(child.process.exitCode).toBeNull();

      child.process.kill(signal);
      const result = await child.exited;

      expect(result.signal).toBeNull();
      expect(result.code).toBe(0);
      const msgs = parseLogLines(result.stdout).map((l) => l.msg);
      const down = msgs.indexOf('shutting down');
      expect(down).toBeGreaterThan(msgs.indexOf('edgeloom running'));
      expect(msgs.indexOf('stopped')).toBeGreaterThan(down);
      expect(msgs.filter((m) => m.startsWith('shutdown deadline'))).toEqual([]);
      const shutting = parseLogLines(result.stdout).find((l) => l.msg === 'shutting down')!;
      expect(shutting).toMatchObject({ signal, deadlineMs: SHUTDOWN_TIMEOUT_MS });
      // Nothing failed on the way down.
      expect(parseLogLines(result.stdout).filter((l) => l.level === 'error' || l.level === 'fatal')).toEqual(
        [],
      );
      expect(result.stderr).toBe('');
    });
  }

  it('a start-up failure (missing fixture) exits non-zero with one stderr line naming the path', async () => {
    const missing = join(dir, 'no-such-fixture');
    const cfg = writeConfig('missing.yaml', missing);
    const result = await runCli(['run', '--config', cfg]);
    expect(result.code).toBe(1);
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^edgeloom: /);
    expect(lines[0]).toContain(missing);
    expect(lines[0]).toContain('[E_FIXTURE_MISSING]');
    // The structured log says the same, for journald.
    expect(parseLogLines(result.stdout).some((l) => l.level === 'fatal' && l.msg === 'start-up failed')).toBe(
      true,
    );
    expect(parseLogLines(result.stdout).some((l) => l.msg === 'edgeloom running')).toBe(false);
  });

  it('an invalid config exits non-zero naming the key, the file and the line', async () => {
    const cfg = join(dir, 'invalid.yaml');
    writeFileSync(cfg, ['log:', '  level: info', 'sensors:', '  camera:', '    fps: 0', ''].join('\n'));
    const result = await runCli(['run', '--config', cfg]);
    expect(result.code).not.toBe(0);
    expect(result.code).not.toBeNull();
    expect(result.stderr).toContain('sensors.camera.fps');
    expect(result.stderr).toContain(`${cfg}:5:`);
    expect(result.stderr).toContain('[E_CONFIG_INVALID]');
    expect(result.stderr).not.toMatch(/\n\s+at /); // no stack trace
    expect(result.stdout).toBe('');
  });
});
