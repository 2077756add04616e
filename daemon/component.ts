/**
 * One lifecycle for every component (zigbee2mqtt's extensions, mini-redis's shutdown): the
 * constructor only wires; `start(signal)` acquires every timer, child process, socket and handle;
 * `stop()` releases them and must be safe to call after a failed or aborted start.
 */
export interface Component {
  /** Stable name used in logs, metrics and lifecycle events, e.g. `sensor.camera.front`. */
  readonly name: string;
  /**
   * Acquire resources and begin work. `signal` aborts a start that is still running (shutdown
   * during start-up). Resolves once the component is ready to do its job.
   */
  start(signal: AbortSignal): Promise<void>;
  /** Finish in-flight work where possible and release everything. Idempotent. */
  stop(): Promise<void>;
  /** Optional health report for /healthz and the stats message. */
  health?(): ComponentHealth;
  /**
   * For components that do work outside bus handlers (a worker draining its own queue): undefined
   * when nothing accepted is still in flight, else a promise that settles when the current work
   * does. A speed-0 replay waits on it after every record so results never race the clock.
   */
  idle?(): Promise<void> | undefined;
}

export interface ComponentHealth {
  readonly status: 'ok' | 'degraded' | 'failed';
  readonly reasons?: readonly string[];
}
