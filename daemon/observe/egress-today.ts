/**
 * What left the device today, by destination, tallied from the audit log: cloud requests sent
 * (host, count, bytes of the request bodies) and MQTT messages carrying personal data forwarded to
 * each broker destination (count, bytes), with what the MQTT gate withheld. The dashboard's
 * routing panel shows it.
 *
 * It reads the audit, not the senders, so it shows exactly what `edgeloom audit` would: at start
 * the records written since local midnight (newest first from the log's head, bounded), then each
 * record as it is appended. A new local day starts from zero.
 */

import type { Component, ComponentHealth } from '../component.js';
import type { AuditRecord } from '../router/audit-types.js';

export interface EgressTodayOptions {
  /** The daemon's audit log (router/audit-log.ts); only these two calls are used. */
  readonly audit: {
    onAppend(listener: (record: AuditRecord) => void): () => void;
    recent(sinceMs: number, limit: number): Promise<AuditRecord[]>;
  };
  /** Wall clock, ms (the audit's time base). Default Date.now. */
  readonly now?: () => number;
}

export interface EgressTally {
  /** `cloud` (a cloud endpoint) or `mqtt` (a broker). */
  readonly via: 'cloud' | 'mqtt';
  /** The cloud host, or the broker's destination class and host (`lan mqtt.lan`). */
  readonly destination: string;
  readonly count: number;
  readonly bytes: number;
  /** Cloud: requests refused by the privacy guard; MQTT: messages withheld by the gate. */
  readonly refused: number;
}

export interface EgressTodayView {
  /** Local midnight the tally starts from, ms since epoch. */
  readonly sinceMs: number;
  readonly destinations: readonly EgressTally[];
  /** Records past the destination bound, counted under `other`. */
  readonly truncated: boolean;
}

/** Destinations kept per day; past it they are summed under `other` (a device talks to a few). */
const MAX_DESTINATIONS = 32;
/** Records read at start; a day's audit on a busy device is far below it (one MQTT record a minute). */
const SEED_LIMIT = 100_000;

function localMidnight(ms: number): number {
  const d = new Date(ms);
  d.setHours(0, 0, 0, 0);
  return d.getTime();
}

interface MqttTopicCounts {
  readonly forwarded?: number;
  readonly withheld?: number;
  readonly bytes?: number;
}

export class EgressToday implements Component {
  readonly name = 'observe.egress-today';
  private readonly now: () => number;
  private day = 0;
  private readonly tallies = new Map<string, { -readonly [K in keyof EgressTally]: EgressTally[K] }>();
  private truncated = false;
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly o: EgressTodayOptions) {
    this.now = o.now ?? Date.now;
  }

  async start(): Promise<void> {
    this.day = localMidnight(this.now());
    // Listen first, then read what is already written: a record appended in between is heard
    // live, and the seed skips every record from the first live one on.
    let firstLive = Number.POSITIVE_INFINITY;
    this.unsubscribe = this.o.audit.onAppend((r) => {
      if (firstLive === Number.POSITIVE_INFINITY) firstLive = r.seq;
      this.add(r);
    });
    for (const r of await this.o.audit.recent(this.day, SEED_LIMIT)) {
      if (r.seq < firstLive) this.add(r);
    }
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }

  health(): ComponentHealth {
    return { status: 'ok' };
  }

  view(): EgressTodayView {
    this.rollOver(this.now());
    const destinations = [...this.tallies.values()].map((t) => ({ ...t }));
    destinations.sort(
      (a, b) => b.bytes - a.bytes || b.count - a.count || a.destination.localeCompare(b.destination),
    );
    return { sinceMs: this.day, destinations, truncated: this.truncated };
  }

  private rollOver(nowMs: number): void {
    const day = localMidnight(nowMs);
    if (day === this.day) return;
    this.day = day;
    this.tallies.clear();
    this.truncated = false;
  }

  private add(r: AuditRecord): void {
    this.rollOver(this.now());
    if (r.tsMs < this.day) return;
    if (r.kind === 'egress') {
      const sent = r.outcome === 'sent';
      this.bump(
        'cloud',
        String(r.host ?? 'unknown'),
        sent ? 1 : 0,
        sent ? Number(r.bytes) || 0 : 0,
        sent ? 0 : 1,
      );
    } else if (r.kind === 'mqtt_egress') {
      let count = 0;
      let bytes = 0;
      let withheld = 0;
      for (const t of Object.values((r.topics ?? {}) as Record<string, MqttTopicCounts>)) {
        count += t.forwarded ?? 0;
        bytes += t.bytes ?? 0;
        withheld += t.withheld ?? 0;
      }
      this.bump(
        'mqtt',
        `${String(r.destination ?? 'broker')} ${String(r.host ?? '')}`.trim(),
        count,
        bytes,
        withheld,
      );
    }
  }

  private bump(
    via: 'cloud' | 'mqtt',
    destination: string,
    count: number,
    bytes: number,
    refused: number,
  ): void {
    let key = `${via} ${destination}`;
    if (!this.tallies.has(key) && this.tallies.size >= MAX_DESTINATIONS) {
      this.truncated = true;
      key = `${via} other`;
      destination = 'other';
    }
    const t = this.tallies.get(key) ?? { via, destination, count: 0, bytes: 0, refused: 0 };
    t.count += count;
    t.bytes += bytes;
    t.refused += refused;
    this.tallies.set(key, t);
  }
}
