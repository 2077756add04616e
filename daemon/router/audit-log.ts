/**
 * The egress audit log: one LevelDB entry per request that left (or was refused at) the device,
 * in the `audit` sublevel of the shared store. Keys are the zero-padded clock time plus a
 * sequence number, so iteration order is time order and `--since` is a range scan.
 *
 * Entries never hold the payload itself (that would be a second copy of personal data); the
 * `payloadRef` is a SHA-256 of the bytes sent plus the bus envelope id they came from.
 */
import { type Store, SUBLEVEL, type Sub, sublevel } from './storage.js';

export type EgressDataKind = 'audio' | 'image' | 'text' | 'labels' | 'none';

export interface AuditEntry {
  /** Clock time the request was handed to the network (or refused), ms since epoch. */
  readonly tsMs: number;
  /** What the body carried. */
  readonly dataKind: EgressDataKind;
  /** Request body size, bytes. */
  readonly bytes: number;
  /** Destination host (and port), e.g. `api.openai.com`. */
  readonly host: string;
  /** Request path, e.g. `/v1/audio/transcriptions`. */
  readonly path: string;
  /** The router's reason code for sending it (e.g. `in_hybrid_band`). */
  readonly reason: string;
  readonly tier: string;
  readonly correlationId: string;
  /** `sha256:<hex>` of the body, and the envelope id it was derived from. */
  readonly payloadRef: string;
  /** `sent`, or `refused` when the privacy guard stopped it. */
  readonly outcome: 'sent' | 'refused';
}

/** Width of the zero-padded time in keys (ms since epoch fit in 15 digits until year 33658). */
const TS_DIGITS = 15;
const SEQ_DIGITS = 6;

function keyOf(tsMs: number, seq: number): string {
  return `${String(Math.max(0, Math.floor(tsMs))).padStart(TS_DIGITS, '0')}-${String(seq).padStart(SEQ_DIGITS, '0')}`;
}

export class AuditLog {
  private readonly sub: Sub<AuditEntry>;
  /** Makes keys unique within one millisecond; wraps at 10^6, far above any real egress rate. */
  private seq = 0;

  constructor(db: Store) {
    this.sub = sublevel<AuditEntry>(db, SUBLEVEL.audit);
  }

  async append(entry: AuditEntry): Promise<void> {
    this.seq = (this.seq + 1) % 10 ** SEQ_DIGITS;
    await this.sub.put(keyOf(entry.tsMs, this.seq), entry);
  }

  /** Close the `audit` sublevel (a resource of the shared store until closed). */
  async close(): Promise<void> {
    await this.sub.close();
  }

  /** Entries at or after `sinceMs`, oldest first, at most `limit`. */
  async list(options: { sinceMs?: number; limit?: number } = {}): Promise<AuditEntry[]> {
    const out: AuditEntry[] = [];
    const gte = keyOf(options.sinceMs ?? 0, 0);
    for await (const value of this.sub.values({ gte, limit: options.limit ?? -1 })) out.push(value);
    return out;
  }
}
