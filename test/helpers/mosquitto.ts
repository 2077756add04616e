/**
 * A real Mosquitto for integration tests: spawned on a free loopback port with a temporary config
 * (anonymous, no persistence), killed and restarted on the same port to simulate broker outages.
 * Debian installs it in /usr/sbin, which is often not on a test process's PATH, so that is tried too.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { needs, toolPath } from './tools.js';

/** Path of the mosquitto binary (on PATH or in /usr/sbin), or undefined. */
export function mosquittoPath(): string | undefined {
  return toolPath('mosquitto');
}

/** `needs({ tools: ['mosquitto'] })`: skips on a developer's machine without it, fails under CI. */
export function mosquittoAvailable(): boolean {
  return needs({ tools: ['mosquitto'] });
}

/** A free TCP port on 127.0.0.1 (bound and released; good enough for tests). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const addr = server.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      server.close(() => resolve(port));
    });
  });
}

export class Mosquitto {
  private child: ChildProcess | undefined;
  private stderr = '';

  private constructor(
    readonly port: number,
    private readonly dir: string,
    private readonly binary: string,
  ) {}

  /** Start on `port` (default: a free one) and wait until it accepts connections. */
  static async start(port?: number): Promise<Mosquitto> {
    const binary = mosquittoPath();
    if (binary === undefined) throw new Error('mosquitto not found');
    const dir = mkdtempSync(join(tmpdir(), 'edgeloom-mosquitto-'));
    const m = new Mosquitto(port ?? (await freePort()), dir, binary);
    writeFileSync(
      join(dir, 'mosquitto.conf'),
      [
        `listener ${m.port} 127.0.0.1`,
        'allow_anonymous true',
        'persistence false',
        'log_dest stderr',
        'log_type error',
        '',
      ].join('\n'),
    );
    await m.launch();
    return m;
  }

  get url(): string {
    return `mqtt://127.0.0.1:${this.port}`;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  /** Kill (SIGKILL by default: no goodbye to the clients) and wait for the exit. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (child === undefined) return;
    this.child = undefined;
    if (child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill(signal);
    });
  }

  /** Start again on the same port. */
  async restart(): Promise<void> {
    await this.kill();
    await this.launch();
  }

  /** Kill and remove the temporary directory. */
  async stop(): Promise<void> {
    await this.kill();
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async launch(): Promise<void> {
    this.stderr = '';
    const child = spawn(this.binary, ['-c', join(this.dir, 'mosquitto.conf')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr?.on('data', (d: Buffer) => {
      this.stderr = (this.stderr + d.toString()).slice(-4000);
    });
    this.child = child;
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`mosquitto exited (${child.exitCode}): ${this.stderr}`);
      if (await canConnect(this.port)) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`mosquitto did not listen on ${this.port} within 10 s: ${this.stderr}`);
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s: Socket = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
