/**
 * MQTT is an egress like the cloud: the broker may sit on another machine and carry everything in
 * plain text to whoever subscribes. Each broker gets a trust level, its destination:
 *
 * | destination | what it is                                   | derived data allowed from tiers |
 * |-------------|----------------------------------------------|---------------------------------|
 * | `device`    | a broker on this machine (loopback)          | every tier                      |
 * | `lan`       | a broker on a private network                | public, sensitive, private      |
 * | `cloud`     | anything else                                | public, sensitive               |
 *
 * Raw audio or images are published only under `public`, wherever the broker is. A message the
 * destination may not have is withheld before the outbox: it is never queued, never sent, and
 * counted per reason (`<tier>_<data>_to_<destination>`, e.g. `local_only_derived_to_lan`). When
 * a tier is tightened, queued outbox entries it no longer allows are purged (MqttClientSink).
 * Device state (status, stats, sensor state, the privacy settings) carries no personal data and
 * always passes.
 *
 * Every audit interval (and at stop) one `mqtt_egress` audit record sums up, per topic, what was
 * forwarded to the broker and what was withheld, with the tier and destination.
 */
import { isIPv4, isIPv6 } from 'node:net';
import type { PrivacyTier } from '../bus/topics.js';
import type { Component } from '../component.js';
import type { MqttConfig } from '../config/index.js';
import { isLoopbackHost } from '../config/index.js';
import { toError } from '../errors.js';
import type { Logger } from '../log.js';
import type { AuditLog } from '../router/audit-log.js';
import type { PrivacySnapshot } from '../router/privacy.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { MessagePrivacy, MqttMessage } from './mqtt-contract.js';

export type MqttDestination = 'device' | 'lan' | 'cloud';

/** What the MQTT stage needs from the privacy settings (PrivacyControl provides it). */
export interface PrivacyView {
  tierFor(topic: string): PrivacyTier;
  snapshot(): PrivacySnapshot;
  /** Called after every applied change; returns the unsubscribe function. */
  onChange(listener: () => void): () => void;
}

/** Topics summed up per audit record at most; the rest are folded into `other`. */
const AUDIT_TOPICS_MAX = 64;
/** Default period of the `mqtt_egress` audit summary, ms (1 minute). */
export const AUDIT_INTERVAL_MS = 60_000;

/** True for RFC 1918 / link-local / unique-local addresses and names only a LAN can resolve. */
export function isPrivateHost(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, '');
  if (isIPv4(h)) {
    const [a, b] = h.split('.').map(Number) as [number, number];
    return (
      a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 169 && b === 254)
    );
  }
  if (isIPv6(h)) return /^f[cd][0-9a-f]{2}:/.test(h) || /^fe[89ab][0-9a-f]:/.test(h);
  // mDNS (RFC 6762) and home networks (RFC 8375) cannot be names in the public DNS.
  return h.endsWith('.local') || h.endsWith('.home.arpa');
}

/** The broker's destination: configured, or derived from the URL (see the module comment). */
export function destinationFor(mqtt: Pick<MqttConfig, 'url' | 'destination' | 'embedded'>): {
  readonly destination: MqttDestination;
  readonly host: string;
  readonly derived: boolean;
} {
  const host = mqtt.url === '' ? mqtt.embedded.host : hostOf(mqtt.url);
  if (mqtt.destination !== 'auto') return { destination: mqtt.destination, host, derived: false };
  // An embedded broker bound beyond loopback is reachable from the LAN, so it is one.
  const destination: MqttDestination = isLoopbackHost(host)
    ? 'device'
    : isPrivateHost(host) || (mqtt.url === '' && isWildcardHost(host))
      ? 'lan'
      : 'cloud';
  return { destination, host, derived: true };
}

function hostOf(url: string): string {
  try {
    return new URL(url).hostname;
  } catch {
    return url;
  }
}

function isWildcardHost(host: string): boolean {
  return host === '0.0.0.0' || host === '::' || host === '[::]' || host === '';
}

/** Why a message with this data and tier may not go to `destination`; undefined when it may. */
export function withheldReason(
  tier: PrivacyTier,
  data: MessagePrivacy['data'],
  destination: MqttDestination,
): string | undefined {
  const allowed =
    data === 'raw'
      ? tier === 'public'
      : tier === 'local_only'
        ? destination === 'device'
        : tier === 'private'
          ? destination !== 'cloud'
          : true;
  return allowed ? undefined : `${tier}_${data}_to_${destination}`;
}

interface TopicWindow {
  tier: PrivacyTier;
  data: MessagePrivacy['data'];
  forwarded: number;
  withheld: number;
  /** Payload bytes of the forwarded messages (what left for the broker). */
  bytes: number;
}

/** The payload's size as it goes on the wire (the sink serialises the same way). */
function payloadBytes(m: MqttMessage): number {
  if (m.binary !== undefined) return m.binary.length;
  return Buffer.byteLength(m.raw ?? JSON.stringify(m.payload));
}

export interface MqttEgressGateOptions {
  readonly destination: MqttDestination;
  /** Broker host, for the audit record. */
  readonly host: string;
  readonly privacy: Pick<PrivacyView, 'tierFor'>;
  readonly logger: Logger;
  /** Wall clock (audit windows are real minutes, also in a replay). */
  readonly clock: Clock;
  readonly audit?: AuditLog;
  /** Period of the audit summary, ms. Default AUDIT_INTERVAL_MS. */
  readonly auditIntervalMs?: number;
}

export class MqttEgressGate implements Component {
  readonly name = 'actions.mqtt-egress';
  private readonly counts: Record<string, number> = {};
  private window = new Map<string, TopicWindow>();
  private windowStartMs = 0;
  private timer: TimerHandle | undefined;

  constructor(private readonly o: MqttEgressGateOptions) {}

  get destination(): MqttDestination {
    return this.o.destination;
  }

  async start(): Promise<void> {
    this.windowStartMs = this.o.clock.now();
    this.timer = this.o.clock.setInterval(
      () => void this.flush(),
      this.o.auditIntervalMs ?? AUDIT_INTERVAL_MS,
    );
  }

  async stop(): Promise<void> {
    this.timer?.cancel();
    this.timer = undefined;
    await this.flush();
  }

  /** The tier a message is published under now (a message naming no source counts as local_only). */
  tierOf(p: MessagePrivacy): PrivacyTier {
    if (p.tier !== undefined) return p.tier;
    return p.topic === undefined ? 'local_only' : this.o.privacy.tierFor(p.topic);
  }

  /** Whether data of this kind may go to the broker under today's tiers (outbox purge). */
  allows(p: MessagePrivacy): boolean {
    return withheldReason(this.tierOf(p), p.data, this.o.destination) === undefined;
  }

  /**
   * Decide one message: true = publish it. A withheld message is counted per reason; a personal
   * one is also summed up for the audit.
   */
  admit(topic: string, message: MqttMessage): boolean {
    const p = message.privacy;
    if (p === undefined) return true;
    const tier = this.tierOf(p);
    const reason = withheldReason(tier, p.data, this.o.destination);
    const key = this.window.has(topic) || this.window.size < AUDIT_TOPICS_MAX ? topic : 'other';
    const w = this.window.get(key) ?? { tier, data: p.data, forwarded: 0, withheld: 0, bytes: 0 };
    w.tier = tier;
    if (reason === undefined) {
      w.forwarded++;
      w.bytes += payloadBytes(message);
    } else {
      w.withheld++;
      this.count(reason);
    }
    this.window.set(key, w);
    return reason === undefined;
  }

  /** Queued messages dropped because a tier was tightened after they were accepted. */
  countPurged(n: number): void {
    if (n > 0) this.count('purged_after_tightening', n);
  }

  /** Withheld messages by reason since start. */
  withheld(): Readonly<Record<string, number>> {
    return { ...this.counts };
  }

  private count(reason: string, n = 1): void {
    this.counts[reason] = (this.counts[reason] ?? 0) + n;
  }

  /** Append the window's summary to the audit log (nothing when no personal message passed by). */
  async flush(): Promise<void> {
    const window = this.window;
    const fromMs = this.windowStartMs;
    this.window = new Map();
    this.windowStartMs = this.o.clock.now();
    if (window.size === 0 || this.o.audit === undefined) return;
    const topics: Record<string, TopicWindow> = {};
    for (const [topic, w] of window) topics[topic] = w;
    const withheld = [...window.values()].reduce((n, w) => n + w.withheld, 0);
    try {
      await this.o.audit.append({
        kind: 'mqtt_egress',
        outcome: withheld > 0 ? 'partly_withheld' : 'forwarded',
        destination: this.o.destination,
        host: this.o.host,
        from_ms: fromMs,
        to_ms: this.windowStartMs,
        topics,
      });
    } catch (err) {
      this.o.logger.warn({ err: toError(err).message }, 'mqtt egress: audit record not written');
    }
  }
}
