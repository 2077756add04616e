/**
 * ModelManager: loads models lazily, shares one load between concurrent callers, unloads models
 * nobody has used for a while, and refuses a load that would take the daemon past its memory
 * budget instead of letting the kernel's OOM killer pick a victim on a 1 GB board.
 *
 * The accounting is an estimate by design: a baseline for the process (its RSS when the manager
 * was built, or a configured figure) plus each loaded model's manifest `memory_mb`, measured once
 * per model with scripts/measure-model-memory.ts. Reading RSS at load time instead would charge a
 * model for whatever else the process allocated meanwhile.
 *
 * Generic over what a "loaded model" is: anything with `release()` (an OnnxModel, a Whisper
 * encoder+decoder pair, a face detector holding two sessions). Recent loads and unloads are kept
 * for the dashboard (model-events.ts).
 */
import type { Component, ComponentHealth } from '../component.js';
import { EdgeloomError, ErrorCode, toError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import { ChecksumCache } from './checksum.js';
import type { Manifest, ModelEntry } from './manifest.js';
import { type ModelEvent, ModelEvents } from './model-events.js';
import type { ModelLatency, ModelLoader, Releasable } from './releasable.js';
import { assertFilesOk, checkEntryFiles } from './verify.js';

export type { ModelLatency, ModelLoader, Releasable } from './releasable.js';

export interface ModelManagerOptions {
  readonly clock: Clock;
  readonly logger: Logger;
  /** Memory the daemon may use, MiB (config `budget.memory_mb`, default 2048). */
  readonly budgetMb: number;
  /**
   * Memory the process uses without any model, MiB. Default: its RSS when the manager is built
   * (build it before loading models, after the rest of the graph is wired).
   */
  readonly baselineMb?: number;
  /** Manifest supplying each model's `memory_mb` and files. */
  readonly manifest: Manifest;
  /** Directory the manifest's relative file paths are under. */
  readonly modelsDir: string;
  /** sha256 cache (default: in memory only). Pass one with a state-dir file to skip re-hashing across starts. */
  readonly checksums?: ChecksumCache;
  /**
   * Unload models not acquired for this long, ms; 0 disables (default 0: a daemon with a steady
   * camera keeps its models; enable on boards where Whisper should leave memory between phrases).
   */
  readonly idleUnloadMs?: number;
  /** How often the idle sweep runs, ms (default idleUnloadMs / 4, at least 1000). */
  readonly idleCheckIntervalMs?: number;
  /**
   * Load every registered model in start() (default false: lazily on first use). The daemon
   * preloads so that READY=1 means the first frame and utterance will not wait for a load, and a
   * missing model fails start-up instead of the first inference.
   */
  readonly preload?: boolean;
}

export interface RegisterOptions {
  /** Manifest entry id to charge and verify, when it differs from the registered id. */
  readonly manifestId?: string;
  /** Override the manifest's memory_mb (a model registered without a manifest entry needs this). */
  readonly memoryMb?: number;
  /**
   * Further manifest entries whose files are checked before each load and whose memory_mb is
   * added to this model's (a face stage is one unit of a detector and a classifier: loading one
   * without the other is useless, so they load and unload together).
   */
  readonly alsoManifestIds?: readonly string[];
}

export interface LoadedModelStatus {
  readonly id: string;
  readonly state: 'loading' | 'loaded';
  readonly memoryMb: number;
  /** Clock time of the last acquire, ms. */
  readonly lastUsedMs: number;
  /** Times it was loaded since start (reloads after idle unloads count). */
  readonly loads: number;
  /** Calls running on it now (ModelRef.use); an in-use model is never unloaded as idle. */
  readonly inUse: number;
}

export interface ModelManagerStatus {
  readonly budgetMb: number;
  readonly baselineMb: number;
  /** Baseline plus every loaded or loading model. */
  readonly usedMb: number;
  readonly models: readonly LoadedModelStatus[];
  /** Recent loads and unloads, oldest first (model-events.ts). */
  readonly events: readonly ModelEvent[];
}

/** A typed handle returned by register(), so callers need no cast. */
export interface ModelRef<T> {
  readonly id: string;
  acquire(): Promise<T>;
  /**
   * Run `fn` on the loaded model (loading it first if needed). The model counts as in use until
   * `fn` settles, so the idle sweep and the memory guard cannot release it under a running
   * inference. The way stages should call models: one use per inference.
   */
  use<R>(fn: (model: T) => Promise<R>): Promise<R>;
}

interface Slot {
  readonly id: string;
  readonly loader: ModelLoader<Releasable>;
  /** Entries whose files are verified before each load (the model's own first). */
  readonly entries: readonly ModelEntry[];
  readonly memoryMb: number;
  /** In-flight or finished load; undefined while unloaded. */
  load: Promise<Releasable> | undefined;
  model: Releasable | undefined;
  lastUsedMs: number;
  loads: number;
  inUse: number;
}

const MIB = 1024 * 1024;

export class ModelManager implements Component {
  readonly name = 'models';
  private readonly slots = new Map<string, Slot>();
  private readonly baselineMb: number;
  private readonly checksums: ChecksumCache;
  private idleTimer: TimerHandle | undefined;
  private stopped = false;
  private loadFailures = 0;
  private readonly events = new ModelEvents();

  constructor(private readonly options: ModelManagerOptions) {
    this.baselineMb = options.baselineMb ?? Math.ceil(process.memoryUsage.rss() / MIB);
    this.checksums = options.checksums ?? new ChecksumCache();
    if (!(options.budgetMb > 0)) {
      throw new EdgeloomError(
        ErrorCode.E_MODEL_BUDGET,
        `budget.memory_mb must be > 0 (got ${options.budgetMb})`,
        {
          where: 'budget.memory_mb',
        },
      );
    }
  }

  /**
   * Declare a model. Nothing is loaded until the first acquire. Throws `E_MODEL_UNKNOWN` when the
   * id has no manifest entry and no `memoryMb` was given (the budget could not account for it).
   */
  register<T extends Releasable>(
    id: string,
    loader: ModelLoader<T>,
    options: RegisterOptions = {},
  ): ModelRef<T> {
    if (this.slots.has(id)) {
      throw new EdgeloomError(ErrorCode.E_MODEL_DUPLICATE, `model ${id} is already registered`, {
        where: id,
      });
    }
    const ids = [options.manifestId ?? id, ...(options.alsoManifestIds ?? [])];
    const entries: ModelEntry[] = [];
    for (const mid of ids) {
      const entry = this.options.manifest.models.find((m) => m.id === mid);
      if (entry !== undefined) entries.push(entry);
      else if (options.memoryMb === undefined) {
        throw new EdgeloomError(
          ErrorCode.E_MODEL_UNKNOWN,
          `model ${id}: no manifest entry "${mid}" and no memoryMb given, so its memory cannot be budgeted`,
          { where: id },
        );
      }
    }
    const memoryMb = options.memoryMb ?? entries.reduce((sum, e) => sum + e.memory_mb, 0);
    this.slots.set(id, {
      id,
      loader,
      entries,
      memoryMb,
      load: undefined,
      model: undefined,
      lastUsedMs: 0,
      loads: 0,
      inUse: 0,
    });
    return {
      id,
      acquire: () => this.acquire(id) as Promise<T>,
      use: <R>(fn: (model: T) => Promise<R>) => this.use(id, fn as (model: Releasable) => Promise<R>),
    };
  }

  /** See ModelRef.use. */
  async use<R>(id: string, fn: (model: Releasable) => Promise<R>): Promise<R> {
    const slot = this.slots.get(id);
    if (slot === undefined) return fn(await this.acquire(id)); // acquire rejects with E_MODEL_UNKNOWN
    // Counted as in use from the start, so an idle sweep cannot take it while it loads.
    slot.inUse++;
    try {
      return await fn(await this.acquire(id));
    } finally {
      slot.inUse--;
      // The end of a use counts too: a 20 s transcription must not look idle for its 20 s.
      slot.lastUsedMs = this.options.clock.now();
    }
  }

  /**
   * Load every registered model now (the daemon's start: READY=1 should mean the first utterance
   * and the first frame do not wait for a load). Resolves when all are loaded; rejects with the
   * first failure after the others settle.
   */
  async preload(): Promise<void> {
    const results = await Promise.allSettled([...this.slots.keys()].map((id) => this.acquire(id)));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed !== undefined) throw failed.reason;
  }

  /** Latency of every loaded model's sessions. */
  latency(): ModelLatency[] {
    const out: ModelLatency[] = [];
    for (const s of this.slots.values()) {
      if (s.model?.latency === undefined) continue;
      try {
        out.push(...s.model.latency());
      } catch {
        // A model mid-release: leave it out of this snapshot.
      }
    }
    return out;
  }

  /**
   * The loaded model, loading it first if needed; concurrent calls share one load. Each call
   * counts as a use for the idle sweep, so acquire per use rather than holding the result.
   * Throws `E_MODEL_BUDGET` when it does not fit, `E_MODEL_MISSING` / `E_MODEL_CHECKSUM` when a
   * file is absent or altered, and whatever the loader throws (the next acquire retries).
   */
  acquire(id: string): Promise<Releasable> {
    const slot = this.slots.get(id);
    if (slot === undefined) {
      const known = [...this.slots.keys()].join(', ') || 'none';
      return Promise.reject(
        new EdgeloomError(ErrorCode.E_MODEL_UNKNOWN, `model ${id} is not registered (registered: ${known})`, {
          where: id,
        }),
      );
    }
    if (this.stopped) {
      return Promise.reject(
        new EdgeloomError(ErrorCode.E_MODEL_STOPPED, `model ${id}: the model manager is stopped`),
      );
    }
    slot.lastUsedMs = this.options.clock.now();
    if (slot.load !== undefined) return slot.load;
    // Reserve the memory now (synchronously) so two different models loading at once cannot
    // both pass the check against the same free memory.
    try {
      this.checkBudget(slot);
    } catch (err) {
      return Promise.reject(err);
    }
    const load = this.load(slot);
    slot.load = load;
    load.catch(() => {
      if (slot.load === load) slot.load = undefined;
    });
    return load;
  }

  /** Release every loaded model not acquired within `idleMs`; resolves to the ids unloaded. */
  async unloadIdle(idleMs: number): Promise<string[]> {
    const cutoff = this.options.clock.now() - idleMs;
    const isIdle = (s: Slot): boolean => s.model !== undefined && s.inUse === 0 && s.lastUsedMs <= cutoff;
    const unloaded: string[] = [];
    for (const s of [...this.slots.values()]) {
      // Checked again right before each release: a use may have begun while an earlier one awaited.
      if (!isIdle(s)) continue;
      await this.unloadSlot(s, `idle for ${idleMs} ms`);
      unloaded.push(s.id);
    }
    return unloaded;
  }

  /** Release one model now (no-op when it is not loaded). */
  async unload(id: string): Promise<void> {
    const slot = this.slots.get(id);
    if (slot?.model !== undefined) await this.unloadSlot(slot, 'on request');
  }

  status(): ModelManagerStatus {
    const models: LoadedModelStatus[] = [];
    for (const s of this.slots.values()) {
      if (s.load === undefined) continue;
      models.push({
        id: s.id,
        state: s.model === undefined ? 'loading' : 'loaded',
        memoryMb: s.memoryMb,
        lastUsedMs: s.lastUsedMs,
        loads: s.loads,
        inUse: s.inUse,
      });
    }
    const { budgetMb } = this.options;
    return {
      budgetMb,
      baselineMb: this.baselineMb,
      usedMb: this.usedMb(),
      models,
      events: this.events.list(),
    };
  }

  async start(signal: AbortSignal): Promise<void> {
    signal.throwIfAborted();
    this.stopped = false;
    if (this.options.preload === true) await this.preload();
    const idleMs = this.options.idleUnloadMs ?? 0;
    if (idleMs > 0) {
      const everyMs = this.options.idleCheckIntervalMs ?? Math.max(1000, Math.floor(idleMs / 4));
      this.idleTimer = this.options.clock.setInterval(() => {
        this.unloadIdle(idleMs).catch((err: unknown) =>
          this.options.logger.error({ err: toError(err) }, 'idle model unload failed'),
        );
      }, everyMs);
    }
  }

  /** Stop the sweep and release every model (waiting for loads in flight). Idempotent. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.idleTimer?.cancel();
    this.idleTimer = undefined;
    for (const s of this.slots.values()) {
      if (s.load === undefined) continue;
      await s.load.catch(() => undefined);
      if (s.model !== undefined) await this.unloadSlot(s, 'stopping');
    }
  }

  health(): ComponentHealth {
    return this.loadFailures === 0
      ? { status: 'ok' }
      : { status: 'degraded', reasons: [`${this.loadFailures} model load(s) failed`] };
  }

  private usedMb(except?: Slot): number {
    let used = this.baselineMb;
    for (const s of this.slots.values()) if (s !== except && s.load !== undefined) used += s.memoryMb;
    return used;
  }

  private checkBudget(slot: Slot): void {
    const usedMb = this.usedMb(slot);
    if (usedMb + slot.memoryMb <= this.options.budgetMb) return;
    const loaded = [...this.slots.values()]
      .filter((s) => s !== slot && s.load !== undefined)
      .map((s) => `${s.id} (${s.memoryMb} MiB)`);
    throw new EdgeloomError(
      ErrorCode.E_MODEL_BUDGET,
      `model ${slot.id} needs ${slot.memoryMb} MiB but only ${Math.max(0, this.options.budgetMb - usedMb)} MiB of ` +
        `budget.memory_mb ${this.options.budgetMb} MiB is free: baseline ${this.baselineMb} MiB, loaded ` +
        `${loaded.length > 0 ? loaded.join(', ') : 'none'}; raise budget.memory_mb or unload a model`,
      { where: slot.id },
    );
  }

  private async load(slot: Slot): Promise<Releasable> {
    const log = this.options.logger;
    const startedMs = this.options.clock.monotonicMs();
    try {
      for (const entry of slot.entries) {
        const checks = await checkEntryFiles(entry, this.options.modelsDir, this.checksums);
        assertFilesOk(slot.id, checks, (c) =>
          log.warn(
            { model: slot.id, file: c.absPath, sha256: c.actualSha256 },
            'model file has no pinned sha256',
          ),
        );
      }
      const model = await slot.loader();
      slot.model = model;
      slot.loads++;
      const loadMs = Math.round(this.options.clock.monotonicMs() - startedMs);
      this.events.add({ model: slot.id, kind: 'load', loadMs });
      log.info({ model: slot.id, memoryMb: slot.memoryMb, loadMs }, 'model loaded');
      if (this.stopped) await this.unloadSlot(slot, 'stopped during load');
      return model;
    } catch (err) {
      this.loadFailures++;
      this.events.add({ model: slot.id, kind: 'load_failed', why: toError(err).message });
      log.error({ model: slot.id, err: toError(err) }, 'model load failed');
      throw err;
    }
  }

  private async unloadSlot(slot: Slot, why: string): Promise<void> {
    const model = slot.model;
    slot.model = undefined;
    slot.load = undefined;
    if (model === undefined) return;
    try {
      await model.release();
      this.events.add({ model: slot.id, kind: 'unload', why });
      this.options.logger.info({ model: slot.id, why }, 'model unloaded');
    } catch (err) {
      this.options.logger.error({ model: slot.id, err: toError(err) }, 'model release failed');
    }
  }
}
