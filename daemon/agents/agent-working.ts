/**
 * An agent's working memory (reducer.ts WorkingMemorySpec) and when it is written: with the
 * events of an input that has any (the agent puts `record()` into its append batch), otherwise at
 * most every `snapshotIntervalMs` while it keeps changing, and once on stop. A failed write keeps
 * the memory in memory and is retried at the next interval, not at the next input.
 */
import { toError } from '../errors.js';
import type { Logger } from '../log.js';
import { BurstLog } from '../util/burst-log.js';
import type { Clock } from '../util/clock.js';
import { freezeState, type WorkingMemorySpec } from './reducer.js';
import type { AgentStore, WorkingRecord } from './store.js';

export interface WorkingMemoryOptions {
  readonly store: AgentStore;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly agentId: string;
  /** The agent's counters: failed writes are counted there. */
  readonly counters: { workingErrors: number };
}

export class WorkingMemory<W> {
  private value: W | undefined;
  /** Changed since it was last written. */
  private dirty = false;
  /** Clock time of the last write (or attempt), ms. */
  private savedAtMs = 0;
  private readonly log: BurstLog;

  constructor(
    /** Undefined for agents without working memory: every method is then a no-op. */
    private readonly spec: WorkingMemorySpec<W> | undefined,
    private readonly o: WorkingMemoryOptions,
  ) {
    this.value = spec === undefined ? undefined : freezeState(spec.initial);
    this.log = new BurstLog({
      logger: o.logger,
      msg: 'working memory write failed; kept in memory, retried at the next interval',
    });
  }

  /** The current working memory (undefined for agents without one). */
  get current(): W | undefined {
    return this.value;
  }

  /** At start: the last written memory, or the initial one. */
  restore(stored: WorkingRecord<W> | undefined): void {
    if (this.spec === undefined) return;
    this.value = freezeState(stored?.state ?? this.spec.initial);
    this.dirty = false;
    this.savedAtMs = this.o.clock.now();
  }

  /** `forget`: back to the initial memory (the stored one is deleted with the agent's log). */
  reset(): void {
    if (this.spec !== undefined) this.value = freezeState(this.spec.initial);
    this.dirty = false;
  }

  /** The memory after a decision that returned `decided` (undefined: unchanged). */
  next(decided: W | undefined): W | undefined {
    return this.spec !== undefined && decided !== undefined ? freezeState(decided) : this.value;
  }

  /** The record to write in the batch of an input's events; undefined without working memory. */
  record(next: W | undefined, seq: number, nowMs: number): WorkingRecord<W> | undefined {
    return this.spec === undefined ? undefined : { seq, savedAtMs: nowMs, state: next as W };
  }

  /** The batch carrying `record()` was written. */
  written(next: W | undefined, nowMs: number): void {
    this.value = next;
    this.dirty = false;
    this.savedAtMs = nowMs;
  }

  /**
   * Changed by an input without events: written on its own once the interval has passed. Returns
   * the write to await, or undefined when nothing is written now (no await: the turn goes on in
   * the same tick, as a turn without working memory does).
   */
  changed(next: W | undefined, seq: number): Promise<void> | undefined {
    if (next === this.value) return undefined;
    this.value = next;
    this.dirty = true;
    if (this.spec !== undefined && this.o.clock.now() - this.savedAtMs >= this.spec.snapshotIntervalMs)
      return this.save(seq);
    return undefined;
  }

  /** On stop: the write of what changed since the last write, or undefined when nothing did. */
  flush(seq: number): Promise<void> | undefined {
    return this.dirty ? this.save(seq) : undefined;
  }

  /** Write the memory on its own (no events to carry it). Never throws. */
  private async save(seq: number): Promise<void> {
    const nowMs = this.o.clock.now();
    try {
      await this.o.store.saveWorking(this.o.agentId, { seq, savedAtMs: nowMs, state: this.value });
      this.dirty = false;
      this.log.success();
    } catch (err) {
      this.o.counters.workingErrors++;
      this.log.failure(toError(err), { agent: this.o.agentId, workingErrors: this.o.counters.workingErrors });
    }
    // Also after a failure: the next attempt waits a full interval instead of retrying per input.
    this.savedAtMs = nowMs;
  }
}
