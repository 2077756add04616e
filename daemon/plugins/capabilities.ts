/**
 * What a plugin may receive and publish (README, "Write a plugin" → "Capabilities"). Its hello
 * declares patterns; the config may narrow them; raw media (camera frames, microphone audio) only
 * with `raw_media: true`, and while the topic's privacy tier allows it: a plugin that can use the
 * network sees raw media only under the `public` tier (private and local_only data never leave
 * the device, README "Privacy"); a plugin with network gets no topic of a private or local_only
 * tier at all, as a broker elsewhere would not. It publishes only into its own namespaces, and
 * only topics its hello declared: `plugin/<id>/<name>`, and `sensor/plugin/<sensor id>` for each
 * sensor id its configuration declares (`sensors`): the readings of a sensor it stands for.
 */
import { parsePattern, patternMatches } from '../bus/topic-match.js';
import type { PrivacyTier } from '../bus/topics.js';

/** Raw sensor data: bytes of images or sound. */
const RAW_MEDIA = ['sensor/camera/+/frame', 'sensor/mic/+/frame'];

export function isRawMediaTopic(topic: string): boolean {
  return RAW_MEDIA.some((p) => patternMatches(p, topic));
}

export interface CapabilityOptions {
  readonly id: string;
  /** From the config: empty means "as the hello declares". */
  readonly narrow: readonly string[];
  readonly rawMedia: boolean;
  readonly network: boolean;
  /** Sensor ids the config gives the plugin: it may publish `sensor/plugin/<sensor id>`. */
  readonly sensors: readonly string[];
  readonly tierFor: (topic: string) => PrivacyTier;
}

export class Capabilities {
  private subscribe: string[] = [];
  private publish: string[] = [];

  constructor(private readonly o: CapabilityOptions) {}

  /** Take a hello's declarations; returns the refused patterns with why. */
  declare(subscribe: readonly string[], publish: readonly string[]): string[] {
    const refused: string[] = [];
    const valid = (p: string): boolean => {
      try {
        parsePattern(p);
        return true;
      } catch {
        refused.push(`${p}: not a valid pattern`);
        return false;
      }
    };
    // Requests and answers (`rpc/…`) are between the daemon's own components.
    this.subscribe = subscribe.filter((p) => {
      if (!valid(p)) return false;
      if (p.startsWith('rpc/')) {
        refused.push(`${p}: rpc topics are not for plugins`);
        return false;
      }
      return true;
    });
    this.publish = publish.filter((p) => {
      if (!valid(p)) return false;
      if (!this.ownTopic(p)) {
        const sensors = this.o.sensors.map((s) => ` or sensor/plugin/${s}`).join('');
        refused.push(`${p}: a plugin publishes only plugin/${this.o.id}/<name>${sensors}`);
        return false;
      }
      return true;
    });
    return refused;
  }

  /** The bus patterns to subscribe (the hello's, already narrowed per event by mayReceive). */
  subscriptions(): readonly string[] {
    return this.subscribe;
  }

  /** Whether an event on `topic` may be sent to the plugin, and whether its bytes may go with it. */
  mayReceive(topic: string): { readonly ok: boolean; readonly binary: 'encode' | 'strip' } {
    if (topic.startsWith('rpc/')) return { ok: false, binary: 'strip' };
    if (this.o.narrow.length > 0 && !this.o.narrow.some((p) => patternMatches(p, topic)))
      return { ok: false, binary: 'strip' };
    // A plugin with network is a destination "elsewhere" (README, "Privacy": what leaves, per
    // tier): private and local_only data never reach it, raw media only under public.
    const tier = this.o.network ? this.o.tierFor(topic) : undefined;
    if (tier === 'private' || tier === 'local_only') return { ok: false, binary: 'strip' };
    const rawAllowed = this.o.rawMedia && (!this.o.network || tier === 'public');
    if (isRawMediaTopic(topic) && !rawAllowed) return { ok: false, binary: 'strip' };
    return { ok: true, binary: rawAllowed ? 'encode' : 'strip' };
  }

  mayPublish(topic: string): boolean {
    try {
      if (parsePattern(topic).some((l) => l === '+' || l === '#')) return false;
    } catch {
      return false;
    }
    return this.ownTopic(topic) && this.publish.some((p) => patternMatches(p, topic));
  }

  /** `plugin/<id>/<name>`, or `sensor/plugin/<a sensor id its config declares>`. */
  private ownTopic(topic: string): boolean {
    const l = topic.split('/');
    if (l.length !== 3) return false;
    if (l[0] === 'plugin') return l[1] === this.o.id;
    return l[0] === 'sensor' && l[1] === 'plugin' && this.o.sensors.includes(l[2]!);
  }
}
