/**
 * The internal contract: one map from topic to payload type. Topics are `/`-separated like MQTT;
 * `{id}` segments name a sensor or agent instance. Each stage subscribes upstream and publishes
 * downstream: sensors → pipeline → router → agents → actions.
 *
 * Keys use template-literal index signatures, so `TopicMap['sensor/camera/front/frame']`
 * resolves to CameraFrame while a typo'd static topic fails to compile. A key's `${string}` level
 * is one level (an id without `/`): subscriptions are typed by matching their pattern against
 * these keys level by level (patterns.ts), so `subscribe('inference/face/+', …)` receives a
 * FaceInference. Request/response topics (`rpc/…`) have their own map, rpc.ts.
 */
import type { ErrorCode } from '../errors.js';
import type { PayloadMatching } from './patterns.js';
import type { TimerCommand, TimerEvent, TimerReply } from './topics-timers.js';

export type { TimerCommand, TimerEvent, TimerReply, TimerView } from './topics-timers.js';

// ---------------------------------------------------------------- sensors

export type SensorKind = 'camera' | 'mic' | 'imu';

/** One JPEG frame as produced by the camera (decoding happens only in stages that need pixels). */
export interface CameraFrame {
  /** Per-source sequence number, starting at 0, increasing by one per frame emitted. */
  readonly seq: number;
  /** Capture time, ms since epoch (fixture time in replay). */
  readonly tsMs: number;
  readonly width: number;
  readonly height: number;
  /** Complete JPEG bitstream, SOI (FFD8) to EOI (FFD9). */
  readonly jpeg: Buffer;
}

/** A fixed-size block of microphone audio: 512 samples, 32 ms at 16 kHz (Silero VAD's frame). */
export interface AudioFrame {
  readonly seq: number;
  /** Time of the first sample, ms. */
  readonly tsMs: number;
  readonly sampleRateHz: number;
  /** Signed 16-bit mono PCM. */
  readonly samples: Int16Array;
}

/** One raw IMU reading in canonical units. */
export interface ImuSample {
  /** Host receive time (or fixture time), ms. */
  readonly tMs: number;
  /** Acceleration in g. */
  readonly ax: number;
  readonly ay: number;
  readonly az: number;
  /** Angular rate in deg/s. */
  readonly gx: number;
  readonly gy: number;
  readonly gz: number;
  /** Magnetic field in µT, when the device has a magnetometer. */
  readonly mx?: number;
  readonly my?: number;
  readonly mz?: number;
  /** The device's own timestamp, ms, when it sends one. */
  readonly deviceTsMs?: number;
}

/** IMU readings folded from the raw rate down to the configured event rate. */
export interface ImuEvent {
  /** End of the aggregation window, ms. */
  readonly tsMs: number;
  readonly windowMs: number;
  readonly sampleCount: number;
  /** Per-axis means over the window: acceleration in g, angular rate in deg/s. */
  readonly mean: { ax: number; ay: number; az: number; gx: number; gy: number; gz: number };
  /** Largest absolute value per axis over the window. */
  readonly peak: { ax: number; ay: number; az: number; gx: number; gy: number; gz: number };
  /** |a| in g over the window: free fall is a low min, an impact a high max. */
  readonly accelMagnitudeG: { min: number; max: number; mean: number };
}

export type SensorState = 'starting' | 'running' | 'stalled' | 'restarting' | 'paused' | 'failed' | 'stopped';

export interface SensorStatus {
  readonly sensor: string;
  readonly kind: SensorKind;
  readonly state: SensorState;
  /** Human-readable reason for the state (the missing binary, the exit code, ...). */
  readonly reason?: string;
  readonly restarts: number;
  readonly tsMs: number;
}

// ---------------------------------------------------------------- pipeline (inferences)

/** Every inference carries where it came from and how sure and how fast it was. */
export interface InferenceMeta {
  readonly modelId: string;
  /** 0..1; what it means is per model (see the router issue). */
  readonly confidence: number;
  readonly latencyMs: number;
  /** Timestamp of the input it was computed from, ms. */
  readonly inputTsMs: number;
}

export interface SpeechEvent extends InferenceMeta {
  readonly kind: 'start' | 'end';
  /**
   * The segment's id, the same on its `start` and `end`, unique within a run (`<mic>:<n>`). The
   * transcript of the segment carries it, and so does a cloud refinement of that transcript: the
   * router joins the segment's audio to a refinement by it.
   */
  readonly segmentId: string;
  /** Segment start (pre-roll included), ms. */
  readonly startMs: number;
  /** Segment end, ms; only on `end`. */
  readonly endMs?: number;
  readonly sampleRateHz: number;
  /** The segment's audio; only on `end`. */
  readonly audio?: Int16Array;
  /** Whether the segment hit the maximum length and was cut. */
  readonly truncated?: boolean;
}

export const EMOTIONS = ['neutral', 'happy', 'sad', 'angry', 'fearful', 'disgusted', 'surprised'] as const;
export type Emotion = (typeof EMOTIONS)[number];

export interface Box {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

export interface FaceResult {
  /** In source-frame pixels. */
  readonly box: Box;
  readonly score: number;
  readonly emotion: Emotion;
  readonly probabilities: Readonly<Record<Emotion, number>>;
}

export interface FaceInference extends InferenceMeta {
  readonly frameSeq: number;
  readonly width: number;
  readonly height: number;
  readonly faces: readonly FaceResult[];
  /** Set on a cloud refinement (`…/refined`): the envelope id of the local inference it supersedes. */
  readonly refines?: string;
}

export interface Transcript extends InferenceMeta {
  readonly text: string;
  readonly language: string;
  readonly noSpeechProb: number;
  /** Mean log-probability of the decoded tokens. */
  readonly avgLogProb: number;
  readonly durationMs: number;
  readonly inferenceMs: number;
  readonly segmentStartMs: number;
  /** The VAD segment it was transcribed from (SpeechEvent.segmentId). */
  readonly segmentId: string;
  /** Set on a cloud refinement (`…/refined`): the envelope id of the local transcript it supersedes. */
  readonly refines?: string;
}

// ---------------------------------------------------------------- router

export type Route = 'local' | 'cloud' | 'hybrid' | 'local_fallback' | 'drop';
export type PrivacyTier = 'public' | 'sensitive' | 'private' | 'local_only';

export interface RouteDecision {
  readonly inferenceId: string;
  readonly kind: string;
  readonly modelId: string;
  readonly route: Route;
  /** Machine-readable reason code, e.g. `confidence_above_threshold`. */
  readonly reason: string;
  /** The numbers the decision used (confidence, threshold, budget, cost...). */
  readonly numbers: Readonly<Record<string, number>>;
  readonly tier: PrivacyTier;
}

// ---------------------------------------------------------------- agents and actions

export interface DisplayAction {
  readonly emotion: Emotion | 'no_face';
  readonly emoji: string;
  readonly confidence: number;
  readonly text?: string;
}

/**
 * The speak tool around its TTS program: `start` just before the program runs, `end` when it
 * has exited (`ok` false when it failed or was cut off). The display page shows "speaking" between.
 */
export interface SpeakingEvent {
  readonly state: 'start' | 'end';
  readonly text: string;
  readonly ok?: boolean;
  readonly utteranceId?: string;
  readonly conversationId?: string;
}

// ---------------------------------------------------------------- voice (issue #14)

/** One sentence (or short text) for the TTS actuator to speak, queued one at a time. */
export interface SayAction {
  readonly text: string;
  /** The utterance this text answers, or the timer/skill that speaks. */
  readonly utteranceId: string;
  readonly conversationId?: string;
  /** The last sentence of an answer. */
  readonly final?: boolean;
  /** Who speaks: `answer` (the conversation loop), `skill`, `timer`, `tool.speak`. */
  readonly source: string;
}

/** Stop what is being spoken now and drop the queue (published critical: it overtakes the queue). */
export interface SilenceAction {
  readonly reason: 'barge_in' | 'stop_word' | 'command';
}

/**
 * The microphone's transcripts are acted on until `untilMs` (clock ms). `consent` (the
 * `voice.ask_cloud` tool, a Home Assistant button) also makes the next utterance in it an explicit
 * request for the cloud.
 */
export interface ListenWindow {
  readonly reason: 'wake_word' | 'push_to_talk' | 'follow_up' | 'consent';
  readonly untilMs: number;
}

// ---- wake modes (issue #14, the wake helper's part)
/** A wake word heard on a microphone (`inference/wake/<mic>`), above the configured threshold. */
export interface WakeDetection {
  /** The word as configured (`hey jarvis`). */
  readonly word: string;
  /** The classifier's score, 0..1. */
  readonly score: number;
  /** Manifest id of the word's classifier. */
  readonly modelId: string;
}

/** The voice agent's answer, streamed: sentences as they come (`final` false), then the whole text. */
export interface AnswerEvent {
  readonly text: string;
  readonly final: boolean;
  readonly conversationId: string;
}

/** A content fragment of a streamed cloud-assist answer (router → the voice agent's loop). */
export interface AssistDelta {
  /** CloudAssistRequest.streamId of the request it belongs to. */
  readonly streamId: string;
  readonly text: string;
}

export interface IntentEvent {
  readonly intent: string;
  /** Word slots as text; typed slots (`{n:number}`, `{s:duration}`) as numbers (a duration in seconds). */
  readonly slots: Readonly<Record<string, string | number>>;
  readonly score: number;
  readonly text: string;
  readonly source: 'local' | 'cloud';
}

export type MotionKind = 'fall' | 'shake' | 'tilt' | 'still' | 'moving';
export interface MotionEvent {
  readonly kind: MotionKind;
  readonly tsMs: number;
  readonly details: Readonly<Record<string, number>>;
}

/** A message for the MQTT bridge; the topic is relative to the device's base topic. */
export interface MqttAction {
  readonly topic: string;
  readonly payload: unknown;
  readonly qos: 0 | 1;
  readonly retain: boolean;
  /** True when `topic` is absolute (a tool publishing to `home/kitchen/light/set`). */
  readonly absolute?: boolean;
}

export interface ToolResult {
  readonly tool: string;
  readonly ok: boolean;
  readonly result?: unknown;
  readonly error?: { code: ErrorCode; message: string };
  readonly durationMs: number;
}

// ---------------------------------------------------------------- plugins

/** What a plugin publishes (docs/plugin-protocol.md): a JSON object, as the plugin wrote it. */
export type PluginPayload = Readonly<Record<string, unknown>>;

// ---------------------------------------------------------------- system

export type LifecycleKind =
  | 'system_started'
  | 'system_stopping'
  | 'component_started'
  | 'component_stopped'
  | 'component_failed';

export interface LifecycleEvent {
  readonly kind: LifecycleKind;
  readonly component?: string;
  readonly error?: { code: ErrorCode; message: string };
}

export type Severity = 'warning' | 'error' | 'critical';

export interface ErrorEvent {
  readonly severity: Severity;
  readonly component: string;
  readonly code: ErrorCode;
  readonly message: string;
  /** The topic being handled when it happened, if any. */
  readonly topic?: string;
}

// ---------------------------------------------------------------- the map

export interface TopicMap {
  [topic: `sensor/camera/${string}/frame`]: CameraFrame;
  [topic: `sensor/mic/${string}/frame`]: AudioFrame;
  /** One aggregated window of IMU readings (not a raw sample: `sampleCount` readings). */
  [topic: `sensor/imu/${string}/window`]: ImuEvent;
  [topic: `sensor/${string}/${string}/status`]: SensorStatus;

  [topic: `inference/vad/${string}`]: SpeechEvent;
  [topic: `inference/face/${string}`]: FaceInference;
  [topic: `inference/stt/${string}`]: Transcript;
  /** Wake modes (issue #14): a wake word heard on that microphone. */
  [topic: `inference/wake/${string}`]: WakeDetection;
  /**
   * Cloud refinements (the router's hybrid and cloud routes), on their own topics so consumers opt
   * in: `inference/face/+` and `inference/stt/+` never see them. They carry `refines`.
   */
  [topic: `inference/face/${string}/refined`]: FaceInference;
  [topic: `inference/stt/${string}/refined`]: Transcript;

  'router/decision': RouteDecision;

  'action/display': DisplayAction;
  'action/mqtt': MqttAction;
  'action/speaking': SpeakingEvent;
  'action/say': SayAction;
  'action/silence': SilenceAction;
  'action/listen': ListenWindow;
  'router/assist/delta': AssistDelta;
  [topic: `agent/${string}/intent`]: IntentEvent;
  [topic: `agent/${string}/answer`]: AnswerEvent;
  // voice skills (issue #14): the timers agent's command, reply and timer events
  'agent/timers/command': TimerCommand;
  'agent/timers/reply': TimerReply;
  'agent/timers/timer': TimerEvent;
  [topic: `agent/${string}/motion`]: MotionEvent;
  [topic: `tool/${string}/result`]: ToolResult;

  /** A plugin's own namespace: only that plugin publishes `plugin/<id>/<name>` (plugins/capabilities.ts). */
  [topic: `plugin/${string}/${string}`]: PluginPayload;
  /**
   * The readings of a sensor a plugin stands for (its config's `sensors`; capabilities.ts). Three
   * levels, so no `sensor/+/+/…` pattern of the built-in sensors reaches it.
   */
  [topic: `sensor/plugin/${string}`]: PluginPayload;

  'system/lifecycle': LifecycleEvent;
  'system/error': ErrorEvent;
  /** The periodic stats snapshot (daemon/observe/stats.ts), published as the retained MQTT `stats`. */
  'system/stats': Readonly<Record<string, unknown>>;
}

/** Any topic the map knows. */
export type Topic = keyof TopicMap & string;
/** The payload type published on topic T (matched level by level, as the bus matches). */
export type PayloadOf<T extends string> = PayloadMatching<TopicMap, T>;
