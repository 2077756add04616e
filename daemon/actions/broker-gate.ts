/**
 * Holds the start of a fixture replay until the MQTT client has connected, for a bounded time.
 *
 * Live sensors cannot wait for anyone, but a replay can: without the gate its first seconds
 * (QoS 0 `face/emotion`, `router/decision`) are published before the client's first CONNACK and
 * dropped, so a demo or a test subscribing to a fresh `npm start` misses them. QoS 1 messages do
 * not need the gate (the outbox keeps them); a broker that stays down only delays the replay by
 * `maxWaitMs`, after which it runs and the outbox takes over.
 */
import type { Component } from '../component.js';
import type { Logger } from '../log.js';

export interface BrokerGateOptions {
  /** Resolves once the client is connected (MqttClientSink.whenConnected). */
  readonly whenConnected: () => Promise<void>;
  readonly logger: Logger;
  /** Longest the gate holds start-up, wall-clock ms (default 5000). */
  readonly maxWaitMs?: number;
}

export class BrokerGate implements Component {
  readonly name = 'actions.broker-gate';

  constructor(private readonly o: BrokerGateOptions) {}

  async start(signal: AbortSignal): Promise<void> {
    const maxWaitMs = this.o.maxWaitMs ?? 5000;
    let timer: NodeJS.Timeout | undefined;
    // Wall time on purpose: a replay's virtual clock does not move before the replay starts.
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), maxWaitMs);
    });
    const aborted = new Promise<'aborted'>((resolve) =>
      signal.addEventListener('abort', () => resolve('aborted'), { once: true }),
    );
    const outcome = await Promise.race([
      this.o.whenConnected().then(() => 'connected' as const),
      timedOut,
      aborted,
    ]);
    clearTimeout(timer);
    if (outcome === 'timeout') {
      this.o.logger.warn(
        { maxWaitMs },
        'broker not connected yet: replay starts anyway, QoS 1 messages wait in the outbox',
      );
    }
  }

  async stop(): Promise<void> {}
}
