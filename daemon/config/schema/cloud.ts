/** `cloud`: the OpenAI-compatible HTTP API, the only egress. */
import { bool, int, obj, str } from './builder.js';

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
