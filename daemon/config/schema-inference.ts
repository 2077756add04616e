import { arr, bool, enm, int, json, num, obj, rec, str } from './schema-builder.js';
import { ID_PATTERN, PRIVACY_TIERS, privacyTier } from './schema-sensors.js';

const modelId = (description: string, dflt: string) => str({ description, default: dflt, minLength: 1 });
const probability = (description: string, dflt: number) =>
  num({ description, default: dflt, minimum: 0, maximum: 1 });

export const vadSchema = obj('Voice activity detection (Silero VAD) on microphone frames.', {
  enabled: bool({ description: 'Run VAD.', default: true }),
  model: modelId('Model id in the model manifest.', 'silero-vad-v5'),
  positive_threshold: probability(
    'Speech probability (0..1) at or above which a frame counts as speech.',
    0.5,
  ),
  negative_threshold: probability(
    'Speech probability (0..1) below which a frame counts as silence (<= positive).',
    0.35,
  ),
  min_speech_ms: int({
    description: 'Shorter speech segments are discarded as noise, ms.',
    default: 250,
    minimum: 0,
  }),
  redemption_ms: int({
    description: 'Silence tolerated inside a segment before it ends, ms.',
    default: 480,
    minimum: 0,
  }),
  pre_roll_ms: int({ description: 'Audio kept from before speech onset, ms.', default: 192, minimum: 0 }),
  max_segment_ms: int({
    description: 'A segment is cut at this length, ms (bounds the audio held per utterance).',
    default: 15_000,
    minimum: 500,
  }),
});

export const faceSchema = obj('Face detection and emotion classification on camera frames.', {
  enabled: bool({ description: 'Run face detection.', default: true }),
  detector_model: modelId('Face detector model id in the manifest.', 'faceapi-tiny-face-detector'),
  emotion_model: modelId('Emotion classifier model id in the manifest.', 'faceapi-expression'),
  input_size: int({
    description: 'Detector input edge, pixels (square; a multiple of 32).',
    default: 416,
    minimum: 128,
    maximum: 1024,
    multipleOf: 32,
  }),
  min_score: probability('Detections below this score (0..1) are dropped.', 0.5),
  iou_threshold: probability('Non-maximum suppression overlap (IoU, 0..1) above which boxes merge.', 0.3),
  max_rate_hz: num({
    description: 'Most frames analysed per second, Hz; newer frames replace waiting ones.',
    default: 5,
    exclusiveMinimum: 0,
  }),
});

export const sttSchema = obj('Local speech-to-text on VAD segments.', {
  enabled: bool({ description: 'Run local transcription.', default: true }),
  engine: enm({
    description:
      "whisper = the Whisper model below; reference = the reference transcriber, a stand-in for whisper weights that cannot be downloaded here: it answers each segment with the replayed fixture's truth.speech text (model id reference-transcript). reference is valid only when replaying a fixture that has truth.speech.",
    values: ['whisper', 'reference'],
    default: 'whisper',
  }),
  model: modelId(
    'Speech-to-text model id in the manifest (whisper-tiny once fetched; whisper-synthetic-tiny ships for tests and the demo).',
    'whisper-tiny',
  ),
  language: str({ description: 'Spoken language, ISO 639-1 code.', default: 'en', pattern: '^[a-z]{2}$' }),
  max_tokens: int({
    description: 'Most tokens decoded per segment.',
    default: 128,
    minimum: 1,
    maximum: 448,
  }),
  concurrency: int({
    description:
      'Segments transcribed at once, each on its own Whisper instance (memory grows with it). 1 transcribes in segment order; 2 suits a 4-core board with several microphones.',
    default: 1,
    minimum: 1,
    maximum: 4,
  }),
  encoder_threads: int({
    description:
      "Intra-op threads of Whisper's encoder: it runs once per utterance on a 30 s window, large enough to split (measured: 2 threads lower the real-time factor on 2 cores). The decoder's per-token steps keep pipeline.onnx.intra_op_threads.",
    default: 2,
    minimum: 1,
    maximum: 64,
  }),
});

export const onnxSchema = obj('ONNX Runtime session options shared by every local model.', {
  intra_op_threads: int({
    description: 'Threads inside one operator; 1 keeps models from fighting over a Pi’s cores.',
    default: 1,
    minimum: 1,
    maximum: 64,
  }),
  graph_optimization: enm({
    description:
      'Graph optimisation level applied when a session is created (all: constant folding, fusions and the NCHWc layout; lower only to debug a model that optimises wrongly).',
    values: ['disabled', 'basic', 'extended', 'all'],
    default: 'all',
  }),
});

export const pipelineSchema = obj('Local inference stages.', {
  vad: vadSchema,
  face: faceSchema,
  stt: sttSchema,
  onnx: onnxSchema,
});

export const modelsSchema = obj('Where model files live.', {
  dir: str({
    description: 'Directory holding model files (relative to the working directory).',
    default: 'models',
    minLength: 1,
  }),
  manifest: str({
    description: 'Model manifest (id, file, sha256, licence, source).',
    default: 'models/manifest.json',
    minLength: 1,
  }),
  preload: bool({
    description:
      'Load every enabled model at start, so READY=1 means the first frame and utterance do not wait for a load. false: each loads on first use.',
    default: true,
  }),
  idle_unload_ms: int({
    description:
      'Unload a model nobody used for this long, ms (it reloads on the next use); 0 keeps models loaded. The memory guard unloads idle models under pressure either way.',
    default: 0,
    minimum: 0,
  }),
});

export const routerSchema = obj('Decides per inference whether to answer locally, in the cloud, or both.', {
  latency_budget_ms: int({
    description: 'Longest an answer may take, ms; the cloud is skipped when it cannot meet it.',
    default: 1500,
    minimum: 1,
  }),
  hybrid_band: probability(
    'Width (0..1) of the confidence band above a threshold where the local answer is sent and a cloud refinement requested.',
    0.1,
  ),
  thresholds: rec({
    description: 'Minimum local confidence (0..1) per model id; below it the router asks the cloud.',
    values: probability('Confidence threshold, 0..1.', 0.5),
    default: {
      'whisper-tiny': 0.6,
      'whisper-synthetic-tiny': 0.6,
      'faceapi-expression': 0.5,
      // Confidence = share of the spoken utterance the VAD segment covers (reference transcriber).
      'reference-transcript': 0.5,
    },
  }),
  cost: obj('Cloud spending limits.', {
    daily_cap_usd: num({
      description:
        'Cloud spend per local calendar day (resets at local midnight), USD; at the cap everything stays local.',
      default: 1,
      minimum: 0,
    }),
    chat_call_usd: num({ description: 'Estimated price of one chat call, USD.', default: 0.001, minimum: 0 }),
    transcription_call_usd: num({
      description: 'Estimated price of one transcription call, USD.',
      default: 0.006,
      minimum: 0,
    }),
  }),
  privacy: obj('Privacy tiers: private and local_only data never leaves the device.', {
    default_tier: privacyTier('Tier of topics no override matches.', 'sensitive'),
    overrides: rec({
      description: 'Tier per bus topic pattern (MQTT wildcards + and #); the most specific match wins.',
      values: enm({ description: 'Privacy tier.', values: PRIVACY_TIERS, default: 'sensitive' }),
      default: { 'inference/face/#': 'private' },
    }),
  }),
});

export const cloudSchema = obj('The only egress: an OpenAI-compatible HTTP API.', {
  enabled: bool({ description: 'Allow cloud calls at all.', default: false }),
  base_url: str({
    description: 'API base URL (OpenAI-compatible).',
    default: 'https://api.openai.com/v1',
    pattern: '^https?://',
  }),
  api_key: str({ description: 'Bearer token for the API.', default: '', secret: true }),
  allow_insecure_http: bool({
    description:
      'Must be true to send an api_key (or credentials in base_url) over http:// to a host other than loopback: anyone on the path can read the key, and the text sent with it.',
    default: false,
  }),
  chat_model: str({ description: 'Model for chat/intent refinement.', default: 'gpt-4o-mini', minLength: 1 }),
  transcription_model: str({
    description: 'Model for transcription refinement.',
    default: 'whisper-1',
    minLength: 1,
  }),
  timeout_ms: int({ description: 'Per-request timeout, ms.', default: 8000, minimum: 100 }),
  retries: int({
    description: 'Retries after a failed request (idempotent calls only).',
    default: 2,
    minimum: 0,
    maximum: 10,
  }),
  breaker: obj('Circuit breaker: after consecutive failures, calls are refused until the cool-down ends.', {
    failure_threshold: int({
      description: 'Consecutive failures that open the breaker.',
      default: 5,
      minimum: 1,
    }),
    cooldown_ms: int({
      description: 'Time the breaker stays open before one trial call, ms.',
      default: 30_000,
      minimum: 100,
    }),
  }),
});

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
  tts_command: str({
    description:
      'Text-to-speech program and fixed arguments for the speak tool, split on spaces (run without a shell).',
    default: 'espeak-ng',
    minLength: 1,
  }),
  tts_input: enm({
    description:
      'How the speak tool hands the text to tts_command: stdin (written to its standard input, then closed) ' +
      'or argument (last argument, after `--`). Never a bare argument, which the program could read as an option.',
    values: ['stdin', 'argument'],
    default: 'stdin',
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
