/**
 * Keys that were settings once and are no longer, with why: a config that still sets one is
 * refused (every unknown key is) with this reason instead of a bare "unknown key", so whoever
 * upgrades knows it was not a typo and what to do instead.
 */
export const REMOVED_KEYS: Readonly<Record<string, string>> = {
  'sensors.mic.sampling':
    'microphone frames are never thinned: the VAD and the speech segments need every frame (README, "Sensors"); delete the key',
  // Issue #14: the speak tool no longer runs its own program; the TTS actuator speaks for it.
  'agents.tts_command':
    'moved to agents.voice.tts.command, a list of arguments (e.g. [espeak-ng, -v, en]): the TTS actuator speaks for the speak tool (README, "Speech output (TTS)")',
  'agents.tts_input': 'moved to agents.voice.tts.input (same values: stdin, argument)',
};
