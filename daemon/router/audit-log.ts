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

/**
 * A tool call the cloud LLM asked for, run (`allowed`) or `refused` (daemon/agents/cloud-tools.ts).
 * Like egress entries it holds no payload: the arguments' SHA-256, and the topic acted on.
 */
export interface ToolCallAuditEntry {
  readonly kind: 'cloud_tool_call';
  readonly tsMs: number;
  /** Tool name (or, for a name the registry does not know, the cloud's function name). */
  readonly tool: string;
  readonly outcome: 'allowed' | 'refused';
  /** Why it was refused (`E_CLOUD_TOOL_*`, `E_TOOL_UNKNOWN`); absent when allowed. */
  readonly code?: string;
  /** What it acts on: `mqtt.publish`'s topic. */
  readonly target?: string;
  readonly correlationId: string;
  /** `sha256:<hex>` of the arguments JSON. */
  readonly argsRef: string;
}

export type AnyAuditEntry = AuditEntry | ToolCallAuditEntry;

/** True for an egress entry (the entries without a `kind`). */
export function isEgressEntry(e: AnyAuditEntry): e is AuditEntry {
  return !('kind' in e);
}

/** Width of the zero-padded time in keys (ms since epoch fit in 15 digits until year 33658). */
const TS_DIGITS = 15;
const SEQ_DIGITS = 6;

function keyOf(tsMs: number, seq: number): string {
  return `${String(Math.max(0, Math.floor(tsMs))).padStart(TS_DIGITS, '0')}-${String(seq).padStart(SEQ_DIGITS, '0')}`;
}

export class AuditLog {
  private readonly sub: Sub<AnyAuditEntry>;
  /** Makes keys unique within one millisecond; wraps at 10^6, far above any real egress rate. */
  private seq = 0;

  constructor(db: Store) {
    this.sub = sublevel<AnyAuditEntry>(db, SUBLEVEL.audit);
  }

  async append(entry: AnyAuditEntry): Promise<void> {
    this.seq = (this.seq + 1) % 10 ** SEQ_DIGITS;
    await this.sub.put(keyOf(entry.tsMs, this.seq), entry);
  }

  /** Entries at or after `sinceMs`, oldest first, at most `limit`. */
  async list(options: { sinceMs?: number; limit?: number } = {}): Promise<AnyAuditEntry[]> {
    const out: AnyAuditEntry[] = [];
    const gte = keyOf(options.sinceMs ?? 0, 0);
    for await (const value of this.sub.values({ gte, limit: options.limit ?? -1 })) out.push(value);
    return out;
  }
}
