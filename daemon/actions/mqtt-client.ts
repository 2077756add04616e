/**
 * The real MQTT sink (mqtt.js 5): the only module that talks to the broker.
 *
 * - QoS 1 messages go through the persistent outbox (outbox.ts): published in sequence order with at
 *   most `maxInflight` unacknowledged (outbox-sender.ts), written to LevelDB unless the broker
 *   acknowledges them within `outbox.write_delay_ms` (write-behind), deleted on PUBACK. While
 *   disconnected they accumulate there (bounded, policy from config) and are delivered in order
 *   after the reconnect, before anything newer; on start the previous run's outbox is sent first.
 * - QoS 0 messages (telemetry) are published only while connected; otherwise dropped and counted.
 * - `<base>/status` is `{"state":"online","ts":…}` retained on every connect; the last will sets it
 *   to `{"state":"offline"}` when the connection dies, and a clean stop publishes
 *   `{"state":"offline","ts":…,"reason":"shutdown"}` itself.
 * - Reconnects back off exponentially (on the injected clock) from `reconnectMinMs` to `reconnectMaxMs`.
 * - With no broker URL configured, an embedded aedes broker is started and used, with
 *   authentication (broker-credentials.ts): the daemon logs in with its own per-start credential.
 * - With a bus, `<base>/cmd/#` commands are served (commands.ts). Home Assistant discovery
 *   (ha-link.ts): the configs retained on every connect, stale ones cleared, and the last states
 *   re-sent after HA's birth message.
 * - With the privacy settings, `<base>/privacy` is published retained on every connect and after
 *   every change, and a tightened tier purges the queued messages it no longer lets reach this
 *   broker (mqtt-egress.ts decides); `forgetPersonal()` removes every queued personal message and
 *   clears the personal retained topics.
 */
import mqtt, { type MqttClient } from 'mqtt';
import './mqtt-packet-numbers.js';
import type { Component, ComponentHealth } from '../component.js';
import { EdgeloomError, ErrorCode, toError } from '../errors.js';
import type { Logger } from '../log.js';
import { resolvesWithin, type TimerHandle } from '../util/clock.js';
import { type BrokerCredential, startEmbeddedBroker } from './broker-credentials.js';
import { CommandAuth } from './command-auth.js';
import { CommandHandler } from './commands.js';
import type { EmbeddedBroker } from './embedded-broker.js';
import { HaLink } from './ha-link.js';
import type { MqttSink } from './mqtt-bridge.js';
import type { MqttMessage } from './mqtt-contract.js';
import {
  buildClientOptions,
  clientIdFor,
  connectAnnouncements,
  type MqttClientSinkOptions,
  type MqttSinkStats,
  privacyMessage,
  redactUrl,
  STATUS_OFFLINE,
  statusTopic,
} from './mqtt-options.js';
import { forgetQueued, purgeForTiers } from './mqtt-personal.js';
import { emptyOutboxStats, Outbox } from './outbox.js';
import { OutboxSender } from './outbox-sender.js';

export class MqttClientSink implements Component, MqttSink {
  readonly name = 'actions.mqtt';
  /** publish() calls the bridge keeps outstanding while each waits for its PUBACK or write (bounded: a stalled broker slows the bus). */
  readonly maxPending = 256;
  private readonly log: Logger;
  private readonly baseTopic: string;
  private outbox: Outbox | undefined;
  /** Sends the outbox in order with a bounded window (outbox-sender.ts); created with the outbox. */
  private sender: OutboxSender | undefined;
  private broker: EmbeddedBroker | undefined;
  private client: MqttClient | undefined;
  private commands: CommandHandler | undefined;
  private ha: HaLink | undefined;
  private brokerUrlResolved = '';
  private connected = false;
  private stopping = false;
  private reconnectTimer: TimerHandle | undefined;
  private reconnectAttempts = 0;
  private connectWaiters: Array<() => void> = [];
  private unwatchPrivacy: (() => void) | undefined;
  private drainWaiters: Array<() => void> = [];
  private counters = {
    connects: 0,
    disconnects: 0,
    qos0Sent: 0,
    qos0Dropped: 0,
    qos1Acked: 0,
    publishErrors: 0,
  };

  constructor(private readonly options: MqttClientSinkOptions) {
    this.log = options.logger;
    this.baseTopic = options.config.base_topic;
  }

  async start(signal: AbortSignal): Promise<void> {
    const o = this.options;
    this.outbox = new Outbox({
      store: o.storage,
      clock: o.clock,
      logger: this.log,
      maxMessages: o.config.outbox.max_messages,
      policy: o.config.outbox.policy,
      sync: o.syncWrites === true,
      writeDelayMs: o.config.outbox.write_delay_ms,
      // Messages the disk refused (a full disk) leave the outbox: it may be empty for stop()'s wait.
      onEmptied: () => this.settle('drain'),
    });
    await this.outbox.open(signal);
    this.sender = new OutboxSender({
      outbox: this.outbox,
      logger: this.log,
      maxInflight: o.maxInflight ?? o.config.max_inflight,
      connectedClient: () => (this.connected ? this.client : undefined),
      counters: this.counters,
      onEmpty: () => this.settle('drain'),
    });
    for (const entry of this.outbox.values()) this.sender.enqueue(entry.seq);
    signal.throwIfAborted();

    let url = o.config.url;
    let login: BrokerCredential | undefined;
    if (url === '') {
      const embedded = await startEmbeddedBroker({
        config: o.config.embedded,
        clientId: clientIdFor(o.config, o.deviceId),
        baseTopic: this.baseTopic,
        dir: o.credentialsDir,
        // A sub-key, not a second `component`: pino would print the key twice in one line.
        logger: this.log.child({ part: 'embedded-broker' }),
        signal,
      });
      this.broker = embedded.broker;
      login = embedded.login;
      url = this.broker.url();
    }
    this.brokerUrlResolved = url;
    if (o.bus !== undefined) {
      this.commands = new CommandHandler({
        bus: o.bus,
        baseTopic: this.baseTopic,
        clock: o.clock,
        logger: this.log,
        maxPerSecond: o.commandsPerSecond ?? 20,
        requestTimeoutMs: o.commandTimeoutMs ?? 5000,
        reply: (message) => this.publish(`${this.baseTopic}/${message.topic}`, message, o.clock.now()),
        ...(o.commandKey === undefined
          ? {}
          : { auth: new CommandAuth({ ...o.commandKey, now: () => o.clock.now() }) }),
        ...(o.audit === undefined ? {} : { audit: (r) => o.audit!.append(r) }),
      });
    }
    // Discovery, stale configs, HA's birth message; with discovery off, only the clearing.
    this.ha = new HaLink({
      config: o.config,
      deviceId: o.deviceId,
      ...(o.homeAssistant === undefined ? {} : { device: o.homeAssistant }),
      clock: o.clock,
      logger: this.log.child({ part: 'home-assistant' }),
      publishRetained: (topic, payload) => this.client?.publish(topic, payload, { qos: 1, retain: true }),
      resend: (topic, message) => this.publish(topic, message, o.clock.now()),
      reannounce: () => this.announce(),
      ...(o.gate === undefined ? {} : { admit: (topic, m) => o.gate!.admit(topic, m) }),
    });
    this.unwatchPrivacy = o.privacy?.onChange(() => void this.onPrivacyChange());
    const client = mqtt.connect(
      url,
      buildClientOptions({
        config: o.config,
        deviceId: o.deviceId,
        connectTimeoutMs: o.connectTimeoutMs ?? 10_000,
        ...(login === undefined ? {} : { login }),
      }),
    );
    this.client = client;
    client.on('connect', () => this.onConnect());
    client.on('close', () => this.onClose());
    client.on('error', (err) =>
      this.log.warn({ err: err.message, url: redactUrl(url) }, 'mqtt: connection error'),
    );
    const watched = new Set(o.watch?.topics ?? []);
    client.on('message', (topic, payload) => {
      if (watched.has(topic)) o.watch?.deliver(topic, payload);
      else if (this.ha?.handle(topic, payload) !== true) this.commands?.handle(topic, payload);
    });
    this.log.info(
      { url: redactUrl(url), clientId: client.options.clientId, outbox: this.outbox.size },
      'mqtt: connecting',
    );
  }

  /** The broker URL in use (the embedded broker's when none is configured); '' before start. */
  brokerUrl(): string {
    return this.brokerUrlResolved;
  }

  /** The broker's destination (device, lan, cloud), when a privacy gate is wired. */
  destination(): string | undefined {
    return this.options.gate?.destination;
  }

  isConnected(): boolean {
    return this.connected;
  }

  /** Resolves at the next (or current) successful connect. */
  whenConnected(): Promise<void> {
    if (this.connected) return Promise.resolve();
    return new Promise((resolve) => this.connectWaiters.push(resolve));
  }

  /** Resolves once every accepted QoS 1 message has been acknowledged by the broker. */
  whenDrained(): Promise<void> {
    if (this.outbox === undefined || this.outbox.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  /**
   * QoS 1: into the outbox; resolves once acknowledged or written, whichever is first (rejects with
   * E_MQTT_OUTBOX_FULL under `refuse`, E_MQTT_OUTBOX_WRITE on a full disk). QoS 0: sent if connected.
   */
  publish(topic: string, message: MqttMessage, _sourceTsMs: number): Promise<void> {
    // Not `async` (the hot path returns the outbox's own promise); a throw still becomes a rejection.
    try {
      return this.accept(topic, message);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  private accept(topic: string, message: MqttMessage): Promise<void> {
    const { sender, client } = this;
    if (sender === undefined || client === undefined || this.stopping) {
      throw new EdgeloomError(ErrorCode.E_MQTT_NOT_STARTED, 'the MQTT sink is not running', { where: topic });
    }
    const payload = message.binary ?? message.raw ?? JSON.stringify(message.payload);
    this.ha?.remember(topic, message);
    if (message.qos === 0) {
      if (!this.connected) this.counters.qos0Dropped++;
      else {
        client.publish(topic, payload, { qos: 0, retain: message.retain }, (err) => {
          if (err) this.counters.publishErrors++;
          else this.counters.qos0Sent++;
        });
      }
      return Promise.resolve();
    }
    if (typeof payload !== 'string') throw new TypeError(`binary payloads are QoS 0 only (${topic})`);
    return sender.accept(topic, payload, message.retain, message.privacy);
  }

  /** `forget` (mqtt-personal.ts forgetQueued): queued personal messages, personal retained topics. */
  async forgetPersonal(options: { dryRun?: boolean } = {}): Promise<{ outbox: number; retained: number }> {
    if (this.outbox === undefined) return { outbox: 0, retained: 0 };
    if (options.dryRun !== true) this.ha?.forgetPersonal();
    return forgetQueued(this.outbox, this.baseTopic, options.dryRun === true, (topic, message) =>
      this.publish(topic, message, this.options.clock.now()),
    );
  }

  /** A tier changed: drop queued messages it no longer allows here, and republish the settings. */
  private async onPrivacyChange(): Promise<void> {
    const { outbox } = this;
    const gate = this.options.gate;
    if (outbox === undefined || this.stopping) return;
    if (gate !== undefined) await purgeForTiers(outbox, gate, this.log);
    const message = this.privacyState();
    if (message !== undefined) {
      await this.publish(`${this.baseTopic}/${message.topic}`, message, this.options.clock.now()).catch(
        (err: unknown) => this.log.warn({ err: toError(err).message }, 'mqtt: privacy state not published'),
      );
    }
  }

  private privacyState(): MqttMessage | undefined {
    const { privacy, gate, clock } = this.options;
    if (privacy === undefined) return undefined;
    return privacyMessage(privacy.snapshot(), gate?.destination, clock.now());
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.unwatchPrivacy?.();
    this.unwatchPrivacy = undefined;
    this.commands?.flushAudit();
    this.reconnectTimer?.cancel();
    this.reconnectTimer = undefined;
    this.ha?.stop();
    const { client, outbox } = this;
    const o = this.options;
    if (client !== undefined) {
      if (this.connected && outbox !== undefined && outbox.size > 0) {
        await resolvesWithin(o.clock, this.whenDrained(), o.stopFlushMs ?? 2000);
      }
      if (this.connected) {
        const offline = JSON.stringify({ state: STATUS_OFFLINE, ts: o.clock.now(), reason: 'shutdown' });
        await resolvesWithin(
          o.clock,
          client
            .publishAsync(statusTopic(this.baseTopic), offline, { qos: 1, retain: true })
            .catch(() => undefined),
          1000,
        );
      }
      const ended = client.endAsync(false).catch(() => undefined);
      if (!(await resolvesWithin(o.clock, ended, 2000))) await client.endAsync(true).catch(() => undefined);
      client.removeAllListeners();
      // A connection attempt still under way may fail after end(); mqtt.js would throw an unheard error.
      client.on('error', () => undefined);
      this.client = undefined;
    }
    this.connected = false;
    if (outbox !== undefined) {
      await outbox.flush();
      // What the store holds now (the next start sends it), not what was accepted in memory.
      const stored = outbox.stored();
      const { unstored, deletesPending } = outbox.stats();
      if (stored > 0 || unstored > 0) {
        this.log.info(
          { outbox: stored, deletesPending, unstored },
          'mqtt: messages kept in the outbox for the next start',
        );
      }
      await outbox.close();
    }
    await this.broker?.stop();
    this.broker = undefined;
  }

  stats(): MqttSinkStats {
    return {
      connected: this.connected,
      ...this.counters,
      outbox: this.outbox?.stats() ?? emptyOutboxStats(this.options.config.outbox.max_messages),
      commands: this.commands?.stats(),
      withheld: this.options.gate?.withheld() ?? {},
      broker: this.broker?.stats(),
      homeAssistant: this.ha?.stats(),
    };
  }

  health(): ComponentHealth {
    // Connected, the outbox only holds messages in flight (unacknowledged QoS 1): normal work,
    // not a degradation, or /healthz would flap on every publish. Unreachable, it holds a backlog.
    const failing = this.outbox?.writesFailing === true;
    if (this.connected && !failing) return { status: 'ok' };
    const reasons: string[] = [];
    if (!this.connected) {
      reasons.push('broker unreachable');
      const size = this.outbox?.size ?? 0;
      if (size > 0) reasons.push(`${size} messages in the outbox`);
    }
    if (failing) reasons.push('outbox writes failing (disk full?)');
    return { status: 'degraded', reasons };
  }

  private onConnect(): void {
    const client = this.client;
    if (client === undefined) return;
    this.connected = true;
    this.outbox?.setConnected(true);
    this.reconnectAttempts = 0;
    this.counters.connects++;
    this.log.info({ outbox: this.outbox?.size ?? 0 }, 'mqtt: connected');
    this.announce();
    this.ha?.announce();
    const topics = [
      ...(this.commands === undefined ? [] : [`${this.baseTopic}/cmd/#`]),
      ...(this.ha?.subscriptions() ?? []),
      ...(this.options.watch?.topics ?? []),
    ];
    if (topics.length > 0) {
      client.subscribe(topics, { qos: 1 }, (err) => {
        if (err) this.log.warn({ err: err.message, topics }, 'mqtt: cannot subscribe');
      });
    }
    this.settle('connect');
    this.sender?.pump();
  }

  /** Status online and the privacy settings, retained (every connect, and HA's birth message). */
  private announce(): void {
    const nowMs = this.options.clock.now();
    for (const a of connectAnnouncements({ baseTopic: this.baseTopic, nowMs, privacy: this.privacyState() }))
      this.client?.publish(a.topic, a.payload, { qos: 1, retain: true });
  }

  private onClose(): void {
    if (this.connected) {
      this.counters.disconnects++;
      this.log.warn(
        { inflight: this.sender?.inflightCount ?? 0, outbox: this.outbox?.size ?? 0 },
        'mqtt: disconnected',
      );
    }
    this.connected = false;
    this.outbox?.setConnected(false);
    if (this.stopping || this.reconnectTimer !== undefined) return;
    const min = this.options.reconnectMinMs ?? 500;
    const max = this.options.reconnectMaxMs ?? 30_000;
    const delayMs = Math.min(max, min * 2 ** Math.min(this.reconnectAttempts, 20));
    this.reconnectAttempts++;
    this.reconnectTimer = this.options.clock.setTimeout(() => {
      this.reconnectTimer = undefined;
      const client = this.client;
      if (this.stopping || client === undefined) return;
      // Keep mqtt.js's stores: the unacknowledged QoS 1 packets in them are resent first, in order.
      client.reconnect({ incomingStore: client.incomingStore, outgoingStore: client.outgoingStore });
    }, delayMs);
  }

  private settle(what: 'connect' | 'drain'): void {
    const waiters = what === 'connect' ? this.connectWaiters : this.drainWaiters;
    if (what === 'connect') this.connectWaiters = [];
    else this.drainWaiters = [];
    for (const w of waiters) w();
  }
}
