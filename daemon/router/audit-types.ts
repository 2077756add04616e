/**
 * What the audit log stores (audit-log.ts): the record kinds and their fields. Types only, plus
 * the egress guard, so readers of records (the CLI, the dashboard's tally) need not load the log.
 */

export type EgressDataKind = 'audio' | 'image' | 'text' | 'labels' | 'none';

/** A cloud request that left (or was refused at) the device; what egress.ts appends. */
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

export type AuditKind =
  | 'egress'
  | 'mqtt_egress'
  | 'privacy'
  | 'command'
  | 'tool_call'
  | 'sensor_pause'
  | 'forget';

/**
 * A tool call the cloud LLM asked for, run (`allowed`) or `refused` (daemon/agents/cloud-tools.ts).
 * Like egress entries it holds no payload: the arguments' SHA-256, and the topic acted on.
 */
export interface ToolCallAuditEntry {
  readonly kind: 'tool_call';
  /** The event's time on the daemon clock (a replay's fixture time); the record is stamped in wall time. */
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

/** True for a cloud egress record (what egress.ts appends). */
export function isEgressEntry(r: AuditRecord): r is AuditRecord & AuditEntry {
  return r.kind === 'egress';
}

/** Any other record: a kind, an outcome and the fields that describe it (never personal content). */
export interface AuditRecordInput {
  readonly kind: AuditKind;
  /** e.g. `sent`, `refused`, `applied`, `ok`, `E_CMD_AUTH`, `summary`. */
  readonly outcome: string;
  /** The event's own time when it is not now (a replay's fixture time), ms since epoch. */
  readonly tsMs?: number;
  readonly [field: string]: unknown;
}

/** A stored record. Egress records also carry every AuditEntry field. */
export interface AuditRecord {
  /** Position in the chain, from 1. */
  readonly seq: number;
  /** Wall-clock time the record was appended, ms since epoch. */
  readonly tsMs: number;
  readonly kind: AuditKind;
  readonly outcome: string;
  /** The event's own time, when it differed from `tsMs` by more than a second. */
  readonly eventTsMs?: number;
  /** Hash of the previous record (or of the base the retained records continue from). */
  readonly prev: string;
  /** SHA-256 (hex) of this record's canonical JSON without `hash`. */
  readonly hash: string;
  readonly [field: string]: unknown;
}

export interface AuditProblem {
  readonly seq: number;
  readonly problem: string;
}

export interface AuditVerification {
  readonly ok: boolean;
  /** Records checked. */
  readonly checked: number;
  /** Seq of the first record kept (records before it were pruned by the bound or erased by forget). */
  readonly fromSeq: number;
  readonly headSeq: number;
  /** The first problems found, in chain order (at most 20). */
  readonly problems: readonly AuditProblem[];
}
