/**
 * A real AF_UNIX datagram socket standing in for systemd's NOTIFY_SOCKET: notify-receiver.py in a
 * python3 child (Node cannot open unix datagram sockets), which prints one JSON line per datagram.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { REPO_ROOT } from './tools.js';

/** One datagram as the receiver saw it. */
export interface Datagram {
  /** The text: one `KEY=value` field per line. */
  readonly msg: string;
  /** Sender pid from SCM_CREDENTIALS. */
  readonly pid: number | null;
  /** File descriptors passed with it (systemd-notify's BARRIER=1 carries one); closed on receipt. */
  readonly fds: number;
  /** CLOCK_MONOTONIC at receipt, ns (the clock of Node's process.hrtime). */
  readonly mono_ns: number;
  /** Wall clock at receipt, ms. */
  readonly wall_ms: number;
}

export class NotifyReceiver {
  /** Every datagram so far, in arrival order. */
  readonly got: Datagram[] = [];

  private constructor(readonly child: ChildProcess) {}

  /** Bind `address` (a path, or `@name` in the abstract namespace); resolves once bound. */
  static async start(address: string): Promise<NotifyReceiver> {
    const child = spawn('python3', [`${REPO_ROOT}test/helpers/notify-receiver.py`, address], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const receiver = new NotifyReceiver(child);
    const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
    await new Promise<void>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`notify receiver exited ${code}`)));
      lines.on('line', (line) => {
        if (line === 'bound') resolve();
        else receiver.got.push(JSON.parse(line) as Datagram);
      });
    });
    return receiver;
  }

  /** The notifications, without systemd-notify's BARRIER=1 synchronisation datagrams. */
  messages(): Datagram[] {
    return this.got.filter((d) => d.msg !== 'BARRIER=1');
  }

  /** Their texts. */
  fields(): string[] {
    return this.messages().map((d) => d.msg);
  }

  close(): void {
    this.child.kill();
  }
}
