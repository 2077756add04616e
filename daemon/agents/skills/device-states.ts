/**
 * The last message of each MQTT topic the skills read (agents.voice.skills.devices and a weather
 * topic), and the `device.state` tool that speaks a device's value.
 *
 * The MQTT client (actions/mqtt-client.ts) subscribes to `topics()` on every connect and hands
 * each message to `deliver` (the daemon wires the two; the agents layer never imports actions).
 * Retained topics give a value as soon as the client connects.
 *
 * Bounds: one entry per configured topic, fixed at construction (a message on any other topic is
 * ignored and counted); a payload over MAX_PAYLOAD_BYTES is dropped and counted, the previous
 * value kept.
 */
import type { VoiceConfig } from '../../config/index.js';
import { EdgeloomError, ErrorCode } from '../../errors.js';
import type { Clock } from '../../util/clock.js';
import { compileIntents, matchIntent, words } from '../intents.js';
import type { ToolDefinition } from '../tools.js';

export type DeviceConfig = VoiceConfig['skills']['devices'][number];

/** Largest payload kept, bytes: a sensor's state is a small JSON object. */
export const MAX_PAYLOAD_BYTES = 64 * 1024;
/** How close a spoken name must match a configured one (the matcher's 0..1 score). */
const MIN_NAME_SCORE = 0.6;

export interface LastMessage {
  /** The payload as JSON when it parses, else its text. */
  readonly value: unknown;
  /** Clock ms it arrived. */
  readonly atMs: number;
}

export class DeviceStates {
  private readonly last = new Map<string, LastMessage | null>();
  readonly counters = { messages: 0, ignored: 0, tooLarge: 0 };

  constructor(
    topics: readonly string[],
    private readonly clock: Clock,
  ) {
    for (const t of topics) if (t !== '') this.last.set(t, null);
  }

  /** The exact topics to subscribe to. */
  topics(): string[] {
    return [...this.last.keys()];
  }

  /** A message from the broker (mqtt-client.ts calls it for the topics above). */
  deliver(topic: string, payload: Buffer): void {
    if (!this.last.has(topic)) {
      this.counters.ignored++;
      return;
    }
    if (payload.length > MAX_PAYLOAD_BYTES) {
      this.counters.tooLarge++;
      return;
    }
    this.counters.messages++;
    const text = payload.toString('utf8');
    let value: unknown = text;
    try {
      value = JSON.parse(text);
    } catch {
      // Not JSON: a bare value (`21.5`, `ON`) is kept as its text.
    }
    this.last.set(topic, { value, atMs: this.clock.now() });
  }

  /** The last message on a configured topic; undefined until one came. */
  get(topic: string): LastMessage | undefined {
    return this.last.get(topic) ?? undefined;
  }
}

/**
 * A device's name as a template: its words, those of 4 letters or more as key words, so "the
 * temperature in the bedroom" never stands for "the temperature in the kitchen" (intents.ts).
 */
export function deviceTemplate(name: string): string {
  return words(name)
    .map((w) => (w.length >= 4 ? `[${w}]` : w))
    .join(' ');
}

/** The value at a dotted path (`state.battery`); '' = the whole value. */
export function fieldAt(value: unknown, path: string): unknown {
  if (path === '') return value;
  let v: unknown = value;
  for (const key of path.split('.')) {
    if (v === null || typeof v !== 'object' || !Object.hasOwn(v, key)) return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

/** A value as words to speak: numbers rounded to one decimal, booleans on/off; undefined for objects. */
export function spokenValue(v: unknown): string | undefined {
  if (typeof v === 'number' && Number.isFinite(v)) return String(Math.round(v * 10) / 10);
  if (typeof v === 'boolean') return v ? 'on' : 'off';
  if (typeof v === 'string' && v.trim() !== '') return v.trim().toLowerCase();
  return undefined;
}

export interface DeviceStateResult {
  readonly say: string;
  readonly name: string;
  /** The value read; null when none has come yet or it is unusable. */
  readonly value: string | number | boolean | null;
  readonly unit: string;
  readonly topic: string;
  /** Age of the message, seconds; null when none has come. */
  readonly age_s: number | null;
  /** Set when the value could not be read: the code and why. */
  readonly error?: { readonly code: string; readonly message: string };
}

export function deviceStateTool(o: {
  readonly devices: readonly DeviceConfig[];
  readonly states: DeviceStates;
  readonly clock: Clock;
  /** Counts failed reads (E_SKILL_SOURCE), for health. */
  readonly onError?: (err: EdgeloomError) => void;
}): ToolDefinition<{ name: string }> {
  // The configured names as templates: a spoken name is matched as tolerantly as an intent.
  const names = compileIntents(
    o.devices.map((d, i) => ({
      name: `d${i}`,
      templates: [deviceTemplate(d.name) || '_'],
      action: { tool: '', args: {} },
    })),
  );
  return {
    name: 'device.state',
    description: `Read a device value the user configured (${o.devices.map((d) => d.name).join('; ') || 'none configured'}).`,
    parameters: {
      type: 'object',
      properties: {
        name: {
          type: 'string',
          minLength: 1,
          maxLength: 200,
          description: 'The device value, e.g. "temperature in the kitchen".',
        },
      },
      required: ['name'],
      additionalProperties: false,
    },
    async execute({ name }): Promise<DeviceStateResult> {
      const m = matchIntent(names, name);
      if (m === undefined || m.score < MIN_NAME_SCORE) {
        throw new EdgeloomError(
          ErrorCode.E_TOOL_REFUSED,
          `no device called ${JSON.stringify(name)} in agents.voice.skills.devices`,
          {
            where: 'device.state',
          },
        );
      }
      const d = o.devices[Number(m.intent.slice(1))]!;
      const base = { name: d.name, unit: d.unit, topic: d.topic };
      const last = o.states.get(d.topic);
      if (last === undefined)
        return { ...base, say: `I have not heard from the ${d.name} yet.`, value: null, age_s: null };
      const ageS = Math.max(0, Math.round((o.clock.now() - last.atMs) / 1000));
      const raw = fieldAt(last.value, d.field);
      const spoken = spokenValue(raw);
      if (spoken === undefined) {
        const err = new EdgeloomError(
          ErrorCode.E_SKILL_SOURCE,
          `${d.topic}: ${d.field === '' ? 'the payload' : `field ${JSON.stringify(d.field)}`} holds no value to speak`,
          { where: 'device.state' },
        );
        o.onError?.(err);
        return {
          ...base,
          say: `The last message about the ${d.name} has no value I can read.`,
          value: null,
          age_s: ageS,
          error: { code: err.code, message: err.message },
        };
      }
      const unit = d.unit === '' ? '' : ` ${d.unit}`;
      return {
        ...base,
        say: `The ${d.name} is ${spoken}${unit}.`,
        value: typeof raw === 'number' || typeof raw === 'boolean' ? raw : spoken,
        age_s: ageS,
      };
    },
  };
}
