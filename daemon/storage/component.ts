import { readdirSync, statSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Component, ComponentHealth } from '../component.js';
import { openResources } from './open-resources.js';
import { listQuarantined, type QuarantineRecord } from './quarantine.js';
import type { Store } from './store.js';

/** The store as /metrics, the stats message and the soak benchmark see it. */
export interface StorageStats {
  /** Bytes of the LevelDB files in storage.dir (a quarantined store inside it not counted). */
  readonly sizeBytes: number;
  /** Sublevels open on the store: one per owner, constant while the daemon runs. */
  readonly openSublevels: number;
  /** Sublevels created since start; grows only when an owner reopens (a restart of it). */
  readonly createdSublevels: number;
  /** Damaged stores moved aside by this process (0 or 1: only at start-up). */
  readonly quarantines: number;
  /** Quarantined stores kept on disk beside storage.dir (see `edgeloom doctor`). */
  readonly quarantinedStores: number;
}

/**
 * Owns the daemon's one LevelDB (`storage.dir`). LevelDB allows one open handle per directory, so
 * the composition root opens it once (storage/quarantine.ts: opened, read back, and replaced when
 * damaged) and every user (agents, router/audit, outbox) works in its own sublevel. Added to the
 * controller first, this component is stopped last: everyone has flushed before the store closes.
 */
export class StorageComponent implements Component {
  readonly name = 'storage';
  private quarantinedStores = 0;

  constructor(
    readonly store: Store,
    private readonly dir: string,
    /** Delete the directory on stop (a replay's throw-away state). */
    private readonly ephemeral = false,
    /** Set when the store was damaged and replaced at this start. */
    readonly quarantined?: QuarantineRecord,
  ) {}

  async start(): Promise<void> {
    this.quarantinedStores = (await listQuarantined(this.dir)).length;
  }

  async stop(): Promise<void> {
    if (this.store.status === 'open') await this.store.close();
    if (this.ephemeral) await rm(this.dir, { recursive: true, force: true });
  }

  health(): ComponentHealth {
    if (this.quarantined === undefined) return { status: 'ok' };
    return {
      status: 'degraded',
      reasons: [`damaged store moved to ${this.quarantined.damagedDir} (${this.quarantined.code})`],
    };
  }

  stats(): StorageStats {
    const r = openResources(this.store);
    return {
      sizeBytes: dirBytes(this.dir),
      openSublevels: r?.openSublevels ?? 0,
      createdSublevels: r?.createdSublevels ?? 0,
      quarantines: this.quarantined === undefined ? 0 : 1,
      quarantinedStores: this.quarantinedStores,
    };
  }
}

/** Sum of the regular files directly in `dir` (LevelDB keeps no subdirectories). */
function dirBytes(dir: string): number {
  let total = 0;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  for (const name of names) {
    try {
      const s = statSync(join(dir, name));
      if (s.isFile()) total += s.size;
    } catch {
      // removed by a compaction between readdir and stat
    }
  }
  return total;
}
