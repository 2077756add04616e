/** `pipeline`: the local inference stages (VAD, face, speech-to-text) and ONNX Runtime. */
import { bool, enm, int, num, obj, str } from './builder.js';
import { modelId, probability } from './common.js';

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
  encoder_window_s: int({
    description:
      "Seconds of audio Whisper's encoder sees per utterance, s. 30 (default) is Whisper's own window: every utterance is padded to 30 s, so a 2 s command pays for 30 s of encoder. Less runs only that many seconds (grown in whole seconds to cover a longer utterance), as whisper.cpp's audio_ctx does: several times faster on short commands, but it needs an encoder export whose position table is sliced to the input length (the onnx-community/Xenova exports are not: start-up fails with E_WHISPER_WINDOW), and accuracy is at risk: Whisper was trained on 30 s windows only and with little trailing padding may cut a transcript short, miss its end or hallucinate. Not measurable here without the real weights; check on your own recordings first.",
    default: 30,
    minimum: 1,
    maximum: 30,
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
