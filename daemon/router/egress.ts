/**
 * The only egress. Every byte edgeloom sends off the device goes through `Egress.transmit`, the
 * only `fetch` in the daemon. Two layers keep data where its privacy tier says:
 *
 * 1. `redactForTier` strips what a tier does not allow before a request is built
 *    (sensitive: no audio, no images; private: nothing unless the user explicitly asked, and then
 *    text only; local_only: nothing).
 * 2. `guard` runs on the finished request body right before it goes out and refuses
 *    (`E_PRIVACY_VIOLATION`, counted and audited as `refused`) anything the tier forbids. It does
 *    not trust the caller's declared data kind: a body that is not plain UTF-8 text (audio
 *    samples, NUL bytes), or that carries a RIFF/WAVE, JPEG or PNG signature raw or base64-encoded,
 *    counts as raw data. So a bug elsewhere cannot leak raw audio under a non-public tier.
 *
 * Every request that passes is appended to the audit log before the first byte is written.
 */
import { createHash } from 'node:crypto';
import type { PrivacyTier } from '../bus/topics.js';
import { EdgeloomError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Clock } from '../util/clock.js';
import type { AuditLog, EgressDataKind } from './audit-log.js';
import { type CloudData, egressAllowed } from './policy.js';
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
/** Signatures of media, raw and as they start in base64 (RIFF → UklGR, FF D8 FF → /9j/, PNG → iVBORw0KGgo). */
const RAW_SIGNATURES: readonly Buffer[] = [
  Buffer.from([0xff, 0xd8, 0xff]),
  Buffer.from([0x89, 0x50, 0x4e, 0x47]),
];
const TEXT_SIGNATURES: readonly string[] = [
  'UklGR',
  '/9j/',
  '\\/9j\\/',
  'iVBORw0KGgo',
  'data:image/',
  'data:audio/',
];

/** A WAV header: `RIFF`, 4 size bytes, `WAVE` (the words alone may occur in transcript text). */
function hasRiffWave(body: Buffer): boolean {
  for (let i = body.indexOf('RIFF'); i >= 0; i = body.indexOf('RIFF', i + 1)) {
    if (body.toString('latin1', i + 8, i + 12) === 'WAVE') return true;
  }
  return false;
}

/** What the body actually carries: raw media/binary, derived text, or nothing. */
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
  if (TEXT_SIGNATURES.some((sig) => text.includes(sig))) return 'raw';
  return body.length === 0 ? 'empty' : 'derived';
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

  /** The second guard: throws `E_PRIVACY_VIOLATION` when the body may not leave under its tier. */
  guard(request: Pick<OutboundRequest, 'body' | 'dataKind' | 'context'>): void {
    const data = classifyBody(request.body, request.dataKind);
    const { tier, explicitUserRequest } = request.context;
    const allowed =
      tier === 'local_only'
        ? false
        : data === 'empty' || egressAllowed(tier, data, explicitUserRequest === true);
    if (!allowed) {
      throw new EdgeloomError(
        'E_PRIVACY_VIOLATION',
        `refused to send ${data} data (declared ${request.dataKind}) under privacy tier ${tier}`,
        { where: 'router.egress' },
      );
    }
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
