/**
 * What the MQTT client does with personal data already queued in its outbox: drop what a
 * tightened tier no longer lets reach this broker, and `forget` it altogether.
 */
import type { Logger } from '../log.js';
import { carriesPersonalData, type MqttMessage, PERSONAL_RETAINED_TOPICS } from './mqtt-contract.js';
import type { MqttEgressGate } from './mqtt-egress.js';
import type { Outbox } from './outbox.js';

/**
 * Delete the queued messages the gate no longer allows (a tier was tightened after they were
 * accepted); counted by the gate as `purged_after_tightening`. Returns how many went.
 */
export async function purgeForTiers(outbox: Outbox, gate: MqttEgressGate, log: Logger): Promise<number> {
  const purged = await outbox.removeWhere((e) => e.privacy !== undefined && !gate.allows(e.privacy));
  gate.countPurged(purged);
  if (purged > 0) log.info({ purged }, 'mqtt: queued messages purged after a privacy tier was tightened');
  return purged;
}

/**
 * `forget`: delete every queued message that carries personal data (mqtt-contract.ts
 * carriesPersonalData), and clear the personal retained topics with an empty retained message,
 * published through `publish` (QoS 1, so it waits in the outbox for a broker that is down).
 */
export async function forgetQueued(
  outbox: Outbox,
  baseTopic: string,
  dryRun: boolean,
  publish: (topic: string, message: MqttMessage) => Promise<void>,
): Promise<{ outbox: number; retained: number }> {
  const personal = (e: { topic: string; privacy?: MqttMessage['privacy'] }): boolean =>
    carriesPersonalData(e.topic, e.privacy, baseTopic);
  const retained = PERSONAL_RETAINED_TOPICS.length;
  if (dryRun) return { outbox: [...outbox.values()].filter(personal).length, retained };
  const removed = await outbox.removeWhere(personal);
  for (const rel of PERSONAL_RETAINED_TOPICS) {
    await publish(`${baseTopic}/${rel}`, { topic: rel, payload: {}, qos: 1, retain: true, raw: '' });
  }
  return { outbox: removed, retained };
}
