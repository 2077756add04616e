import { rm } from 'node:fs/promises';
import type { Component } from './component.js';
import type { Store } from './router/storage.js';

/**
 * Owns the daemon's one LevelDB (`storage.dir`). LevelDB allows one open handle per directory, so
 * the composition root opens it once and every user (agents, router/audit, outbox) works in its
 * own sublevel. Added to the controller first, this component is stopped last: everyone has
 * flushed before the store closes.
 */
export class StorageComponent implements Component {
  readonly name = 'storage';

  constructor(
    readonly store: Store,
    private readonly dir: string,
    /** Delete the directory on stop (a replay's throw-away state). */
    private readonly ephemeral = false,
  ) {}

  async start(): Promise<void> {}

  async stop(): Promise<void> {
    if (this.store.status === 'open') await this.store.close();
    if (this.ephemeral) await rm(this.dir, { recursive: true, force: true });
  }
}
