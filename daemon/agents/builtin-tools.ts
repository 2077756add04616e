/**
 * The built-in tools: `mqtt.publish` (allow-listed topics only), `display.show`, `speak` (queued
 * for the TTS actuator) and `log`. Each is a plain ToolDefinition; `registerBuiltinTools` adds them all.
 */
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { patternMatches } from '../bus/topic-match.js';
import type { DisplayAction, Emotion } from '../bus/topics.js';
import { EMOTIONS } from '../bus/topics.js';
import type { EventBus } from '../bus/types.js';
import { EdgeloomError, ErrorCode } from '../errors.js';
import type { Logger } from '../log.js';
import { printable } from '../util/printable.js';
import type { ToolDefinition, ToolRegistry } from './tools.js';

/** The emoji shown for each emotion, and for "nobody there". */
export const EMOJI: Readonly<Record<Emotion | 'no_face', string>> = Object.freeze({
  neutral: '😐',
  happy: '😄',
  sad: '😢',
  angry: '😠',
  fearful: '😨',
  disgusted: '🤢',
  surprised: '😮',
  no_face: '💤',
});

export interface MqttPublishArgs {
  topic: string;
  payload: unknown;
  qos?: 0 | 1;
  retain?: boolean;
}

/** `mqtt.publish`: an absolute-topic `action/mqtt` event, only to topics the allow-list matches. */
export function mqttPublishTool(bus: EventBus, allow: readonly string[]): ToolDefinition<MqttPublishArgs> {
  return {
    name: 'mqtt.publish',
    description:
      'Publish a message to an MQTT topic on the home broker (e.g. turn a light on by publishing "ON" to its set topic). Only allow-listed topics are accepted.',
    parameters: {
      type: 'object',
      properties: {
        topic: {
          type: 'string',
          minLength: 1,
          maxLength: 512,
          pattern: '^[^#+]+$',
          description: 'Absolute MQTT topic, no wildcards.',
        },
        payload: { description: 'Message payload (string, number or JSON object).' },
        qos: { enum: [0, 1], description: 'MQTT QoS, default 1.' },
        retain: { type: 'boolean', description: 'Retain flag, default false.' },
      },
      required: ['topic', 'payload'],
      additionalProperties: false,
    },
    async execute(args) {
      if (!allow.some((p) => patternMatches(p, args.topic))) {
        throw new EdgeloomError(
          ErrorCode.E_TOOL_REFUSED,
          `topic '${args.topic}' is not in mqtt.publish_allow (${allow.length === 0 ? 'empty' : allow.join(', ')})`,
          { where: 'tool mqtt.publish' },
        );
      }
      const action = {
        topic: args.topic,
        payload: args.payload,
        qos: args.qos ?? 1,
        retain: args.retain ?? false,
        absolute: true,
      };
      await bus.publish('action/mqtt', action, { source: 'tool.mqtt.publish' });
      return { topic: args.topic };
    },
  };
}

export interface DisplayShowArgs {
  /** Absent: the face shown now stays (a text-only update, e.g. Home Assistant's text entity). */
  emotion?: Emotion | 'no_face';
  emoji?: string;
  text?: string;
  confidence?: number;
}

/** `display.show`: an `action/display` event (the MQTT bridge turns it into `display/set`). */
export function displayShowTool(bus: EventBus): ToolDefinition<DisplayShowArgs> {
  // The face shown now: one value, the last this tool published.
  let shown: Emotion | 'no_face' = 'no_face';
  return {
    name: 'display.show',
    description: "Show an emotion (as an emoji) and optional text on the device's display.",
    parameters: {
      type: 'object',
      properties: {
        emotion: { enum: [...EMOTIONS, 'no_face'] },
        emoji: { type: 'string', maxLength: 16 },
        text: { type: 'string', maxLength: 200 },
        confidence: { type: 'number', minimum: 0, maximum: 1 },
      },
      additionalProperties: false,
    },
    async execute(args) {
      const emotion = args.emotion ?? shown;
      shown = emotion;
      const action: DisplayAction = {
        emotion,
        emoji: args.emoji ?? EMOJI[emotion],
        confidence: args.confidence ?? 1,
        ...(args.text === undefined ? {} : { text: args.text }),
      };
      await bus.publish('action/display', action, { source: 'tool.display.show' });
      return action;
    },
  };
}

/** True when `command` resolves on PATH (or is an executable path). */
export function commandExists(command: string): boolean {
  return spawnSync('sh', ['-c', 'command -v "$1"', 'sh', command], { stdio: 'ignore' }).status === 0;
}

/** How the TTS program gets the text (config `agents.voice.tts.input`; actions/tts-process.ts). */
export type TtsInput = 'stdin' | 'argument';

/**
 * The text as the TTS program gets it: control characters (C0, DEL, C1) become spaces, so a
 * caller cannot smuggle terminal escapes or line structure into a program that echoes its input.
 */
export function speakableText(text: string): string {
  return printable(text, 500);
}

/**
 * `speak`: queue a sentence for the TTS actuator (actions/tts.ts) as `action/say` with source
 * `tool.speak`, like every other voice on the device, so it waits its turn behind an answer being
 * read and a barge-in silences it too. It answers once the sentence is queued (`utteranceId`);
 * `action/speaking` start/end with that id follow when it is played. The actuator runs the program
 * as argv, the text never where the program reads options (tts-process.ts).
 * `E_TOOL_UNAVAILABLE` when speech output is off or its program is not installed.
 */
export function speakTool(
  bus: EventBus,
  available: boolean,
  program: string,
): ToolDefinition<{ text: string }> {
  let seq = 0;
  // Unique across restarts too (a consumer may match speaking events of an earlier run).
  const run = randomUUID().slice(0, 8);
  return {
    name: 'speak',
    description: 'Say a short sentence out loud through the device speaker.',
    parameters: {
      type: 'object',
      properties: { text: { type: 'string', minLength: 1, maxLength: 500 } },
      required: ['text'],
      additionalProperties: false,
    },
    async execute(args) {
      if (!available) {
        throw new EdgeloomError(
          ErrorCode.E_TOOL_UNAVAILABLE,
          `speak: '${program}' is not installed or speech output is off (agents.voice.tts)`,
          { where: 'tool speak' },
        );
      }
      const utteranceId = `speak-${run}-${++seq}`;
      await bus.publish(
        'action/say',
        { text: args.text, utteranceId, source: 'tool.speak' },
        { source: 'tool.speak' },
      );
      return { queued: true, utteranceId };
    },
  };
}

/** Log levels in order; a caller from outside the device writes at most `info`. */
const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * `log`: one line in the device's log. A line asked for by the cloud or an MQTT command carries
 * `origin` and the level it asked for, is written at `info` at most, and loses its control
 * characters, so it cannot pass for one of the daemon's own warnings or errors in the journal.
 */
export function logTool(logger: Logger): ToolDefinition<{ level: LogLevel; message: string }> {
  return {
    name: 'log',
    description: "Write a line to the device's log.",
    parameters: {
      type: 'object',
      properties: {
        level: { enum: [...LOG_LEVELS] },
        message: { type: 'string', maxLength: 1000 },
      },
      required: ['level', 'message'],
      additionalProperties: false,
    },
    async execute(args, { origin }) {
      const message = printable(args.message);
      if (origin === 'local') {
        logger[args.level]({ tool: 'log' }, message);
      } else {
        const level = LOG_LEVELS.indexOf(args.level) > LOG_LEVELS.indexOf('info') ? 'info' : args.level;
        logger[level]({ tool: 'log', origin, requested_level: args.level }, message);
      }
      return { logged: true };
    },
  };
}

export interface BuiltinToolsOptions {
  readonly bus: EventBus;
  readonly logger: Logger;
  /** mqtt.publish_allow. */
  readonly publishAllow: readonly string[];
  /**
   * The TTS program (agents.voice.tts.command[0]); undefined when speech output is off. The speak
   * tool is unavailable unless it is installed.
   */
  readonly ttsProgram?: string;
}

export function registerBuiltinTools(registry: ToolRegistry, o: BuiltinToolsOptions): void {
  registry.register(mqttPublishTool(o.bus, o.publishAllow));
  registry.register(displayShowTool(o.bus));
  const program = o.ttsProgram;
  registry.register(speakTool(o.bus, program !== undefined && commandExists(program), program ?? ''));
  registry.register(logTool(o.logger));
}
