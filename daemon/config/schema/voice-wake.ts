/** `agents.voice.wake`: what makes the device listen (issue #14, wake modes). */
import { enm, int, obj, str } from './builder.js';
import { modelId, probability } from './common.js';

export const voiceWakeSchema = obj(
  'When speech is transcribed at all: always, after a wake word, or after push-to-talk (README, "Wake modes").',
  {
    mode: enm({
      description:
        "`always`: every speech segment is transcribed. `wake_word`: only segments inside a listening window opened by the wake word (openWakeWord, `model`), push-to-talk or a follow-up; without the model files the daemon falls back to `phrase` and transcribes everything. `push_to_talk`: only inside windows opened by `cmd/voice/listen` (or Home Assistant's Listen button) or a follow-up.",
      values: ['always', 'wake_word', 'push_to_talk'],
      default: 'always',
    }),
    model: modelId(
      "The wake word's classifier in the model manifest (its features come from `features_model`).",
      'openwakeword-hey-jarvis',
    ),
    features_model: modelId(
      "openWakeWord's melspectrogram and speech-embedding models in the manifest (shared by every word).",
      'openwakeword-features',
    ),
    threshold: probability(
      'Score (0..1) at which the wake word counts as said (openWakeWord suggests 0.5).',
      0.5,
    ),
    window_s: int({
      description:
        'How long a wake word or push-to-talk keeps the device listening, seconds (push-to-talk may ask for its own).',
      default: 8,
      minimum: 1,
      maximum: 300,
    }),
    refractory_ms: int({
      description:
        'After a wake word, no other detection for this long, ms (and not before the score fell below the threshold).',
      default: 2000,
      minimum: 0,
      maximum: 60_000,
    }),
    phrase: str({
      description:
        'Fallback without a wake-word model: an utterance starting with this phrase is taken (the rest is the command); empty = none.',
      default: 'hey edgeloom',
      maxLength: 64,
    }),
  },
);
