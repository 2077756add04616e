/**
 * `agents.voice.tts`: the TTS actuator (actions/tts.ts), which speaks `action/say` one utterance
 * at a time. The program runs as argv, never through a shell; the text reaches it on its standard
 * input or after `--`, never where it reads options. README, "Speech output (TTS)".
 */
import { arr, bool, enm, int, obj, str } from './builder.js';

/** An argv element: placeholders `{utterance}` and `{output}` are filled per utterance. */
const argvItem = str({ description: 'One argument (no shell: no quoting, no $VARS).', minLength: 1 });

export const voiceTtsSchema = obj('Speech output: the TTS actuator (one utterance at a time).', {
  enabled: bool({
    description: 'Speak `action/say` (answers, skills, timers, the speak tool). False: nothing is spoken.',
    default: true,
  }),
  command: arr({
    description:
      'The TTS program and its arguments, run without a shell. `{utterance}` becomes the utterance id ' +
      '(letters, digits, `-` and `_` only: a file name, e.g. `espeak-ng -w /tmp/{utterance}.wav`); ' +
      '`{output}` becomes output_device. Piper: `[piper, --model, <voice>.onnx, --output-raw]` with a player.',
    items: argvItem,
    default: ['espeak-ng'],
    minItems: 1,
    maxItems: 32,
  }),
  input: enm({
    description:
      'How the text reaches the program: stdin (written to its standard input, then closed; espeak-ng, ' +
      'piper and festival --tts read it there) or argument (the last argument, after `--`). Never a bare ' +
      'argument, which the program could read as an option.',
    values: ['stdin', 'argument'],
    default: 'stdin',
  }),
  player: arr({
    description:
      'A program that plays what the TTS program writes on its standard output (piped, no shell), e.g. ' +
      '`[aplay, -q, -D, "{output}"]` for `espeak-ng --stdout`. Empty: the TTS program plays the audio itself.',
    items: argvItem,
    default: [],
    maxItems: 32,
  }),
  output_device: str({
    description:
      'The sound device put where `{output}` stands in command or player (an ALSA PCM name such as ' +
      '`default`, `plughw:1,0` or `hdmi:CARD=vc4hdmi0`).',
    default: 'default',
    minLength: 1,
    maxLength: 128,
    pattern: '^[A-Za-z0-9_.,:=-]+$',
  }),
  queue_size: int({
    description:
      'Utterances waiting to be spoken at most (the one playing not counted). When full, a new one is ' +
      'dropped and counted: the answer being read stays coherent rather than losing its beginning.',
    default: 16,
    minimum: 1,
    maximum: 256,
  }),
  max_utterance_ms: int({
    description: 'One utterance is killed (SIGTERM) after this long, ms, and counted failed.',
    default: 60_000,
    minimum: 100,
    maximum: 600_000,
  }),
});
