/**
 * The MQTT client's side of Home Assistant discovery (the entities are ha-entities.ts):
 *
 * - on every connect, the retained discovery configs of what this configuration enables (a broker
 *   restarted without persistence has forgotten them);
 * - stale configs cleared: the client subscribes to its own node's configs
 *   (`<prefix>/+/<node>/+/config`); a retained config the current set does not have (a sensor
 *   turned off, an entity renamed, discovery disabled) is removed with an empty retained payload,
 *   which is how HA's MQTT discovery deletes an entity;
 * - HA's birth message (`<prefix>/status` = `online`, published when HA or its MQTT integration
 *   starts): the configs again, then, after a short delay that lets HA subscribe to the entities'
 *   topics, the last state messages (status, privacy, stats, display, sensor states, last
 *   transcript). Events (voice intents, motion) are never re-sent: HA would fire them twice.
 *
 * Re-sent states go through the privacy gate again, so a tier tightened since they were first
 * sent withholds them, and `forget` drops the personal ones from the cache.
 */
import type { MqttConfig } from '../config/index.js';
import type { Logger } from '../log.js';
import type { Clock, TimerHandle } from '../util/clock.js';
import type { HaDevice } from './ha-entities.js';
import { haDiscoveryConfigs, haNodeId } from './ha-entities.js';
import type { MqttMessage } from './mqtt-contract.js';

/** State topics (relative to the base) whose last message is re-sent after HA's birth message. */
const RESENT = /^(stats|display\/set|voice\/transcript|sensor\/[^/]+\/status)$/;
/** Cached state topics at most (the set above is small; one per sensor id). */
const MAX_CACHED = 64;
/** Delay before the states are re-sent after a birth message, ms, plus up to as much jitter. */
export const BIRTH_STATE_DELAY_MS = 1000;

export interface HaLinkOptions {
  /** mqtt.discovery (enabled, prefix: also when disabled, that is where stale configs live), base_topic. */
  readonly config: Pick<MqttConfig, 'discovery' | 'base_topic'>;
  readonly deviceId: string;
  /**
   * The entities of this configuration (ha-config.ts); default: the device's own (status,
   * restart, diagnostics). With discovery disabled none, and every config found is cleared.
   */
  readonly device?: HaDevice;
  /** Wall clock (the birth delay). */
  readonly clock: Clock;
  readonly logger: Logger;
  /** Publish a retained QoS 1 message straight to the broker (configs, clears). */
  readonly publishRetained: (topic: string, payload: string) => void;
  /** Publish a contract message again (through the outbox for QoS 1). */
  readonly resend: (topic: string, message: MqttMessage) => Promise<void>;
  /** The connect announcements again (status online, privacy). */
  readonly reannounce: () => void;
  /** The privacy gate's decision for a re-sent message; absent: everything passes. */
  readonly admit?: (topic: string, message: MqttMessage) => boolean;
  /** [0, 1) for the jitter; default Math.random. */
  readonly random?: () => number;
}

export interface HaLinkStats {
  readonly configs: number;
  /** Stale configs removed since start. */
  readonly cleared: number;
  /** Birth messages from Home Assistant seen. */
  readonly births: number;
  /** State messages re-sent after birth messages. */
  readonly resent: number;
}

export class HaLink {
  private readonly configs: ReadonlyMap<string, string>;
  private readonly ownConfigs: RegExp;
  private readonly statusTopic: string;
  private readonly cache = new Map<string, MqttMessage>();
  private timer: TimerHandle | undefined;
  private counters = { cleared: 0, births: 0, resent: 0 };

  private readonly prefix: string;
  private readonly baseTopic: string;

  constructor(private readonly o: HaLinkOptions) {
    const { discovery } = o.config;
    this.prefix = discovery.prefix;
    this.baseTopic = o.config.base_topic;
    const device = o.device ?? bareDevice(o.config, o.deviceId);
    const configs = discovery.enabled ? haDiscoveryConfigs(device) : [];
    this.configs = new Map(configs.map((c) => [c.topic, JSON.stringify(c.payload)]));
    const esc = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    this.ownConfigs = new RegExp(`^${esc(this.prefix)}/[^/]+/${esc(haNodeId(o.deviceId))}/[^/]+/config$`);
    this.statusTopic = `${this.prefix}/status`;
  }

  /** Topic filters to subscribe to on every connect. */
  subscriptions(): string[] {
    return [`${this.prefix}/+/${haNodeId(this.o.deviceId)}/+/config`, this.statusTopic];
  }

  /** Publish every config (on connect and after a birth message). */
  announce(): void {
    for (const [topic, payload] of this.configs) this.o.publishRetained(topic, payload);
  }

  /** An incoming message; true when it was one of ours (discovery or HA's status). */
  handle(topic: string, payload: Buffer): boolean {
    if (topic === this.statusTopic) {
      if (payload.toString('utf8').trim() === 'online') this.onBirth();
      return true;
    }
    if (!this.ownConfigs.test(topic)) return false;
    // Our own publishes echo back; an empty payload is a removal (ours, or HA's after a delete).
    if (payload.length === 0 || this.configs.has(topic)) return true;
    this.counters.cleared++;
    this.o.logger.info({ topic }, 'home assistant: clearing a stale discovery config');
    this.o.publishRetained(topic, '');
    return true;
  }

  /** A message was published: keep it when it is a state re-sent after a birth message. */
  remember(topic: string, message: MqttMessage): void {
    if (!topic.startsWith(`${this.baseTopic}/`)) return;
    const relativeTopic = topic.slice(this.baseTopic.length + 1);
    if (!RESENT.test(relativeTopic)) return;
    if (!this.cache.has(relativeTopic) && this.cache.size >= MAX_CACHED) return;
    this.cache.set(relativeTopic, message);
  }

  /** `forget`: drop the cached messages that carry personal data. */
  forgetPersonal(): void {
    for (const [topic, m] of this.cache) if (m.privacy !== undefined) this.cache.delete(topic);
  }

  stop(): void {
    this.timer?.cancel();
    this.timer = undefined;
  }

  stats(): HaLinkStats {
    return { configs: this.configs.size, ...this.counters };
  }

  private onBirth(): void {
    this.counters.births++;
    this.o.logger.info('home assistant came online: discovery and states re-sent');
    this.o.reannounce();
    this.announce();
    this.timer?.cancel();
    const jitter = Math.floor((this.o.random ?? Math.random)() * BIRTH_STATE_DELAY_MS);
    this.timer = this.o.clock.setTimeout(() => {
      this.timer = undefined;
      void this.resendStates();
    }, BIRTH_STATE_DELAY_MS + jitter);
  }

  private async resendStates(): Promise<void> {
    for (const [rel, message] of [...this.cache]) {
      const topic = `${this.baseTopic}/${rel}`;
      if (this.o.admit !== undefined && !this.o.admit(topic, message)) continue;
      try {
        await this.o.resend(topic, message);
        this.counters.resent++;
      } catch (err) {
        this.o.logger.warn({ topic, err: (err as Error).message }, 'home assistant: state not re-sent');
      }
    }
  }
}

/** The entities of a sink given no HaDevice: the device's own (status, restart, diagnostics). */
function bareDevice(config: Pick<MqttConfig, 'discovery' | 'base_topic'>, deviceId: string): HaDevice {
  return {
    prefix: config.discovery.prefix,
    baseTopic: config.base_topic,
    deviceId,
    deviceName: `edgeloom ${deviceId}`,
    swVersion: 'unknown',
    sensors: [],
    display: false,
    transcript: false,
    motion: false,
    speak: false,
    models: [],
    temperature: false,
  };
}
