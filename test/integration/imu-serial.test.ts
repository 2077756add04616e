import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, constants, existsSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { Bus } from '../../daemon/bus/bus.js';
import type { ImuEvent, SensorStatus } from '../../daemon/bus/topics.js';
import { silentLogger } from '../../daemon/log.js';
import { ImuSource } from '../../daemon/sensors/imu/imu.js';
import { SystemClock } from '../../daemon/util/clock.js';
import { needs } from '../helpers/tools.js';
import { until } from '../helpers/wait.js';

/**
 * The IMU source against a real pseudo-terminal pair made by socat: the source opens one end like
 * a USB serial device, the test plays the microcontroller on the other. Killing socat makes the
 * pty vanish (a cable pulled); starting it again with the same link names plugs it back in.
 */

/** Polls `fn` until it returns a value (not undefined/false); the test timeout is the only limit. */
function waitFor<T>(what: string, fn: () => T | undefined, everyMs?: number): Promise<T> {
  return until(what, () => fn() as T | undefined, { everyMs });
}

describe.runIf(needs({ tools: ['socat'] }))('IMU source over a socat pty pair', () => {
  const dir = mkdtempSync(join(tmpdir(), 'edgeloom-imu-'));
  const devPath = join(dir, 'imu-dev');
  const feedPath = join(dir, 'imu-feed');
  let socat: ChildProcess | undefined;

  async function startSocat(): Promise<void> {
    socat = spawn(
      'socat',
      ['-d', '-d', `pty,raw,echo=0,link=${devPath}`, `pty,raw,echo=0,link=${feedPath}`],
      { stdio: 'ignore' },
    );
    await waitFor('socat links', () => existsSync(devPath) && existsSync(feedPath));
  }

  async function stopSocat(): Promise<void> {
    const p = socat;
    socat = undefined;
    if (p === undefined || p.exitCode !== null) return;
    const exited = new Promise((r) => p.once('exit', r));
    p.kill('SIGTERM');
    await exited;
  }

  /** Write to the device end as a microcontroller would, in the pieces given. */
  function writeFeed(...pieces: string[]): void {
    const fd = openSync(feedPath, constants.O_WRONLY | constants.O_NOCTTY);
    try {
      for (const p of pieces) writeSync(fd, p);
    } finally {
      closeSync(fd);
    }
  }

  /** CSV lines ax,ay,az,gx,gy,gz,t at 100 Hz of device time. */
  function csvLines(fromMs: number, count: number, ax: number, gz: number): string {
    let s = '';
    for (let i = 0; i < count; i++) s += `${ax},0,1,0,0,${gz},${fromMs + i * 10}\r\n`;
    return s;
  }

  afterAll(async () => {
    await stopSocat();
    rmSync(dir, { recursive: true, force: true });
  });

  it('reads lines, survives garbage, goes restarting when the pty vanishes and reconnects', async () => {
    const clock = new SystemClock();
    const bus = new Bus({ clock, logger: silentLogger() });
    const events: ImuEvent[] = [];
    const statuses: SensorStatus[] = [];
    bus.subscribe('sensor/imu/+/window', (env) => void events.push(env.payload as ImuEvent), {
      component: 'test',
    });
    bus.subscribe('sensor/imu/+/status', (env) => void statuses.push(env.payload as SensorStatus), {
      component: 'test',
    });
    const source = new ImuSource({
      id: 'pty0',
      path: devPath,
      format: 'csv',
      rawRateHz: 100,
      eventRateHz: 10,
      reconnect: { initialMs: 50, maxMs: 300 },
      // Device time maps to host time once per connection and is never re-anchored here: which
      // window a sample falls in must not depend on how late this process reads the pty.
      maxDeviceSkewMs: 24 * 3600_000,
      clock,
      logger: silentLogger(),
      bus,
    });
    try {
      // 1. No device yet: `failed`, naming the path, and no throw from start().
      await source.start(new AbortController().signal);
      const failed = await waitFor('failed status', () => statuses.find((s) => s.state === 'failed'));
      expect(failed.reason).toContain(devPath);
      expect(failed.sensor).toBe('pty0');

      // 2. The device is plugged in: polled at max backoff, then `running`.
      await startSocat();
      await waitFor('running', () => statuses.find((s) => s.state === 'running'));

      // 3. Lines with garbage, a line split across writes and an overlong line in between.
      const lines = csvLines(0, 40, 0.5, 12.5);
      const lineEnd = lines.indexOf('\n', lines.length / 2) + 1;
      writeFeed(
        '@@ boot banner v1.2\n',
        lines.slice(0, 17), // ends mid-line: the rest follows in the next write
        lines.slice(17, lineEnd),
        `${'9'.repeat(2000)}\n`,
        lines.slice(lineEnd),
        '0.5,0,x,0,0,12.5,999\n',
      );
      await waitFor('3 events', () => events.length >= 3);
      for (const e of events) {
        expect(e.mean.ax).toBeCloseTo(0.5, 12);
        expect(e.mean.gz).toBeCloseTo(12.5, 12);
        expect(e.peak.gz).toBeCloseTo(12.5, 12);
        expect(e.accelMagnitudeG.max).toBeCloseTo(Math.sqrt(1.25), 12);
        expect(e.windowMs).toBe(100);
        expect(e.sampleCount).toBeLessThanOrEqual(10);
      }
      const mid = events.slice(1, -1);
      for (const e of mid) expect(e.sampleCount).toBe(10);
      await waitFor('garbage counted', () => source.stats().parser.bad.not_a_number >= 1 || undefined);
      const stats = source.stats();
      expect(stats.parser.ok).toBe(40);
      expect(stats.parser.bad.too_long).toBe(1);
      expect(stats.parser.bad.column_count).toBe(1);
      expect(stats.state).toBe('running');

      // 4. Unplug: socat exits, the pty disappears → `restarting`.
      await stopSocat();
      await waitFor('restarting', () => statuses.find((s) => s.state === 'restarting'));
      expect(source.stats().restarts).toBe(1);

      // 5. Plug back in with the same link names → `running` again, and new data flows.
      const runningBefore = statuses.filter((s) => s.state === 'running').length;
      await startSocat();
      await waitFor(
        'running again',
        () => statuses.filter((s) => s.state === 'running').length > runningBefore,
      );
      const before = events.length;
      // A microcontroller keeps streaming: bytes it sent while the port was being reopened are
      // lost on real hardware too (and here, under load, the first burst can race the reopen), so
      // keep sending until the new data shows up rather than relying on one write.
      let burst = 0;
      await waitFor(
        'events after reconnect',
        () => {
          if (events.slice(before).some((e) => e.mean.ax < 0)) return true;
          writeFeed(csvLines(100_000 + burst++ * 400, 40, -0.25, -3));
          return undefined;
        },
        100, // a burst of 40 lines (0.4 s of device time) per check
      );
      const after = events.slice(before).filter((e) => e.mean.ax < 0);
      for (const e of after) {
        expect(e.mean.ax).toBeCloseTo(-0.25, 12);
        expect(e.peak.gz).toBeCloseTo(3, 12);
      }

      // 6. Paused: the port is drained but nothing is published; resume → running.
      source.pause();
      await waitFor('paused', () => statuses.at(-1)?.state === 'paused');
      const beforePause = events.length;
      writeFeed(csvLines(200_000, 30, 2, 0));
      await waitFor('drained while paused', () => source.stats().dropped.paused >= 30 || undefined);
      expect(events.slice(beforePause).some((e) => e.mean.ax === 2)).toBe(false);
      source.resume();
      await waitFor('running after resume', () => statuses.at(-1)?.state === 'running');
    } finally {
      await source.stop();
      await bus.close(1000);
    }
    expect(statuses.at(-1)?.state).toBe('stopped');
  });
});
