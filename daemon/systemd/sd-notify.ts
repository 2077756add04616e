/**
 * sd_notify(3) for a Type=notify unit: READY=1 once started, WATCHDOG=1 pings, STOPPING=1 on
 * shutdown and STATUS= lines for `systemctl status`. Without NOTIFY_SOCKET (not under systemd,
 * tests, replays) every call is a no-op.
 *
 * Transport: Node cannot open AF_UNIX datagram sockets (dgram is UDP only, net is stream only),
 * so each message is sent by the `systemd-notify` binary that ships with systemd itself, instead
 * of a native addon (`unix-dgram`, `sd-notify`) that would need a compiler or prebuilt binaries for
 * arm64. systemd-notify speaks the protocol exactly as libsystemd does (abstract `@` sockets,
 * credentials) and, since systemd 246, waits on a BARRIER=1 until the manager has processed the
 * message, so a short-lived sender is still attributed to the unit. It sends with our pid when
 * privileged; otherwise with its own, which is why the unit says NotifyAccess=all. One process every
 * WatchdogSec/2 (15 s) costs nothing measurable.
 */
import { execFile } from 'node:child_process';
import type { Logger } from '../log.js';

export interface SdNotifyOptions {
  readonly log: Logger;
  /** Environment to read NOTIFY_SOCKET from (default process.env). */
  readonly env?: NodeJS.ProcessEnv;
  /** The sender program (default `systemd-notify` from PATH). */
  readonly command?: string;
  /** Give up on one message after this long, ms (default 5000, systemd's own barrier timeout). */
  readonly timeoutMs?: number;
  /**
   * Messages waiting for the sender, at most (default 8). When full, a new WATCHDOG=1 or STATUS=
   * is dropped and counted: a stuck sender must not pile up processes, and a later ping replaces
   * a lost one. READY=1 and STOPPING=1 are always queued.
   */
  readonly maxPending?: number;
}

export interface SdNotifyStats {
  readonly sent: number;
  readonly failed: number;
  readonly dropped: number;
}

const DEFAULT_TIMEOUT_MS = 5000;
const DEFAULT_MAX_PENDING = 8;

export class SdNotify {
  /** True when NOTIFY_SOCKET is set, i.e. the service manager is listening. */
  readonly enabled: boolean;
  private readonly socket: string | undefined;
  private readonly command: string;
  private readonly timeoutMs: number;
  private readonly maxPending: number;
  private chain: Promise<void> = Promise.resolve();
  private pending = 0;
  private sent = 0;
  private failed = 0;
  private dropped = 0;

  constructor(private readonly options: SdNotifyOptions) {
    const socket = (options.env ?? process.env).NOTIFY_SOCKET;
    this.socket = socket === undefined || socket === '' ? undefined : socket;
    this.enabled = this.socket !== undefined;
    this.command = options.command ?? 'systemd-notify';
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.maxPending = options.maxPending ?? DEFAULT_MAX_PENDING;
  }

  /** Start-up finished: systemd moves the unit to active and starts the watchdog. */
  ready(status?: string): Promise<boolean> {
    return this.send(status === undefined ? ['READY=1'] : ['READY=1', `STATUS=${status}`], true);
  }

  /** Keep-alive: must arrive at least every WatchdogSec (WATCHDOG_USEC). */
  watchdog(): Promise<boolean> {
    return this.send(['WATCHDOG=1'], false);
  }

  /** Shutdown began: `systemctl status` shows deactivating instead of a dead-looking service. */
  stopping(): Promise<boolean> {
    return this.send(['STOPPING=1'], true);
  }

  /** A one-line status for `systemctl status` (newlines would start a new field; they become spaces). */
  status(text: string): Promise<boolean> {
    return this.send([`STATUS=${text}`], false);
  }

  stats(): SdNotifyStats {
    return { sent: this.sent, failed: this.failed, dropped: this.dropped };
  }

  /**
   * Send one datagram holding `fields` (one per line). Messages go out one at a time in call
   * order, so READY=1 is never overtaken by a ping. Resolves true when delivered, false when
   * disabled, dropped or failed (failures are logged, never thrown: notification is best effort).
   */
  send(fields: readonly string[], essential: boolean): Promise<boolean> {
    if (this.socket === undefined) return Promise.resolve(false);
    if (!essential && this.pending >= this.maxPending) {
      this.dropped += 1;
      return Promise.resolve(false);
    }
    const args = fields.map((f) => f.replace(/[\r\n]+/g, ' '));
    this.pending += 1;
    const result = this.chain.then(() => this.spawn(args));
    this.chain = result.then(
      () => {
        this.pending -= 1;
      },
      () => {
        this.pending -= 1;
      },
    );
    return result;
  }

  private spawn(args: readonly string[]): Promise<boolean> {
    const env = { ...process.env, NOTIFY_SOCKET: this.socket };
    return new Promise((resolve) => {
      execFile(
        this.command,
        args,
        { env, timeout: this.timeoutMs, windowsHide: true },
        (err, _out, stderr) => {
          if (err === null) {
            this.sent += 1;
            resolve(true);
            return;
          }
          this.failed += 1;
          this.options.log.warn(
            { err: err.message, stderr: String(stderr).trim(), fields: args.map((a) => a.split('=')[0]) },
            'sd_notify failed',
          );
          resolve(false);
        },
      );
    });
  }
}
