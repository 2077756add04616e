/** `agents`: the event-sourced agents. */
import { arr, int, json, num, obj, rec, str } from './builder.js';
import { ID_PATTERN, probability } from './common.js';
import { voiceConversationKeys } from './voice-conversation.js';
import { voiceSkillsSchema } from './voice-skills.js';
import { voiceTtsSchema } from './voice-tts.js';
import { voiceWakeSchema } from './voice-wake.js';

const intentSchema = obj('One voice intent.', {
  name: str({ description: 'Intent name, published on agent/voice/intent.', pattern: ID_PATTERN }),
  templates: arr({
    description: 'Phrases that trigger it; `{slot}` captures a word, e.g. "turn on the {room} light".',
    items: str({ description: 'One template.', minLength: 1 }),
    default: [],
    maxItems: 64,
  }),
  action: obj('Tool call made when the intent matches.', {
    tool: str({ description: 'Tool name, e.g. mqtt.publish; empty = publish the intent only.', default: '' }),
    args: rec({
      description: 'Tool arguments; string values may use {slot} placeholders.',
      values: json({ description: 'Argument value (any JSON).' }),
      default: {},
    }),
  }),
});

export const agentsSchema = obj('Event-sourced agents.', {
  emotion_display: obj('Shows the dominant emotion of the visible face.', {
    k_frames: int({
      description: 'Consecutive frames agreeing before the display changes.',
      default: 3,
      minimum: 1,
    }),
    min_ms: int({
      description:
        'A new top emotion must also have been top for at least this long, ms, before the display changes (both k_frames and min_ms must hold).',
      default: 1500,
      minimum: 0,
    }),
    no_face_timeout_ms: int({
      description: 'No face for this long, ms, shows no_face.',
      default: 3000,
      minimum: 0,
    }),
  }),
  voice: obj('Maps transcripts to intents and tool calls.', {
    min_match_score: probability('Lowest template match score (0..1) that counts as an intent.', 0.6),
    intents: arr({ description: 'Known intents.', items: intentSchema, default: [], maxItems: 256 }),
    ...voiceConversationKeys,
    skills: voiceSkillsSchema,
    tts: voiceTtsSchema,
    wake: voiceWakeSchema,
  }),
  motion: obj('Classifies IMU events: fall, shake, tilt, still.', {
    free_fall_g: num({
      description: 'Acceleration magnitude below which the device is falling, g.',
      default: 0.3,
      minimum: 0,
    }),
    impact_g: num({
      description: 'Acceleration magnitude above which a fall ends in an impact, g.',
      default: 2.5,
      minimum: 0,
    }),
    shake_deg_s: num({
      description: 'Peak angular rate counted as shaking, deg/s.',
      default: 250,
      minimum: 0,
    }),
    tilt_deg: num({
      description: 'Tilt from rest orientation reported as tilt, degrees.',
      default: 45,
      minimum: 0,
      maximum: 180,
    }),
    still_ms: int({
      description: 'Quiet for this long, ms, is reported as still.',
      default: 5000,
      minimum: 0,
    }),
    shake_accel_g: num({
      description: 'Linear acceleration swing (away from gravity) counted as a shake stroke, g.',
      default: 1.2,
      minimum: 0,
    }),
    refractory_ms: int({
      description: 'The same motion kind is not reported again within this time, ms (debounce).',
      default: 2000,
      minimum: 0,
    }),
  }),
  cloud_tools: obj(
    'What the cloud LLM may make the device do. It is an untrusted caller: anyone within earshot can steer it by speaking.',
    {
      allow: arr({
        description:
          'Tools the cloud may call (mqtt.publish, display.show, speak, log); only these are offered to it. Default none: it may answer, not act.',
        items: str({ description: 'A tool name.', pattern: '^[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)*$' }),
        default: [],
        maxItems: 32,
      }),
      publish_allow: arr({
        description:
          "Topics (MQTT patterns) the cloud's mqtt.publish may use; each must also be in mqtt.publish_allow. Retained publishes are never allowed from the cloud.",
        items: str({ description: 'An MQTT topic or pattern.', minLength: 1 }),
        default: [],
        maxItems: 64,
      }),
      max_calls_per_utterance: int({
        description: 'Tool calls run per cloud answer; further calls in the answer are refused.',
        default: 2,
        minimum: 0,
        maximum: 8,
      }),
      max_calls_per_minute: int({
        description: 'Tool calls run for the cloud over any 60 s; further calls are refused.',
        default: 6,
        minimum: 0,
        maximum: 600,
      }),
    },
  ),
  tool_timeout_ms: int({
    description: 'Default time limit of one tool call, ms; the call is aborted past it.',
    default: 5000,
    minimum: 1,
  }),
  snapshot_every: int({
    description: 'Agent state snapshot every N events (bounds replay time at start).',
    default: 500,
    minimum: 1,
  }),
  retention_events: int({
    description: 'Events kept in the event log per agent; older ones are deleted after a snapshot.',
    default: 10_000,
    minimum: 1,
  }),
});
