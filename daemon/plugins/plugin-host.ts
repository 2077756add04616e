/**
 * One configured plugin (README, "Write a plugin"; docs/plugin-protocol.md): starts its program
 * (sandbox.ts), hands it `init`, waits — bounded by `hello_timeout_ms` — for its `hello` so that
 * sources start only once it listens (a replay then feeds it the same events every time), forwards
 * the events its capabilities allow (capabilities.ts), publishes what it may publish, bridges its
 * tools (plugin-tools.ts), and supervises it: a plugin that exits is restarted after an
 * exponential backoff; stop() sends `shutdown`, then SIGTERM, then SIGKILL to its process group.
 *
 * Bounds: events wait in a realtime subscription of `queue_capacity` (drop-oldest: a plugin that
 * reads slowly loses old events, the daemon holds no more); lines are cut at `max_line_bytes`;
 * publishes, logs and health lines share a token bucket of `max_publish_per_s` (excess dropped and
 * counted), and stdout is paused while the bus pushes back.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { ToolRegistry } from '../agents/tools.js';
import type { PrivacyTier } from '../bus/topics.js';
import type { EventBus, Subscription } from '../bus/types.js';
import type { Component, ComponentHealth } from '../component.js';
import type { PluginConfig } from '../config/types.js';
import { ErrorCode, toError } from '../errors.js';
import type { Logger } from '../log.js';
import { printable } from '../util/printable.js';
import { Capabilities } from './capabilities.js';
import { LineReader } from './line-reader.js';
import { PluginTools } from './plugin-tools.js';
import { type DaemonMessage, encodeLine, PROTOCOL_VERSION, parsePluginLine, toWire } from './protocol.js';
import { spawnPlan } from './sandbox.js';

export interface PluginHostOptions {
  readonly config: PluginConfig;
  readonly bus: EventBus;
  readonly logger: Logger;
  /** The tool registry its tools join (absent: tools are ignored). */
  readonly tools?: ToolRegistry;
  /** The live privacy tier of a topic (the router's tiers). */
  readonly tierFor: (topic: string) => PrivacyTier;
  /** Its state dir is `<stateRoot>/<id>`, the one place a sandboxed plugin may write. */
  readonly stateRoot: string;
  /** Working directory (the config file's directory). */
  readonly cwd: string;
}

/** Time allowed after `shutdown`, and after SIGTERM, before the next step, ms. */
const GRACE_MS = 2_000;
/** A process that ran this long resets the backoff. */
const STABLE_MS = 30_000;
const RECENT_DELAYS = 8;

export interface PluginStats {
  readonly id: string;
  readonly running: boolean;
  readonly sandboxed: boolean;
  readonly restarts: number;
  /** The last few backoff delays chosen, ms (oldest first). */
  readonly restartDelaysMs: readonly number[];
  readonly linesIn: number;
  readonly linesOverlong: number;
  readonly linesBad: number;
  readonly eventsSent: number;
  readonly eventsWithheld: number;
  readonly published: number;
  readonly publishRefused: number;
  readonly publishDropped: number;
  readonly toolCalls: number;
  readonly toolFailures: number;
  readonly healthOk: boolean;
  readonly healthDetail: string;
}

export class PluginHost implements Component {
  readonly name: string;
  private readonly c: PluginConfig;
  private readonly log: Logger;
  private readonly caps: Capabilities;
  private readonly tools: PluginTools;
  private readonly stateDir: string;
  private child: ChildProcess | undefined;
  private subs: Subscription[] = [];
  private stopping = false;
  private restartTimer: NodeJS.Timeout | undefined;
  private failuresInRow = 0;
  private spawnedAt = 0;
  private helloWaiter: (() => void) | undefined;
  private hasHello = false;
  private tokens: number;
  private tokensAt = performance.now();
  readonly counts = {
    restarts: 0,
    linesIn: 0,
    linesBad: 0,
    eventsSent: 0,
    eventsWithheld: 0,
    published: 0,
    publishRefused: 0,
    publishDropped: 0,
  };
  /** Bounded: the last RECENT_DELAYS backoff delays, for stats and diagnosis. */
  private readonly delays: number[] = [];
  private reader: LineReader;
  private healthOk = true;
  private healthDetail = '';
  sandboxed = false;

  constructor(private readonly o: PluginHostOptions) {
    this.c = o.config;
    this.name = `plugin.${this.c.id}`;
    this.log = o.logger;
    this.stateDir = join(o.stateRoot, this.c.id);
    this.tokens = this.c.max_publish_per_s;
    this.caps = new Capabilities({
      id: this.c.id,
      narrow: this.c.subscribe,
      rawMedia: this.c.raw_media,
      network: this.c.sandbox.network,
      tierFor: o.tierFor,
    });
    this.tools = new PluginTools({
      id: this.c.id,
      registry: o.tools,
      offer: this.c.offer_tools,
      logger: this.log,
      send: (m) => this.send(m),
    });
    this.reader = new LineReader(this.c.max_line_bytes, (l) => this.onLine(l));
  }

  async start(signal: AbortSignal): Promise<void> {
    this.stopping = false;
    mkdirSync(this.stateDir, { recursive: true, mode: 0o700 });
    const hello = new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), this.c.hello_timeout_ms);
      const onAbort = (): void => resolve(false);
      signal.addEventListener('abort', onAbort, { once: true });
      this.helloWaiter = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        resolve(true);
      };
    });
    this.spawnOnce();
    if (!(await hello)) {
      // The daemon runs on without it; the supervisor keeps trying (health says degraded).
      this.helloWaiter = undefined;
      this.log.warn(
        { plugin: this.c.id, code: ErrorCode.E_PLUGIN_START, timeoutMs: this.c.hello_timeout_ms },
        'plugin: no hello in time; sources start without it',
      );
    }
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    this.restartTimer = undefined;
    for (const s of this.subs.splice(0)) await s.unsubscribe();
    const child = this.child;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    const within = (ms: number): Promise<boolean> =>
      Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms))]);
    this.send({ type: 'shutdown' });
    child.stdin?.end();
    if (await within(GRACE_MS)) return;
    this.kill(child, 'SIGTERM');
    if (await within(GRACE_MS)) return;
    this.kill(child, 'SIGKILL');
    await exited;
  }

  health(): ComponentHealth {
    if (this.child === undefined)
      return { status: 'failed', reasons: [`plugin ${this.c.id} is not running`] };
    if (!this.hasHello) return { status: 'degraded', reasons: [`plugin ${this.c.id}: no hello yet`] };
    if (!this.healthOk) return { status: 'degraded', reasons: [`plugin ${this.c.id}: ${this.healthDetail}`] };
    return { status: 'ok' };
  }

  stats(): PluginStats {
    const withheld = this.subs.reduce(
      (n, s) => n + s.stats().dropped.queue_full + s.stats().dropped.unsubscribed,
      0,
    );
    return {
      id: this.c.id,
      running: this.child !== undefined,
      sandboxed: this.sandboxed,
      ...this.counts,
      restartDelaysMs: [...this.delays],
      eventsWithheld: this.counts.eventsWithheld + withheld,
      linesOverlong: this.reader.overlong,
      toolCalls: this.tools.calls,
      toolFailures: this.tools.failures,
      healthOk: this.healthOk,
      healthDetail: this.healthDetail,
    };
  }

  /** The tools it registered (`<id>.<tool>`). */
  toolNames(): string[] {
    return this.tools.names();
  }

  private spawnOnce(): void {
    const plan = spawnPlan(this.c, { stateDir: this.stateDir, cwd: this.o.cwd });
    this.sandboxed = plan.sandboxed;
    this.reader.reset();
    this.hasHello = false;
    this.spawnedAt = performance.now();
    let child: ChildProcess;
    try {
      child = spawn(plan.file, plan.args, {
        cwd: this.o.cwd,
        stdio: ['pipe', 'pipe', 'pipe'],
        // Its own process group, so SIGTERM/SIGKILL reach bwrap's children too.
        detached: true,
        env: { ...process.env, EDGELOOM_PLUGIN_ID: this.c.id, EDGELOOM_PLUGIN_STATE: this.stateDir },
      });
    } catch (err) {
      this.onExit(`spawn failed: ${toError(err).message}`);
      return;
    }
    this.child = child;
    child.on('error', (err) => {
      this.log.warn({ plugin: this.c.id, err: err.message }, 'plugin: process error');
      // A program that could not be started emits no exit.
      if (child.pid === undefined && this.child === child) this.onExit(`spawn failed: ${err.message}`);
    });
    child.stdin?.on('error', () => {}); // EPIPE when it exits: the exit handler reports it
    child.stdout?.on('data', (chunk: Buffer) => this.reader.push(chunk));
    const errReader = new LineReader(4096, (line) => {
      if (this.take()) this.log.warn({ plugin: this.c.id, stderr: printable(line, 500) }, 'plugin: stderr');
    });
    child.stderr?.on('data', (chunk: Buffer) => errReader.push(chunk));
    child.once('exit', (code, sig) => {
      if (this.child === child) this.onExit(`exited (${sig ?? `code ${code}`})`);
    });
    this.send({ type: 'init', protocol: PROTOCOL_VERSION, id: this.c.id, config: this.c.config });
  }

  private onExit(why: string): void {
    this.child = undefined;
    this.hasHello = false;
    this.tools.failAll(`plugin ${why}`);
    const subs = this.subs.splice(0);
    for (const s of subs) void s.unsubscribe();
    if (this.stopping) return;
    if (performance.now() - this.spawnedAt > STABLE_MS) this.failuresInRow = 0;
    const delayMs = Math.min(this.c.restart.initial_ms * 2 ** this.failuresInRow, this.c.restart.max_ms);
    this.failuresInRow = Math.min(this.failuresInRow + 1, 30);
    this.delays.push(delayMs);
    if (this.delays.length > RECENT_DELAYS) this.delays.shift();
    this.log.warn(
      { plugin: this.c.id, code: ErrorCode.E_PLUGIN_EXITED, why, restartInMs: delayMs },
      'plugin: process ended; restarting after backoff',
    );
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (this.stopping) return;
      this.counts.restarts++;
      this.spawnOnce();
    }, delayMs);
  }

  private kill(child: ChildProcess, sig: NodeJS.Signals): void {
    try {
      if (child.pid !== undefined) process.kill(-child.pid, sig);
    } catch {
      child.kill(sig);
    }
  }

  private send(msg: DaemonMessage): boolean {
    const stdin = this.child?.stdin;
    if (stdin === undefined || stdin === null || stdin.destroyed || !stdin.writable) return false;
    stdin.write(encodeLine(msg));
    return true;
  }

  /** One token of the plugin's message budget (wall time: the plugin runs in real time). */
  private take(): boolean {
    const now = performance.now();
    const rate = this.c.max_publish_per_s;
    this.tokens = Math.min(rate, this.tokens + ((now - this.tokensAt) / 1000) * rate);
    this.tokensAt = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  private onLine(line: string): void {
    this.counts.linesIn++;
    const m = parsePluginLine(line);
    if (typeof m === 'string') {
      this.counts.linesBad++;
      if (this.take())
        this.log.warn({ plugin: this.c.id, code: ErrorCode.E_PLUGIN_PROTOCOL, why: m }, 'plugin: bad line');
      return;
    }
    switch (m.type) {
      case 'hello': {
        const refused = this.caps.declare(m.subscribe, m.publish);
        if (refused.length > 0)
          this.log.warn({ plugin: this.c.id, code: ErrorCode.E_PLUGIN_PROTOCOL, refused }, 'plugin: refused');
        this.tools.declare(m.tools);
        this.resubscribe();
        this.hasHello = true;
        this.log.info({ plugin: this.c.id, name: m.name, version: m.version }, 'plugin: hello');
        this.helloWaiter?.();
        this.helloWaiter = undefined;
        return;
      }
      case 'publish':
        this.publish(m.topic, m.payload);
        return;
      case 'tool_result':
        this.tools.settle(m.id, m.ok, m.result, m.error);
        return;
      case 'health':
        this.healthOk = m.ok;
        this.healthDetail = printable(m.detail, 200);
        return;
      case 'log':
        if (this.take()) this.log[m.level]({ plugin: this.c.id }, printable(m.msg, 1000));
        else this.counts.publishDropped++;
        return;
    }
  }

  private publish(topic: string, payload: Readonly<Record<string, unknown>>): void {
    if (!this.hasHello || !this.caps.mayPublish(topic)) {
      this.counts.publishRefused++;
      if (this.take())
        this.log.warn(
          { plugin: this.c.id, code: ErrorCode.E_PLUGIN_PUBLISH, topic: printable(topic, 120) },
          'plugin: publish refused (outside its declared plugin/<id>/… topics)',
        );
      return;
    }
    if (!this.take()) {
      this.counts.publishDropped++;
      return;
    }
    const leaf = topic.slice(`plugin/${this.c.id}/`.length);
    try {
      const wait = this.o.bus.publish(`plugin/${this.c.id}/${leaf}`, payload, { source: this.name });
      this.counts.published++;
      if (wait !== undefined) {
        // A guaranteed subscriber is full: stop reading until it has room (the pipe fills and the
        // plugin's writes block — it is slowed down, not buffered).
        const out = this.child?.stdout;
        out?.pause();
        wait.then(
          () => out?.resume(),
          () => out?.resume(),
        );
      }
    } catch (err) {
      this.counts.publishRefused++;
      this.log.warn({ plugin: this.c.id, err: toError(err).message }, 'plugin: publish failed');
    }
  }

  private resubscribe(): void {
    for (const s of this.subs.splice(0)) void s.unsubscribe();
    for (const pattern of new Set(this.caps.subscriptions())) {
      this.subs.push(
        this.o.bus.subscribe(pattern as string, (env) => this.forward(env.topic, env.tsMs, env.payload), {
          component: this.name,
          qos: 'realtime',
          queueCapacity: this.c.queue_capacity,
          overflow: { kind: 'drop-oldest' },
        }),
      );
    }
  }

  /** Send one event; resolves once the pipe took it, so a slow plugin backs up its own queue. */
  private forward(topic: string, tsMs: number, payload: unknown): Promise<void> | undefined {
    const may = this.caps.mayReceive(topic);
    if (!may.ok) {
      this.counts.eventsWithheld++;
      return undefined;
    }
    const stdin = this.child?.stdin;
    if (stdin === undefined || stdin === null || !stdin.writable) return undefined;
    const line = encodeLine({ type: 'event', topic, ts: tsMs, payload: toWire(payload, may.binary) });
    this.counts.eventsSent++;
    if (stdin.write(line)) return undefined;
    return new Promise<void>((resolve) => {
      const done = (): void => {
        stdin.off('drain', done);
        stdin.off('close', done);
        resolve();
      };
      stdin.once('drain', done);
      stdin.once('close', done);
    });
  }
}
