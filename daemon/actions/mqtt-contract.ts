/**
 * The public MQTT contract: which bus events leave the device, under which topic (relative to
 * the base topic `edgeloom/<device_id>/`), with which payload, QoS and retain flag. It is a pure
 * table so the real MQTT bridge and `replay --emit jsonl` print exactly the same messages.
 *
 * QoS 1 for actions and events a consumer must not miss; QoS 0 for high-rate telemetry
 * (face/emotion at the camera's rate, routing decisions, stats).
 *
 * Each row also says what its payload is for the privacy gate (mqtt-egress.ts): personal data
 * derived from a sensor (`privacy.data: 'derived'`, with the bus topic whose tier governs it, or
 * the tier a routing decision names), or device state (no `privacy`: status, stats, sensor state).
 * `action/mqtt` is the `mqtt.publish` tool's actuation: it goes to the topics the user listed in
 * `mqtt.publish_allow` and is not personal data in itself. No row carries raw audio or images.
 */
import type { Envelope } from '../bus/envelope.js';
import { patternMatches } from '../bus/topic-match.js';
import type {
  AnswerEvent,
  DisplayAction,
  FaceInference,
  IntentEvent,
  MotionEvent,
  MqttAction,
  PrivacyTier,
  RouteDecision,
  SensorStatus,
  SpeakingEvent,
  SpeechEvent,
  TimerEvent,
  Transcript,
  WakeDetection,
} from '../bus/topics.js';

export interface MqttMessage {
  /** Relative to the base topic unless `absolute`. */
  readonly topic: string;
  readonly payload: Record<string, unknown>;
  readonly qos: 0 | 1;
  readonly retain: boolean;
  readonly absolute?: boolean;
  /**
   * Sent as is instead of `JSON.stringify(payload)`: a scalar published by the `mqtt.publish` tool
   * to an absolute topic (another device's `.../set` topic expects the bare `ON`, not JSON).
   */
  readonly raw?: string;
  /** Bytes sent as is (a camera frame for Home Assistant's image entity, ha-image.ts); QoS 0 only. */
  readonly binary?: Buffer;
  /** What the payload carries for the privacy gate; absent = device state, not personal. */
  readonly privacy?: MessagePrivacy;
}

/** Personal data in a message: its class and where its tier comes from. */
export interface MessagePrivacy {
  /** `derived`: text, labels, boxes, events computed from a sensor; `raw`: audio or image bytes. */
  readonly data: 'derived' | 'raw';
  /** The bus topic whose privacy tier governs the message (the event it was made from). */
  readonly topic?: string;
  /** A tier fixed by the payload itself (a routing decision names the tier it was made under). */
  readonly tier?: PrivacyTier;
}

/** Retained contract topics that carry personal data: `forget` publishes an empty retained message on each. */
export const PERSONAL_RETAINED_TOPICS: readonly string[] = ['display/set'];

/** Contract topics (relative) that carry device state only. */
const DEVICE_STATE = /^(status|privacy|stats|cmd\/result|sensor\/[^/]+\/status)$/;

/**
 * Whether a queued message carries personal data (`forget` deletes those): a classified one, and
 * anything outside the device-state topics — messages queued before messages were classified,
 * and `mqtt.publish` actuations, which are made from what someone said.
 */
export function carriesPersonalData(
  topic: string,
  privacy: MessagePrivacy | undefined,
  baseTopic: string,
): boolean {
  if (privacy !== undefined) return true;
  if (!topic.startsWith(`${baseTopic}/`)) return true;
  return !DEVICE_STATE.test(topic.slice(baseTopic.length + 1));
}

type Mapper = (env: Envelope) => MqttMessage | undefined;

const round = (x: number, digits = 3): number => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};

const REFINED = '/refined';
/**
 * The bus topic whose tier governs an inference: its own, or for a cloud refinement
 * (`inference/<kind>/<id>/refined`) the local inference's, which the refinement was made from.
 */
const inferenceTopic = (topic: string): string =>
  topic.endsWith(REFINED) ? topic.slice(0, -REFINED.length) : topic;

function faceEmotion(env: Envelope): MqttMessage {
  const p = env.payload as FaceInference;
  const top = [...p.faces].sort((a, b) => b.score - a.score)[0];
  return {
    topic: 'face/emotion',
    qos: 0,
    retain: false,
    privacy: { data: 'derived', topic: inferenceTopic(env.topic) },
    payload: {
      ts: env.tsMs,
      emotion: top?.emotion ?? null,
      confidence: round(p.confidence),
      faces: p.faces.map((f) => ({
        emotion: f.emotion,
        score: round(f.score),
        box: {
          x: round(f.box.x, 1),
          y: round(f.box.y, 1),
          width: round(f.box.width, 1),
          height: round(f.box.height, 1),
        },
        probabilities: Object.fromEntries(Object.entries(f.probabilities).map(([k, v]) => [k, round(v, 4)])),
      })),
      frame_seq: p.frameSeq,
      model: p.modelId,
      latency_ms: round(p.latencyMs, 1),
      // A cloud refinement names the local result it supersedes (hybrid routing).
      ...(p.refines === undefined ? {} : { refines: p.refines }),
      id: env.id,
    },
  };
}

function speech(env: Envelope): MqttMessage {
  const p = env.payload as SpeechEvent;
  return {
    topic: 'voice/speech',
    qos: 1,
    retain: false,
    privacy: { data: 'derived', topic: env.topic },
    payload: {
      ts: env.tsMs,
      state: p.kind,
      start_ms: p.startMs,
      ...(p.endMs === undefined ? {} : { end_ms: p.endMs, duration_ms: p.endMs - p.startMs }),
      probability: round(p.confidence),
      ...(p.truncated ? { truncated: true } : {}),
    },
  };
}

function transcript(env: Envelope): MqttMessage {
  const p = env.payload as Transcript;
  return {
    topic: 'voice/transcript',
    qos: 1,
    retain: false,
    privacy: { data: 'derived', topic: inferenceTopic(env.topic) },
    payload: {
      ts: env.tsMs,
      text: p.text,
      language: p.language,
      confidence: round(p.confidence),
      no_speech_prob: round(p.noSpeechProb),
      duration_ms: p.durationMs,
      inference_ms: round(p.inferenceMs, 1),
      model: p.modelId,
      ...(p.refines === undefined ? {} : { refines: p.refines }),
      // The device's own transcript is immediate feedback a cloud refinement may still supersede;
      // what the assistant acted on is on voice/intent (act once).
      final: p.refines !== undefined,
      id: env.id,
    },
  };
}

/**
 * What the assistant says (the TTS actuator's start/end per utterance) and its answers: text made
 * from what someone said, so derived data under the microphone's tier (router/privacy.ts maps
 * these topics to the mic), like transcripts and intents. QoS 1: a display or an automation
 * following the conversation must not miss a sentence or an end.
 */
function speaking(env: Envelope): MqttMessage {
  const p = env.payload as SpeakingEvent;
  return {
    topic: 'voice/speaking',
    qos: 1,
    retain: false,
    privacy: { data: 'derived', topic: env.topic },
    payload: {
      ts: env.tsMs,
      state: p.state,
      text: p.text,
      utterance_id: p.utteranceId ?? null,
      conversation_id: p.conversationId ?? null,
      // Only `end` says how it went: false when it failed or was cut off (a barge-in).
      ...(p.ok === undefined ? {} : { ok: p.ok }),
    },
  };
}

/** A wake word heard (pipeline/wake/): Home Assistant can light a ring or chime on it. */
function wake(env: Envelope): MqttMessage {
  const p = env.payload as WakeDetection;
  return {
    topic: 'voice/wake',
    qos: 1,
    retain: false,
    privacy: { data: 'derived', topic: env.topic },
    payload: { ts: env.tsMs, word: p.word, score: round(p.score), model: p.modelId },
  };
}

function answer(env: Envelope): MqttMessage {
  const p = env.payload as AnswerEvent;
  return {
    topic: 'voice/answer',
    qos: 1,
    retain: false,
    privacy: { data: 'derived', topic: env.topic },
    payload: { ts: env.tsMs, text: p.text, final: p.final, conversation_id: p.conversationId },
  };
}

const table: ReadonlyArray<readonly [pattern: string, map: Mapper]> = [
  ['inference/face/+', faceEmotion],
  // Cloud refinements go out on the same MQTT topics as the local results, with `refines`.
  ['inference/face/+/refined', faceEmotion],
  ['inference/vad/+', speech],
  ['inference/stt/+', transcript],
  ['inference/stt/+/refined', transcript],
  [
    'action/display',
    (env) => {
      const p = env.payload as DisplayAction;
      return {
        topic: 'display/set',
        qos: 1,
        retain: true,
        privacy: { data: 'derived', topic: env.topic },
        payload: {
          ts: env.tsMs,
          emotion: p.emotion,
          emoji: p.emoji,
          confidence: round(p.confidence),
          text: p.text ?? null,
        },
      };
    },
  ],
  [
    'agent/+/intent',
    (env) => {
      const p = env.payload as IntentEvent;
      return {
        topic: 'voice/intent',
        qos: 1,
        retain: false,
        privacy: { data: 'derived', topic: env.topic },
        payload: {
          ts: env.tsMs,
          intent: p.intent,
          slots: p.slots,
          score: round(p.score),
          text: p.text,
          source: p.source,
        },
      };
    },
  ],
  // The TTS part of issue #14.
  ['action/speaking', speaking],
  ['agent/+/answer', answer],
  ['inference/wake/+', wake],
  [
    // A timer's life (voice skills, issue #14): its label was said by someone, so it is derived data.
    'agent/timers/timer',
    (env) => {
      const p = env.payload as TimerEvent;
      return {
        topic: 'voice/timer',
        qos: 1,
        retain: false,
        privacy: { data: 'derived', topic: env.topic },
        payload: {
          ts: env.tsMs,
          id: p.id,
          label: p.label,
          state: p.state,
          seconds: p.seconds,
          due_ts: p.dueMs,
        },
      };
    },
  ],
  [
    'agent/+/motion',
    (env) => {
      const p = env.payload as MotionEvent;
      return {
        topic: 'imu/motion',
        qos: 1,
        retain: false,
        privacy: { data: 'derived', topic: env.topic },
        payload: { ts: env.tsMs, kind: p.kind, ...p.details },
      };
    },
  ],
  [
    'router/decision',
    (env) => {
      const p = env.payload as RouteDecision;
      return {
        topic: 'router/decision',
        qos: 0,
        retain: false,
        privacy: { data: 'derived', tier: p.tier },
        payload: {
          ts: env.tsMs,
          id: p.inferenceId,
          kind: p.kind,
          model: p.modelId,
          route: p.route,
          reason: p.reason,
          tier: p.tier,
          numbers: p.numbers,
        },
      };
    },
  ],
  [
    'sensor/+/+/status',
    (env) => {
      const p = env.payload as SensorStatus;
      return {
        topic: `sensor/${p.sensor}/status`,
        qos: 1,
        retain: true,
        payload: {
          ts: env.tsMs,
          kind: p.kind,
          state: p.state,
          reason: p.reason ?? null,
          restarts: p.restarts,
        },
      };
    },
  ],
  [
    'system/stats',
    (env) => ({
      topic: 'stats',
      qos: 0,
      retain: true,
      payload: { ts: env.tsMs, ...(env.payload as Record<string, unknown>) },
    }),
  ],
  [
    'action/mqtt',
    (env) => {
      const p = env.payload as MqttAction;
      const payload =
        typeof p.payload === 'object' && p.payload !== null && !Array.isArray(p.payload)
          ? (p.payload as Record<string, unknown>)
          : { value: p.payload };
      // Our own topics carry JSON objects; a foreign topic gets a scalar bare (Home Assistant's and
      // zigbee2mqtt's light `set` topics take `ON`/`OFF`, not `{"value":"ON"}`).
      const scalar =
        typeof p.payload === 'string' || typeof p.payload === 'number' || typeof p.payload === 'boolean';
      return {
        topic: p.topic,
        qos: p.qos,
        retain: p.retain,
        payload,
        ...(p.absolute ? { absolute: true } : {}),
        ...(p.absolute && scalar ? { raw: String(p.payload) } : {}),
      };
    },
  ],
];

/** The bus patterns the MQTT bridge subscribes to. */
export const MQTT_SOURCE_PATTERNS: readonly string[] = table.map(([pattern]) => pattern);

/** Map a bus event to its MQTT message, or undefined when the contract does not publish it. */
export function toMqttMessage(env: Envelope): MqttMessage | undefined {
  for (const [pattern, map] of table) {
    if (patternMatches(pattern, env.topic)) return map(env);
  }
  return undefined;
}

/** Join a relative topic to the base (`edgeloom/<device_id>`). */
export function fullTopic(baseTopic: string, msg: MqttMessage): string {
  return msg.absolute ? msg.topic : `${baseTopic}/${msg.topic}`;
}
