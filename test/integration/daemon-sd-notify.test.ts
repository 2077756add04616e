/**
 * The systemd wiring of the real daemon: the compiled CLI (`run`, replaying the IMU fixture in a
 * loop) started the way systemd starts a Type=notify unit with WatchdogSec=1 — NOTIFY_SOCKET on a
 * real unix datagram socket the test listens on, WATCHDOG_USEC=1000000 — sends READY=1 once it
 * has started, WATCHDOG=1 every half second and none before READY, stops pinging while its event
 * loop is stuck (a test-only preload blocks it on SIGUSR2; the daemon has no test hook) and sends
 * STOPPING=1 on SIGTERM.
 *
 * No timing is asserted that load could break: pings are counted as they arrive, and the only
 * comparisons of times are between causally ordered events (a ping cannot be generated before the
 * watchdog starts, and the watchdog starts after READY=1 was delivered).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type CliChild, parseLogLines, spawnCli } from '../helpers/cli-process.js';
import { type Datagram, NotifyReceiver } from '../helpers/notify-socket.js';
import { needs, REPO_ROOT } from '../helpers/tools.js';
import { until } from '../helpers/wait.js';

/** WatchdogSec=1: systemd restarts a unit that sends no WATCHDOG=1 for this long. */
const WATCHDOG_USEC = 1_000_000;
/** sd_watchdog_enabled(3): ping at half the timeout. */
const PING_PERIOD_MS = WATCHDOG_USEC / 1000 / 2;
/** How long the preload blocks the event loop: four watchdog timeouts. */
const BLOCK_MS = 4000;
const PRELOAD = join(REPO_ROOT, 'dist/test/helpers/block-event-loop.js');

const isPing = (d: Datagram): boolean => d.msg === 'WATCHDOG=1';
const msBetween = (fromNs: number | bigint, toNs: number | bigint): number =>
  (Number(toNs) - Number(fromNs)) / 1e6;

describe.runIf(needs({ tools: ['systemd-notify', 'python3'] }))('edgeloom run under a notify socket', () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgeloom-sd-'));
  let receiver: NotifyReceiver | undefined;
  let daemon: CliChild | undefined;

  afterAll(() => {
    daemon?.kill();
    receiver?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('READY=1 after start, WATCHDOG=1 every WATCHDOG_USEC/2, none while the loop is stuck, STOPPING=1 on SIGTERM', async () => {
    const socket = join(dir, 'notify.sock');
    receiver = await NotifyReceiver.start(socket);
    const config = join(dir, 'config.yaml');
    writeFileSync(
      config,
      [
        'device:',
        '  id: sd-notify-test',
        'log:',
        '  level: debug', // the controller's per-component 'started' lines carry their times
        'source:',
        '  mode: replay',
        '  replay:',
        `    fixture: ${JSON.stringify(join(REPO_ROOT, 'fixtures/imu'))}`,
        '    speed: 1',
        '    loop: true',
        'pipeline:',
        '  stt:',
        '    model: whisper-synthetic-tiny', // bundled (whisper-tiny itself is fetched on a device)
        'cloud:',
        '  enabled: false',
        'mqtt:',
        '  embedded:',
        '    port: 0',
        'http:',
        '  enabled: false',
        'storage:',
        `  dir: ${JSON.stringify(join(dir, 'state'))}`,
        '',
      ].join('\n'),
    );
    daemon = spawnCli(['run', '--config', config], {
      nodeArgs: ['--import', PRELOAD],
      env: { NOTIFY_SOCKET: socket, WATCHDOG_USEC: String(WATCHDOG_USEC) },
      timeoutMs: 120_000,
    });
    const d = daemon;
    const r = receiver;
    // A daemon that dies fails the wait at once, with its output, instead of at the hang guard.
    const whileRunning =
      <T>(condition: () => T) =>
      (): T => {
        if (d.process.exitCode !== null || d.process.signalCode !== null) {
          throw new Error(`the daemon exited\n${d.stdout.slice(-2000)}\n${d.stderr.slice(-2000)}`);
        }
        return condition();
      };

    // 1. READY=1 (with its STATUS line, in one datagram) first, then pings.
    await until(
      'READY=1 and three pings',
      whileRunning(() => r.messages().filter(isPing).length >= 3),
    );
    const messages = r.messages();
    expect(messages[0]!.msg).toBe('READY=1\nSTATUS=running');
    const ready = messages[0]!;
    expect(messages.slice(1).every(isPing)).toBe(true);

    // READY=1 came after start-up: after every component's 'started' line (logged, with its
    // time, before the notification was sent).
    await d.waitForLog('edgeloom running');
    const logs = parseLogLines(d.stdout);
    const started = logs.filter((l) => l.msg === 'started');
    expect(started.map((l) => l.component)).toEqual(
      expect.arrayContaining(['source.replay', 'actions.mqtt', 'agents.runtime']),
    );
    for (const l of started) expect(Date.parse(String(l.time))).toBeLessThanOrEqual(ready.wall_ms);

    // 2. The period is half of WATCHDOG_USEC: the watchdog says so, and the pings keep to it. The
    // k-th ping cannot be generated before k periods after the watchdog started, which is after
    // READY=1 arrived; one period of slack covers a timer armed late in a busy loop turn.
    const on = logs.find((l) => l.msg === 'watchdog on');
    expect(on?.intervalMs).toBe(PING_PERIOD_MS);
    r.messages()
      .filter(isPing)
      .forEach((ping, k) => {
        expect(msBetween(ready.mono_ns, ping.mono_ns)).toBeGreaterThanOrEqual((k - 1) * PING_PERIOD_MS);
      });

    // 3. The event loop is stuck for four watchdog timeouts (the preload blocks it on SIGUSR2).
    d.process.kill('SIGUSR2');
    await d.waitFor('the block to end', (c) => c.stderr.includes('edgeloom-test-block end '));
    const mark = (what: string) =>
      BigInt(new RegExp(`edgeloom-test-block ${what} (\\d+)`).exec(d.stderr)![1]!);
    const [blockStart, blockEnd] = [mark('start'), mark('end')];
    expect(msBetween(blockStart, blockEnd)).toBeGreaterThanOrEqual(BLOCK_MS);
    // The first tick after the block sees the stall and withholds its ping, saying why...
    await d.waitFor('the withheld ping to be logged', (c) =>
      parseLogLines(c.stdout).some((l) => l.msg === 'watchdog: not pinging systemd, the daemon looks stuck'),
    );
    const withheld = parseLogLines(d.stdout).filter(
      (l) => l.msg === 'watchdog: not pinging systemd, the daemon looks stuck',
    );
    const blockedMs = withheld
      .map((l) => /event loop blocked for (\d+) ms/.exec(String(l.reason)))
      .map((m) => (m === null ? 0 : Number(m[1])));
    expect(Math.max(...blockedMs)).toBeGreaterThanOrEqual(BLOCK_MS / 2);
    // ...and pinging resumes once the loop runs freely again.
    await until(
      'a ping after the block',
      whileRunning(() => r.messages().some((m) => isPing(m) && BigInt(m.mono_ns) > blockEnd)),
    );
    // What systemd saw: no WATCHDOG=1 for longer than WatchdogSec around the stall, so it would
    // have restarted the unit. (A ping already on its way when the block began may land inside
    // it; the next cannot be generated before the block ends plus one period.)
    const pings = r.messages().filter(isPing);
    const lastBefore = pings.filter((p) => BigInt(p.mono_ns) <= blockEnd).at(-1)!;
    const firstAfter = pings.find((p) => BigInt(p.mono_ns) > blockEnd)!;
    expect(msBetween(lastBefore.mono_ns, firstAfter.mono_ns)).toBeGreaterThan(WATCHDOG_USEC / 1000);

    // 4. SIGTERM: STOPPING=1, once, then a clean exit.
    d.process.kill('SIGTERM');
    const exit = await d.exited;
    expect(exit.code).toBe(0);
    await until('STOPPING=1', () => r.fields().includes('STOPPING=1'));
    const all = r.messages();
    expect(all.filter((m) => m.msg === 'STOPPING=1')).toHaveLength(1);
    expect(all.filter((m) => m.msg.startsWith('READY=1'))).toHaveLength(1);
    expect(all.findIndex((m) => m.msg === 'STOPPING=1')).toBeGreaterThan(all.indexOf(firstAfter));
  });
});
