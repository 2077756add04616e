/** `models`: where model files live. */
import { bool, int, obj, str } from './builder.js';

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
