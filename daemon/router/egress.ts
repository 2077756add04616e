/**
 * The only egress. Every byte edgeloom sends off the device goes through `Egress.transmit`, the
 * only `fetch` in the daemon. Three layers keep data where its privacy tier says:
 *
 * 1. `redactForTier` strips what a tier does not allow before a request is built
 *    (sensitive: no audio, no images; private: nothing unless the user explicitly asked, and then
 *    text only; local_only: nothing).
 * 2. `guardRequest`, structural, on the finished request right before it goes out: every value
 *    must sit in a field its endpoint declares (egress-shape.ts), and a field declared raw (an
 *    audio file, an image URL) leaves only under `public`; derived fields only where the tier
 *    allows derived data. A request with an undeclared field is refused under every tier.
 * 3. Behind it the byte inspector (raw-detect.ts): a declared text value that holds samples or
 *    an image in any encoding (hex, number lists, base64 at any alignment, binary) counts as raw,
 *    and so does a body the caller declared as audio or image. So a bug elsewhere cannot leak raw
 *    audio under a non-public tier, whatever field it lands in.
 *
 * Refusals are `E_PRIVACY_VIOLATION`, counted and audited as `refused`. Every request that passes
 * is appended to the audit log before the first byte is written.
 */
import { createHash } from 'node:crypto';
import type { PrivacyTier } from '../bus/topics.js';
import { EdgeloomError, ErrorCode } from '../errors.js';
import type { Logger } from '../log.js';
import type { Clock } from '../util/clock.js';
import type { AuditLog, EgressDataKind } from './audit-log.js';
import { declaredValues } from './egress-shape.js';
import { type CloudData, egressAllowed } from './policy.js';
import { rawMediaIn } from './raw-detect.js';
import type { RouterTelemetry } from './telemetry.js';

/** Why and for whom a request is sent; recorded in the audit log. */
export interface EgressContext {
  readonly tier: PrivacyTier;
  /** The router's reason code. */
  readonly reason: string;
  readonly correlationId: string;
  /** Bus envelope id the payload was derived from. */
  readonly sourceId: string;
  /** The user asked for the cloud for this item (relaxes `private` for text only). */
  readonly explicitUserRequest?: boolean;
}

export interface OutboundRequest {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
  /** What the caller says the body carries (checked, not trusted). */
  readonly dataKind: EgressDataKind;
  readonly context: EgressContext;
  readonly signal: AbortSignal;
}

/** Sends one request; the cloud client's only way out. */
export type Transmit = (request: OutboundRequest) => Promise<Response>;

/** Content a cloud call may carry, before redaction. */
export interface CloudContent {
  readonly text?: string;
  readonly labels?: Readonly<Record<string, string | number>>;
  readonly audio?: { readonly samples: Int16Array; readonly sampleRateHz: number };
  readonly image?: Buffer;
}

/** Drop every part of `content` the tier does not let leave; `removed` names what was dropped. */
export function redactForTier(
  content: CloudContent,
  tier: PrivacyTier,
  explicitUserRequest = false,
): { content: CloudContent; removed: string[] } {
  const removed: string[] = [];
  const out: { -readonly [K in keyof CloudContent]: CloudContent[K] } = {};
  const keep = <K extends keyof CloudContent>(key: K, data: CloudData): void => {
    if (content[key] === undefined) return;
    if (egressAllowed(tier, data, explicitUserRequest)) out[key] = content[key];
    else removed.push(key);
  };
  keep('text', 'derived');
  keep('labels', 'derived');
  keep('audio', 'raw');
  keep('image', 'raw');
  return { content: out, removed };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
/** Media signatures as raw bytes: a JPEG or PNG start (a WAV header is hasRiffWave). */
const RAW_SIGNATURES: readonly Buffer[] = [
  Buffer.from([0xff, 0xd8, 0xff]),
  Buffer.from([0x89, 0x50, 0x4e, 0x47]),
];

/** A WAV header: `RIFF`, 4 size bytes, `WAVE` (the words alone may occur in transcript text). */
function hasRiffWave(body: Buffer): boolean {
  for (let i = body.indexOf('RIFF'); i >= 0; i = body.indexOf('RIFF', i + 1)) {
    if (body.toString('latin1', i + 8, i + 12) === 'WAVE') return true;
  }
  return false;
}

/**
 * What a whole body carries, looked at as bytes only: raw media/binary, derived text, or nothing.
 * (The guard's structural check reads the fields; this is the view without any structure.)
 */
export function classifyBody(body: Buffer, declared: EgressDataKind): CloudData | 'empty' {
  if (declared === 'audio' || declared === 'image') return 'raw';
  if (RAW_SIGNATURES.some((sig) => body.includes(sig)) || hasRiffWave(body)) return 'raw';
  if (body.includes(0)) return 'raw';
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    return 'raw'; // not text: audio samples or some other binary
  }
  if (body.length === 0) return 'empty';
  return rawMediaIn(text) === undefined ? 'derived' : 'raw';
}

/** What the guard looks at. */
export type GuardedRequest = Pick<OutboundRequest, 'url' | 'headers' | 'body' | 'dataKind' | 'context'>;

/**
 * The structural guard with the byte inspector behind it (see the module comment). Throws
 * `E_PRIVACY_VIOLATION` naming the field and why when the request may not leave under its tier.
 */
export function guardRequest(request: GuardedRequest): void {
  const { tier, explicitUserRequest } = request.context;
  const where = { where: 'router.egress' };
  const refuse = (why: string): never => {
    throw new EdgeloomError(ErrorCode.E_PRIVACY_VIOLATION, `${why} under privacy tier ${tier}`, where);
  };
  if (tier === 'local_only') refuse('refused to send anything');
  const contentType = request.headers['content-type'] ?? '';
  const values = declaredValues(new URL(request.url), contentType, request.body);
  const declaredRaw = request.dataKind === 'audio' || request.dataKind === 'image';
  if (declaredRaw && !egressAllowed(tier, 'raw')) refuse(`refused to send ${request.dataKind} data`);
  for (const v of values) {
    // Second line: a text value holding media is raw, whatever its field says.
    const found = v.text === undefined ? undefined : rawMediaIn(v.text);
    const cls = found === undefined ? v.cls : 'raw';
    if (cls === 'raw' && !egressAllowed(tier, 'raw')) {
      refuse(
        `refused to send raw data in ${v.path}${found === undefined ? ' (a raw field)' : ` (${found})`}`,
      );
    }
    if (cls === 'derived' && !egressAllowed(tier, 'derived', explicitUserRequest === true)) {
      refuse(`refused to send derived data in ${v.path}`);
    }
  }
  // Whole-body bytes, for a body whose fields parse but whose raw bytes say otherwise.
  if (!declaredRaw && contentType.startsWith('application/json')) {
    const data = classifyBody(request.body, request.dataKind);
    if (data === 'raw' && !egressAllowed(tier, 'raw')) refuse('refused to send raw data');
  }
}

export interface EgressOptions {
  readonly audit: AuditLog;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly telemetry?: RouterTelemetry;
  /** The network call; default the global fetch. Tests keep the default (a real loopback server). */
  readonly fetch?: typeof fetch;
}

export class Egress {
  private readonly o: EgressOptions;
  /** Requests refused by the guard (also in telemetry when given). */
  violations = 0;

  constructor(options: EgressOptions) {
    this.o = options;
  }

  /** The guard (guardRequest): throws `E_PRIVACY_VIOLATION` when the request may not leave under its tier. */
  guard(request: GuardedRequest): void {
    guardRequest(request);
  }

  /** Guard, audit, send. The returned Response's body is the caller's to read or cancel. */
  transmit: Transmit = async (request) => {
    const url = new URL(request.url);
    const ctx = request.context;
    const entry = {
      tsMs: this.o.clock.now(),
      dataKind: request.dataKind,
      bytes: request.body.length,
      host: url.host,
      path: url.pathname,
      reason: ctx.reason,
      tier: ctx.tier,
      correlationId: ctx.correlationId,
      payloadRef: `sha256:${createHash('sha256').update(request.body).digest('hex')}@${ctx.sourceId}`,
    };
    try {
      this.guard(request);
    } catch (err) {
      this.violations++;
      if (this.o.telemetry) this.o.telemetry.privacyViolations++;
      this.o.logger.error(
        { host: url.host, tier: ctx.tier, dataKind: request.dataKind },
        'privacy guard refused egress',
      );
      await this.o.audit.append({ ...entry, outcome: 'refused' }).catch(() => undefined);
      throw err;
    }
    await this.o.audit.append({ ...entry, outcome: 'sent' });
    if (this.o.telemetry) {
      this.o.telemetry.egressRequests++;
      this.o.telemetry.egressBytes += request.body.length;
    }
    const doFetch = this.o.fetch ?? fetch;
    return doFetch(url, {
      method: 'POST',
      headers: request.headers,
      body: request.body,
      signal: request.signal,
    });
  };
}
