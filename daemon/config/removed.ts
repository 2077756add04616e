/**
 * Keys that were settings once and are no longer, with why: a config that still sets one is
 * refused (every unknown key is) with this reason instead of a bare "unknown key", so whoever
 * upgrades knows it was not a typo and what to do instead.
 */
export const REMOVED_KEYS: Readonly<Record<string, string>> = {
  'sensors.mic.sampling':
    'microphone frames are never thinned: the VAD and the speech segments need every frame (README, "Sensors"); delete the key',
};
