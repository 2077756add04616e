/**
 * The egress guard (daemon/router/egress.ts) as a structural check with a byte inspector behind
 * it. Structure: a request may carry only the fields its endpoint declares, and a field declared
 * raw (audio, an image) leaves only under `public`. Inspector: a field declared derived (text)
 * that holds raw samples in some encoding is raw. The properties run over arbitrary audio
 * samples in every encoding a bug (or a prompt-injected tool) could use to smuggle them out.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { PrivacyTier } from '../../daemon/bus/topics.js';
import { isEdgeloomError } from '../../daemon/errors.js';
import { encodeWav } from '../../daemon/media/wav.js';
import { SYSTEM_PROMPT } from '../../daemon/router/cloud-assist.js';
import { type GuardedRequest, guardRequest } from '../../daemon/router/egress.js';

const BASE = 'https://api.example.org/v1';
const JSON_TYPE = { 'content-type': 'application/json' };

/** The tool definitions the device sends with a chat (device-authored, declared metadata). */
const TOOLS = [
  {
    type: 'function',
    function: {
      name: 'mqtt_publish',
      description: 'Publish a message to an MQTT topic on the home broker. Allowed topics: home/+/light/set.',
      parameters: {
        type: 'object',
        properties: {
          topic: { type: 'string', minLength: 1, maxLength: 512, pattern: '^[^#+]+$' },
          payload: { description: 'Message payload (string, number or JSON object).' },
        },
        required: ['topic', 'payload'],
        additionalProperties: false,
      },
    },
  },
];

function chat(userContent: unknown, extra: Record<string, unknown> = {}): GuardedRequest['body'] {
  return Buffer.from(
    JSON.stringify({
      model: 'gpt-4o-mini',
      stream: true,
      messages: [
        { role: 'system', content: SYSTEM_PROMPT },
        { role: 'user', content: userContent },
      ],
      tools: TOOLS,
      ...extra,
    }),
  );
}

function request(
  body: Buffer,
  tier: PrivacyTier,
  explicit = false,
  path = '/chat/completions',
): GuardedRequest {
  return {
    url: `${BASE}${path}`,
    headers: JSON_TYPE,
    body,
    dataKind: 'text',
    context: { tier, reason: 'test', correlationId: 'c', sourceId: 's', explicitUserRequest: explicit },
  };
}

function refused(r: GuardedRequest): boolean {
  try {
    guardRequest(r);
    return false;
  } catch (err) {
    if (isEdgeloomError(err, 'E_PRIVACY_VIOLATION')) return true;
    throw err;
  }
}

const pcm = (s: Int16Array): Buffer => Buffer.from(s.buffer, s.byteOffset, s.byteLength);
const wrap = (text: string, width: number): string =>
  (text.match(new RegExp(`.{1,${width}}`, 'g')) ?? []).join('\r\n');

/** Ways to write audio samples as text. */
const ENCODINGS: Record<string, (s: Int16Array) => string> = {
  hex: (s) => pcm(s).toString('hex'),
  'upper-case hex': (s) => pcm(s).toString('hex').toUpperCase(),
  'hex with spaces between bytes': (s) => (pcm(s).toString('hex').match(/../g) ?? []).join(' '),
  'JSON sample array': (s) => JSON.stringify(Array.from(s)),
  'comma-separated samples': (s) => Array.from(s).join(', '),
  'float samples': (s) => Array.from(s, (x) => (x / 32768).toFixed(5)).join(','),
  'plain base64 (headerless PCM)': (s) => pcm(s).toString('base64'),
  'base64 without padding': (s) => pcm(s).toString('base64').replace(/=+$/, ''),
  'base64 shifted by one byte': (s) => pcm(s).subarray(1).toString('base64'),
  'base64 shifted by two bytes': (s) => pcm(s).subarray(2).toString('base64'),
  base64url: (s) => pcm(s).toString('base64url'),
  'MIME base64 (76-column lines)': (s) => wrap(pcm(s).toString('base64'), 76),
  'base64 in 40-column lines': (s) => wrap(pcm(s).toString('base64'), 40),
  'WAV as base64': (s) => encodeWav(s, 16_000).toString('base64'),
  'WAV as a data: URL': (s) => `data:audio/wav;base64,${encodeWav(s, 16_000).toString('base64')}`,
  'WAV bytes as latin1 text': (s) => encodeWav(s, 16_000).toString('latin1'),
  'PCM bytes as latin1 text': (s) => pcm(s).toString('latin1'),
};

/** One second of speech is 16 000 samples; 64 samples (4 ms) is already too much to let out. */
const samplesArb = fc.int16Array({ minLength: 64, maxLength: 2048 });
const strictTierArb = fc.constantFrom<PrivacyTier>('sensitive', 'private', 'local_only');
const WORDS = [
  'turn',
  'on',
  'the',
  'kitchen',
  'light',
  'please',
  'what',
  'time',
  'is',
  'it',
  'set',
  'a',
  'timer',
  'for',
  '5',
  'minutes',
  'twenty',
  '2024',
  'ok',
];
const sentenceArb = fc
  .array(fc.constantFrom(...WORDS), { minLength: 1, maxLength: 40 })
  .map((w) => w.join(' '));

describe('egress guard: raw samples in a text field never leave under a non-public tier', () => {
  for (const [name, encode] of Object.entries(ENCODINGS)) {
    it(`refuses ${name}`, () => {
      fc.assert(
        fc.property(
          samplesArb,
          strictTierArb,
          fc.boolean(),
          sentenceArb,
          (samples, tier, explicit, words) => {
            const content = `${words}: ${encode(samples)} ${words}`;
            expect(refused(request(chat(content), tier, explicit))).toBe(true);
          },
        ),
        { numRuns: 60 },
      );
    });
  }

  it('also inside the parts of a vision-style message (a text part)', () => {
    fc.assert(
      fc.property(samplesArb, fc.constantFrom(...Object.values(ENCODINGS)), (samples, encode) => {
        const parts = [{ type: 'text', text: encode(samples) }];
        expect(refused(request(chat(parts, { stream: false }), 'sensitive'))).toBe(true);
      }),
      { numRuns: 100 },
    );
  });

  it('lets ordinary transcripts and the tool definitions through under sensitive (and explicit private)', () => {
    fc.assert(
      fc.property(
        sentenceArb,
        fc.constantFrom<[PrivacyTier, boolean]>(['sensitive', false], ['private', true]),
        (text, [tier, explicit]) => {
          expect(refused(request(chat(text), tier, explicit))).toBe(false);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('egress guard: only declared fields leave, and raw fields only under public', () => {
  it('refuses a field the endpoint does not declare, whatever it holds', () => {
    for (const extra of [{ audio: 'hello' }, { samples: [1, 2, 3] }, { metadata: { note: 'hi' } }]) {
      expect(refused(request(chat('hello', extra), 'sensitive'))).toBe(true);
      expect(refused(request(chat('hello', extra), 'public'))).toBe(true);
    }
    // Same body shape, declared fields only: fine.
    expect(refused(request(chat('hello'), 'sensitive'))).toBe(false);
  });

  it('an image part is raw by declaration: refused below public even when its bytes look harmless', () => {
    const parts = [
      { type: 'text', text: 'label the face' },
      { type: 'image_url', image_url: { url: 'https://example.org/cat.png' } },
    ];
    const body = chat(parts, { stream: false, response_format: { type: 'json_object' } });
    expect(refused(request(body, 'sensitive'))).toBe(true);
    expect(refused(request(body, 'private', true))).toBe(true);
    expect(refused(request(body, 'public'))).toBe(false);
  });

  it('a transcription request carries a raw file part: public only', () => {
    const boundary = 'edgeloom-test';
    const field = (name: string, value: string) =>
      `--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`;
    const body = Buffer.concat([
      Buffer.from(
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="segment.wav"\r\nContent-Type: audio/wav\r\n\r\n`,
      ),
      encodeWav(new Int16Array(1600).fill(300), 16_000),
      Buffer.from(`\r\n${field('model', 'whisper-1')}${field('language', 'en')}--${boundary}--\r\n`),
    ]);
    const r = (tier: PrivacyTier, extraField = ''): GuardedRequest => ({
      ...request(Buffer.concat([body, Buffer.from(extraField)]), tier, false, '/audio/transcriptions'),
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
      dataKind: 'audio',
    });
    expect(refused(r('public'))).toBe(false);
    expect(refused(r('sensitive'))).toBe(true);
    // A part the endpoint does not declare is refused even under public.
    const smuggled = Buffer.concat([
      body.subarray(0, body.length - `--${boundary}--\r\n`.length),
      Buffer.from(field('prompt', 'x')),
      Buffer.from(`--${boundary}--\r\n`),
    ]);
    expect(refused({ ...r('public'), body: smuggled })).toBe(true);
  });

  it('refuses an endpoint without a declared shape, and a body that is not what it declares', () => {
    expect(refused(request(Buffer.from('{"input":"hello"}'), 'public', false, '/embeddings'))).toBe(true);
    expect(refused(request(Buffer.from('not json'), 'public'))).toBe(true);
  });
});
