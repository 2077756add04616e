import { publishLifecycle } from './bus/lifecycle.js';
import type { EventBus } from './bus/types.js';
import type { Component, ComponentHealth } from './component.js';
import { EdgeloomError, ErrorCode, isEdgeloomError, toError } from './errors.js';
import type { Logger } from './log.js';

export interface ControllerOptions {
  readonly bus: EventBus;
  readonly logger: Logger;
  /** How long stop() waits for each component before moving on, ms. */
  readonly stopTimeoutMs?: number;
}

type Phase = 'idle' | 'starting' | 'running' | 'stopping' | 'stopped';

/**
 * Starts components in the order they were added and stops them in reverse (a sensor stops
 * before the stage that consumes it, the MQTT bridge last so late actions still leave).
 * A start that fails stops what was already started and rethrows; a stop() during start-up
 * aborts the start that is running.
 */
export class Controller {
  private readonly components: Component[] = [];
  private readonly started: Component[] = [];
  private readonly startAbort = new AbortController();
  private phase: Phase = 'idle';
  private readonly stopTimeoutMs: number;
  /** The running start(), settled (never rejecting) once it finished or rolled back. */
  private startRun: Promise<void> | undefined;
  /** The component whose start() or stop() is running now (both run one component at a time). */
  private current: { readonly name: string; readonly phase: 'starting' | 'stopping' } | undefined;
  /** Components whose stop() outlived stopTimeoutMs: the controller moved on, they may still run. */
  private readonly notStopped = new Set<string>();

  constructor(private readonly options: ControllerOptions) {
    this.stopTimeoutMs = options.stopTimeoutMs ?? 5_000; // 5 s per component
  }

  add(component: Component): this {
    if (this.phase !== 'idle') {
      throw new EdgeloomError(ErrorCode.E_CONTROLLER_STATE, `cannot add ${component.name} after start`, {
        where: 'controller',
      });
    }
    if (this.components.some((c) => c.name === component.name)) {
      throw new EdgeloomError(ErrorCode.E_CONTROLLER_DUPLICATE, `component ${component.name} added twice`, {
        where: 'controller',
      });
    }
    this.components.push(component);
    return this;
  }

  list(): readonly Component[] {
    return this.components;
  }

  /**
   * What start-up or shutdown is waiting for right now, e.g. `source.replay (starting)`, plus the
   * components whose stop timed out: what a shutdown deadline names when it passes.
   */
  pending(): string[] {
    const out = this.current === undefined ? [] : [`${this.current.name} (${this.current.phase})`];
    for (const name of this.notStopped) {
      out.push(`${name} (stop did not finish within ${this.stopTimeoutMs} ms)`);
    }
    return out;
  }

  /** Health of every started component (name → report); components without health() report ok. */
  health(): Record<string, ComponentHealth> {
    const out: Record<string, ComponentHealth> = {};
    for (const c of this.components) {
      const running = this.started.includes(c);
      out[c.name] = running
        ? (c.health?.() ?? { status: 'ok' })
        : { status: 'failed', reasons: ['not running'] };
    }
    return out;
  }

  async start(): Promise<void> {
    if (this.phase !== 'idle')
      throw new EdgeloomError(ErrorCode.E_CONTROLLER_STATE, `start() in phase ${this.phase}`);
    this.phase = 'starting';
    const run = this.startAll();
    this.startRun = run.catch(() => {});
    await run;
  }

  private async startAll(): Promise<void> {
    const { logger, bus } = this.options;
    let abortedIn: string | undefined;
    for (const component of this.components) {
      if (this.startAbort.signal.aborted) break;
      const t0 = performance.now();
      this.current = { name: component.name, phase: 'starting' };
      try {
        await component.start(this.startAbort.signal);
      } catch (err) {
        this.current = undefined;
        const e = toError(err);
        if (this.startAbort.signal.aborted) {
          // Not a failure: the shutdown asked this start to stop, and it did.
          logger.info({ component: component.name, err: e.message }, 'start-up aborted by shutdown');
          this.started.push(component); // its stop() releases what the partial start acquired
          abortedIn = component.name;
          break;
        }
        const code = e instanceof EdgeloomError ? e.code : ErrorCode.E_COMPONENT_START;
        logger.error({ component: component.name, err: e }, 'component failed to start');
        publishLifecycle(bus, 'component_failed', component.name, e)?.catch(() => {});
        await this.stopStarted();
        this.phase = 'stopped';
        throw new EdgeloomError(code, `${component.name} failed to start: ${e.message}`, {
          where: component.name,
          cause: e,
        });
      }
      this.current = undefined;
      this.started.push(component);
      logger.debug({ component: component.name, startMs: Math.round(performance.now() - t0) }, 'started');
      publishLifecycle(bus, 'component_started', component.name)?.catch(() => {});
    }
    if (this.startAbort.signal.aborted) {
      await this.stopStarted();
      this.phase = 'stopped';
      throw new EdgeloomError(
        ErrorCode.E_START_ABORTED,
        `start-up aborted by shutdown${abortedIn === undefined ? '' : ` while ${abortedIn} was starting`}`,
        { where: abortedIn ?? 'controller' },
      );
    }
    this.phase = 'running';
    publishLifecycle(bus, 'system_started')?.catch(() => {});
  }

  /** Stop everything that started, in reverse order. Safe to call at any phase, and more than once. */
  async stop(): Promise<void> {
    if (this.phase === 'stopped' || this.phase === 'stopping') return;
    const wasStarting = this.phase === 'starting';
    this.phase = 'stopping';
    this.startAbort.abort(new EdgeloomError(ErrorCode.E_START_ABORTED, 'shutdown requested during start-up'));
    publishLifecycle(this.options.bus, 'system_stopping')?.catch(() => {});
    // start() sees the abort and stops what it started; wait for that, so a caller of stop()
    // (the shutdown handler) never reports "stopped" while components are still running.
    if (wasStarting) return this.startRun;
    await this.stopStarted();
    this.phase = 'stopped';
  }

  private async stopStarted(): Promise<void> {
    const { logger, bus } = this.options;
    while (this.started.length > 0) {
      const component = this.started.pop()!;
      this.current = { name: component.name, phase: 'stopping' };
      try {
        await withTimeout(component.stop(), this.stopTimeoutMs, component.name);
        publishLifecycle(bus, 'component_stopped', component.name)?.catch(() => {});
      } catch (err) {
        const e = toError(err);
        if (isEdgeloomError(e, ErrorCode.E_STOP_TIMEOUT)) this.notStopped.add(component.name);
        logger.warn({ component: component.name, err: e }, 'component did not stop cleanly');
        publishLifecycle(bus, 'component_failed', component.name, e)?.catch(() => {});
      }
      this.current = undefined;
    }
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(
          new EdgeloomError(ErrorCode.E_STOP_TIMEOUT, `${what} did not stop within ${ms} ms`, {
            where: what,
          }),
        ),
      ms,
    );
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
