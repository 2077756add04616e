/** `router`: local, cloud or hybrid per inference. */
import { enm, int, num, obj, rec } from './builder.js';
import { PRIVACY_TIERS, privacyTier, probability } from './common.js';

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
