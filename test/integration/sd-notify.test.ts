import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../daemon/log.js';
import { SdNotify } from '../../daemon/systemd/sd-notify.js';
import { NotifyReceiver } from '../helpers/notify-socket.js';
import { needs, REPO_ROOT } from '../helpers/tools.js';

const receivers: NotifyReceiver[] = [];
let dir: string | undefined;
afterEach(() => {
  for (const r of receivers.splice(0)) r.close();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

describe.runIf(needs({ tools: ['systemd-notify', 'python3'] }))(
  'SdNotify over a real datagram socket',
  () => {
    it.each([
      ['a path socket', () => join((dir = mkdtempSync(join(tmpdir(), 'edgeloom-notify-'))), 'notify.sock')],
      ['an abstract socket', () => `@edgeloom-test-${process.pid}-${Date.now()}`],
    ])('delivers READY, WATCHDOG, STATUS and STOPPING in order to %s', async (_what, address) => {
      const socket = address();
      const r = await NotifyReceiver.start(socket);
      receivers.push(r);
      const { got } = r;
      const notify = new SdNotify({ log: silentLogger(), env: { NOTIFY_SOCKET: socket } });
      expect(notify.enabled).toBe(true);

      // Not awaited one by one: the queue must keep call order on its own.
      const results = await Promise.all([
        notify.ready(),
        notify.watchdog(),
        notify.status('3 sensors, 0 dropped\nsecond line'),
        notify.stopping(),
      ]);
      expect(results).toEqual([true, true, true, true]);
      expect(r.fields()).toEqual([
        'READY=1',
        'WATCHDOG=1',
        'STATUS=3 sensors, 0 dropped second line',
        'STOPPING=1',
      ]);
      // systemd-notify's barrier carried a file descriptor, which the manager (here: the receiver) closes.
      expect(got.filter((d) => d.msg === 'BARRIER=1').every((d) => d.fds === 1)).toBe(true);
      if (process.getuid?.() === 0) {
        // Privileged senders speak as their parent, so NotifyAccess=main would also accept them.
        expect(got.filter((d) => d.msg !== 'BARRIER=1').map((d) => d.pid)).toEqual([
          process.pid,
          process.pid,
          process.pid,
          process.pid,
        ]);
      }
      expect(notify.stats()).toEqual({ sent: 4, failed: 0, dropped: 0 });
    });

    it('sends READY=1 with a STATUS line in one datagram', async () => {
      const socket = `@edgeloom-test-ready-${process.pid}`;
      const r = await NotifyReceiver.start(socket);
      receivers.push(r);
      const notify = new SdNotify({ log: silentLogger(), env: { NOTIFY_SOCKET: socket } });
      await notify.ready('running');
      expect(r.fields()).toEqual(['READY=1\nSTATUS=running']);
    });

    it('reports failure (never throws) when nothing listens on the socket', async () => {
      dir = mkdtempSync(join(tmpdir(), 'edgeloom-notify-'));
      const notify = new SdNotify({ log: silentLogger(), env: { NOTIFY_SOCKET: join(dir, 'missing.sock') } });
      await expect(notify.watchdog()).resolves.toBe(false);
      expect(notify.stats()).toEqual({ sent: 0, failed: 1, dropped: 0 });
    });
  },
);

describe('SdNotify without NOTIFY_SOCKET', () => {
  it('is disabled and sends nothing (no process is spawned)', async () => {
    const notify = new SdNotify({ log: silentLogger(), env: {}, command: '/nonexistent/systemd-notify' });
    expect(notify.enabled).toBe(false);
    await expect(notify.ready()).resolves.toBe(false);
    await expect(notify.watchdog()).resolves.toBe(false);
    expect(notify.stats()).toEqual({ sent: 0, failed: 0, dropped: 0 });
  });

  it('drops watchdog pings beyond maxPending while the sender is stuck, but keeps READY', async () => {
    dir = mkdtempSync(join(tmpdir(), 'edgeloom-notify-'));
    // `sleep` as the sender: every message takes 200 ms, so pings pile up behind the first.
    const notify = new SdNotify({
      log: silentLogger(),
      env: { NOTIFY_SOCKET: join(dir, 'x.sock') },
      command: join(REPO_ROOT, 'test/helpers/slow-sender.sh'),
      maxPending: 2,
    });
    const all = [notify.watchdog(), notify.watchdog(), notify.watchdog(), notify.ready()];
    const results = await Promise.all(all);
    expect(results).toEqual([true, true, false, true]);
    expect(notify.stats()).toEqual({ sent: 3, failed: 0, dropped: 1 });
  });
});
