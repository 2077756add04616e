/**
 * One configured plugin (README, "Write a plugin"; docs/plugin-protocol.md): its supervised
 * process (plugin-process.ts) is handed `init`; start() waits — bounded by `hello_timeout_ms` —
 * for its `hello`, so sources start only once it listens; then the host forwards the events its
 * capabilities allow (capabilities.ts), publishes what it may publish, and bridges its tools
 * (plugin-tools.ts).
 *
 * Replays are deterministic: at speed 0 the replay waits after each record until every component
 * is idle (replay/replay-source.ts); a plugin whose hello says `sync: true` is idle once it has
 * answered a `sync` sent after the last event it got, so its publishes land at the fixture time
 * of the record that caused them, the same in every run.
 *
 * Bounds: events wait in a realtime subscription of `queue_capacity` (drop-oldest: a plugin that
 * reads slowly loses old events, the daemon holds no more); lines are cut at `max_line_bytes`;
 * publishes, logs and health lines share a token bucket of `max_publish_per_s` (excess dropped and
 * counted), and stdout is paused while the bus pushes back.
 */
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
import { PluginProcess } from './plugin-process.js';
import { PluginTools } from './plugin-tools.js';
import { encodeLine, PROTOCOL_VERSION, parsePluginLine, toWire } from './protocol.js';

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
  /** A speed-0 replay: idle() waits for the plugin to have handled what it was sent. */
  readonly settle?: boolean;
}

/**
 * Longest wait for one `synced`, ms (wall time). A plugin that misses it is not waited for again
 * until it restarts and says hello: a stuck plugin must not stretch every record of a replay.
 */
const SYNC_TIMEOUT_MS = 10_000;

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
  /** Events written to the plugin. */
  readonly eventsSent: number;
  /** Events dropped by its subscription's QoS policy (drop-oldest: the plugin read too slowly). */
  readonly eventsDropped: number;
  /** Events its capabilities kept from it (raw media, a private tier, the config's narrowing). */
  readonly eventsWithheld: number;
  readonly published: number;
  readonly publishRefused: number;
  readonly publishDropped: number;
  /** Calls of its tools that reached it. */
  readonly toolCalls: number;
  readonly toolOk: number;
  readonly toolFailures: number;
  /** It has said hello since it last started. */
  readonly ready: boolean;
  readonly healthOk: boolean;
  readonly healthDetail: string;
  /** `synced` answers that did not come in time (speed-0 replays). */
  readonly syncTimeouts: number;
}

export class PluginHost implements Component {
  readonly name: string;
  private readonly c: PluginConfig;
  private readonly log: Logger;
  private readonly caps: Capabilities;
  private readonly tools: PluginTools;
  private readonly stateDir: string;
  private readonly proc: PluginProcess;
  private subs: Subscription[] = [];
  /** Drops of subscriptions already closed (a restart resubscribes). */
  private droppedBefore = 0;
  private helloWaiter: (() => void) | undefined;
  private hasHello = false;
  private tokens: number;
  private tokensAt = performance.now();
  readonly counts = {
    linesIn: 0,
    linesBad: 0,
    eventsSent: 0,
    eventsWithheld: 0,
    published: 0,
    publishRefused: 0,
    publishDropped: 0,
    syncTimeouts: 0,
  };
  private healthOk = true;
  private healthDetail = '';
  /** The running process answers `sync` (its hello said so, and it has not missed one). */
  private syncs = false;
  /** Events written since the last `synced`. */
  private unsynced = 0;
  private syncSeq = 0;
  private syncWait: { readonly id: string; readonly done: Promise<void>; resolve(): void } | undefined;

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
      sensors: this.c.sensors,
      tierFor: o.tierFor,
    });
    this.tools = new PluginTools({
      id: this.c.id,
      registry: o.tools,
      offer: this.c.offer_tools,
      logger: this.log,
      send: (m) => this.proc.send(m),
    });
    this.proc = new PluginProcess({
      config: this.c,
      stateDir: this.stateDir,
      cwd: o.cwd,
      logger: this.log,
      env: { EDGELOOM_PLUGIN_ID: this.c.id, EDGELOOM_PLUGIN_STATE: this.stateDir },
      onLine: (l) => this.onLine(l),
      onStderr: (line) => {
        if (this.take()) this.log.warn({ plugin: this.c.id, stderr: printable(line, 500) }, 'plugin: stderr');
      },
      onSpawn: () => {
        this.hasHello = false;
        this.proc.send({ type: 'init', protocol: PROTOCOL_VERSION, id: this.c.id, config: this.c.config });
      },
      onExit: (why) => this.onExit(why),
    });
  }

  async start(signal: AbortSignal): Promise<void> {
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
    this.proc.start();
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
    await this.unsubscribeAll();
    await this.proc.stop();
    this.syncDone();
  }

  health(): ComponentHealth {
    if (!this.proc.running) return { status: 'failed', reasons: [`plugin ${this.c.id} is not running`] };
    if (!this.hasHello) return { status: 'degraded', reasons: [`plugin ${this.c.id}: no hello yet`] };
    if (!this.healthOk) return { status: 'degraded', reasons: [`plugin ${this.c.id}: ${this.healthDetail}`] };
    return { status: 'ok' };
  }

  /**
   * Undefined when the plugin has nothing of ours to finish; else a promise that settles when it
   * answered the `sync` sent after its last event (or it exited, or SYNC_TIMEOUT_MS passed).
   */
  idle(): Promise<void> | undefined {
    if (this.syncWait !== undefined) return this.syncWait.done;
    if (this.o.settle !== true || !this.syncs || this.unsynced === 0 || !this.proc.running) return undefined;
    const id = String(++this.syncSeq);
    this.unsynced = 0;
    let resolve = (): void => {};
    const done = new Promise<void>((r) => {
      resolve = r;
    });
    const timer = setTimeout(() => {
      if (this.syncWait?.id !== id) return;
      this.counts.syncTimeouts++;
      this.syncs = false;
      this.log.warn(
        { plugin: this.c.id, code: ErrorCode.E_PLUGIN_PROTOCOL, timeoutMs: SYNC_TIMEOUT_MS },
        'plugin: no synced in time; the replay no longer waits for it',
      );
      this.syncDone();
    }, SYNC_TIMEOUT_MS);
    this.syncWait = {
      id,
      done,
      resolve: () => {
        clearTimeout(timer);
        resolve();
      },
    };
    if (!this.proc.send({ type: 'sync', id })) this.syncDone();
    return done;
  }

  stats(): PluginStats {
    const dropped = this.subs.reduce((n, s) => n + s.stats().dropped.queue_full, this.droppedBefore);
    return {
      id: this.c.id,
      running: this.proc.running,
      sandboxed: this.proc.sandboxed,
      ...this.counts,
      restarts: this.proc.restarts,
      restartDelaysMs: this.proc.restartDelaysMs,
      eventsDropped: dropped,
      linesOverlong: this.proc.overlong,
      toolCalls: this.tools.calls,
      toolOk: this.tools.ok,
      toolFailures: this.tools.failures,
      ready: this.proc.running && this.hasHello,
      healthOk: this.healthOk,
      healthDetail: this.healthDetail,
    };
  }

  /** The tools it registered (`<id>.<tool>`). */
  toolNames(): string[] {
    return this.tools.names();
  }

  get sandboxed(): boolean {
    return this.proc.sandboxed;
  }

  private onExit(why: string): void {
    this.hasHello = false;
    this.syncs = false;
    this.syncDone();
    this.tools.failAll(`plugin ${why}`);
    void this.unsubscribeAll();
  }

  private syncDone(): void {
    const w = this.syncWait;
    this.syncWait = undefined;
    w?.resolve();
  }

  private async unsubscribeAll(): Promise<void> {
    const subs = this.subs.splice(0);
    for (const s of subs) this.droppedBefore += s.stats().dropped.queue_full;
    for (const s of subs) await s.unsubscribe();
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
        this.syncs = m.sync;
        this.unsynced = 0;
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
      case 'synced':
        if (this.syncWait?.id === m.id) this.syncDone();
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
          'plugin: publish refused (outside the topics its hello declared in its own namespace)',
        );
      return;
    }
    if (!this.take()) {
      this.counts.publishDropped++;
      return;
    }
    // mayPublish allowed `plugin/<id>/<name>` or `sensor/plugin/<sensor id>` (capabilities.ts).
    const options = { source: this.name };
    try {
      const wait = topic.startsWith('sensor/')
        ? this.o.bus.publish(topic as `sensor/plugin/${string}`, payload, options)
        : this.o.bus.publish(topic as `plugin/${string}/${string}`, payload, options);
      this.counts.published++;
      // A guaranteed subscriber is full: stop reading until it has room (the pipe fills and the
      // plugin's writes block — it is slowed down, not buffered).
      if (wait !== undefined) this.proc.pauseOutput(wait);
    } catch (err) {
      this.counts.publishRefused++;
      this.log.warn({ plugin: this.c.id, err: toError(err).message }, 'plugin: publish failed');
    }
  }

  private resubscribe(): void {
    void this.unsubscribeAll();
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
    const line = encodeLine({ type: 'event', topic, ts: tsMs, payload: toWire(payload, may.binary) });
    const written = this.proc.write(line);
    if (written === false) return undefined;
    this.counts.eventsSent++;
    this.unsynced++;
    return written === true ? undefined : written;
  }
}
