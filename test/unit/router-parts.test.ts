import { describe, expect, it } from 'vitest';
import type { Emotion, FaceResult } from '../../daemon/bus/topics.js';
import { encodeWav } from '../../daemon/media/wav.js';
import { CircuitBreaker } from '../../daemon/router/breaker.js';
import { retryAfterMs } from '../../daemon/router/cloud-api.js';
import { ChatAccumulator, sseEvents } from '../../daemon/router/cloud-sse.js';
import {
  faceConfidence,
  faceResultConfidence,
  thresholdFor,
  whisperConfidence,
} from '../../daemon/router/confidence.js';
import { classifyBody, redactForTier } from '../../daemon/router/egress.js';
import { PrivacyTiers, sensorOfTopic } from '../../daemon/router/privacy.js';
import { VirtualClock } from '../../daemon/util/virtual-clock.js';

const probs = (p: Partial<Record<Emotion, number>>): Record<Emotion, number> => ({
  neutral: 0,
  happy: 0,
  sad: 0,
  angry: 0,
  fearful: 0,
  disgusted: 0,
  surprised: 0,
  ...p,
});
const face = (score: number, p: Partial<Record<Emotion, number>>): FaceResult => ({
  box: { x: 0, y: 0, width: 10, height: 10 },
  score,
  emotion: 'happy',
  probabilities: probs(p),
});

describe('confidence', () => {
  it('face = detector score × emotion margin; the weakest face decides; no face is certain', () => {
    expect(faceResultConfidence(face(0.9, { happy: 0.8, sad: 0.15 }))).toBeCloseTo(0.9 * 0.65);
    expect(faceResultConfidence(face(0.9, { happy: 0.45, sad: 0.44 }))).toBeCloseTo(0.009);
    const f = { faces: [face(0.9, { happy: 0.9, sad: 0.1 }), face(0.6, { angry: 0.5, sad: 0.3 })] };
    expect(faceConfidence(f)).toBeCloseTo(0.6 * 0.2);
    expect(faceConfidence({ faces: [] })).toBe(1);
  });

  it('whisper = exp(avgLogProb) × (1 − noSpeechProb); empty text and NaN are 0', () => {
    expect(whisperConfidence({ text: 'hi', avgLogProb: Math.log(0.8), noSpeechProb: 0.25 })).toBeCloseTo(0.6);
    expect(whisperConfidence({ text: '  ', avgLogProb: 0, noSpeechProb: 0 })).toBe(0);
    expect(whisperConfidence({ text: 'hi', avgLogProb: Number.NaN, noSpeechProb: 0 })).toBe(0);
    expect(whisperConfidence({ text: 'hi', avgLogProb: 3, noSpeechProb: -1 })).toBe(1);
  });

  it('thresholds per model id with a default', () => {
    expect(thresholdFor({ a: 0.7 }, 'a')).toBe(0.7);
    expect(thresholdFor({ a: 0.7 }, 'b')).toBe(0.5);
    // The face stage reports detector+classifier; a part's threshold applies, the strictest wins.
    expect(thresholdFor({ cls: 0.8 }, 'det+cls')).toBe(0.8);
    expect(thresholdFor({ det: 0.3, cls: 0.8 }, 'det+cls')).toBe(0.8);
    expect(thresholdFor({ det: 0.3, cls: 0.8, 'det+cls': 0.4 }, 'det+cls')).toBe(0.4);
    expect(thresholdFor({ x: 0.9 }, 'det+cls')).toBe(0.5);
    expect(thresholdFor({}, 'constructor+toString')).toBe(0.5);
  });
});

describe('privacy tiers', () => {
  const sensors = {
    camera: { privacy: 'local_only' as const },
    mic: { privacy: 'sensitive' as const },
    imu: { privacy: 'public' as const },
  };

  it('maps topics to sensors', () => {
    expect(sensorOfTopic('inference/stt/mic0')).toBe('mic');
    expect(sensorOfTopic('inference/face/cam0')).toBe('camera');
    expect(sensorOfTopic('agent/voice/intent')).toBe('mic');
    // A wake word heard is derived from the microphone: its tier decides whether it leaves.
    expect(sensorOfTopic('inference/wake/mic0')).toBe('mic');
    expect(sensorOfTopic('router/decision')).toBeUndefined();
  });

  it('takes the stricter of sensor tier and most specific override; default elsewhere', () => {
    const p = new PrivacyTiers({
      privacy: {
        default_tier: 'private',
        overrides: { 'inference/#': 'public', 'inference/stt/kitchen': 'private' },
      },
      sensors,
    });
    expect(p.tierFor('inference/stt/mic0')).toBe('sensitive'); // override public, sensor sensitive
    expect(p.tierFor('inference/stt/kitchen')).toBe('private'); // most specific override
    expect(p.tierFor('inference/face/cam0')).toBe('local_only'); // sensor wins
    expect(p.tierFor('sensor/imu/imu0/window')).toBe('public');
    expect(p.tierFor('rpc/x')).toBe('private'); // default
  });

  it('run-time changes apply to the next lookup and bad input is refused', () => {
    const p = new PrivacyTiers({ privacy: { default_tier: 'sensitive', overrides: {} }, sensors });
    expect(p.tierFor('inference/stt/mic0')).toBe('sensitive');
    p.setTier('sensor:mic', 'public');
    expect(p.tierFor('inference/stt/mic0')).toBe('public');
    p.setTier('inference/stt/+', 'local_only');
    expect(p.tierFor('inference/stt/mic0')).toBe('local_only');
    p.setTier('inference/stt/+', 'public');
    expect(p.tierFor('inference/stt/mic0')).toBe('public');
    expect(() => p.setTier('sensor:radar', 'public')).toThrow(
      expect.objectContaining({ code: 'E_PRIVACY_SCOPE' }),
    );
    expect(() => p.setTier('a/#/b', 'public')).toThrow(expect.objectContaining({ code: 'E_PRIVACY_SCOPE' }));
    expect(() => p.setTier('sensor:mic', 'open' as never)).toThrow(
      expect.objectContaining({ code: 'E_PRIVACY_TIER' }),
    );
  });
});

describe('egress classification and redaction', () => {
  const wav = encodeWav(new Int16Array([1, -2, 3, 400]), 16_000);

  it('sees raw data whatever the caller declares', () => {
    expect(classifyBody(wav, 'text')).toBe('raw');
    expect(classifyBody(Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2]), 'text')).toBe('raw');
    expect(classifyBody(Buffer.from(JSON.stringify({ img: wav.toString('base64') })), 'text')).toBe('raw');
    expect(classifyBody(Buffer.from(new Int16Array([0, 0, 0]).buffer), 'text')).toBe('raw'); // NUL bytes
    expect(classifyBody(Buffer.from([0xc3, 0x28]), 'text')).toBe('raw'); // not UTF-8
    expect(classifyBody(Buffer.from('{"text":"a big WAVE from RIFF"}'), 'text')).toBe('derived');
    expect(classifyBody(Buffer.from('{"text":"hi"}'), 'audio')).toBe('raw');
    expect(classifyBody(Buffer.alloc(0), 'none')).toBe('empty');
  });

  it('redacts per tier', () => {
    const content = {
      text: 't',
      labels: { emotion: 'happy' },
      audio: { samples: new Int16Array(4), sampleRateHz: 16_000 },
      image: Buffer.from([1]),
    };
    expect(Object.keys(redactForTier(content, 'public').content).sort()).toEqual([
      'audio',
      'image',
      'labels',
      'text',
    ]);
    expect(redactForTier(content, 'sensitive')).toMatchObject({ removed: ['audio', 'image'] });
    expect(Object.keys(redactForTier(content, 'sensitive').content).sort()).toEqual(['labels', 'text']);
    expect(redactForTier(content, 'private').content).toEqual({});
    expect(Object.keys(redactForTier(content, 'private', true).content).sort()).toEqual(['labels', 'text']);
    expect(redactForTier(content, 'local_only', true).content).toEqual({});
  });
});

describe('circuit breaker', () => {
  it('opens after N failures, half-opens after the cooldown, one probe, recovers or re-opens', async () => {
    const clock = new VirtualClock(0);
    const b = new CircuitBreaker({ clock, failureThreshold: 3, cooldownMs: 1000 });
    for (let i = 0; i < 2; i++) {
      expect(b.tryAcquire()).toBe(true);
      b.onFailure();
    }
    b.onSuccess(); // a success resets the count
    for (let i = 0; i < 3; i++) {
      expect(b.tryAcquire()).toBe(true);
      b.onFailure();
    }
    expect(b.state()).toBe('open');
    expect(b.tryAcquire()).toBe(false);
    await clock.advanceTo(999);
    expect(b.state()).toBe('open');
    await clock.advanceTo(1000);
    expect(b.state()).toBe('half_open');
    expect(b.tryAcquire()).toBe(true);
    expect(b.tryAcquire()).toBe(false); // only one probe
    b.onFailure();
    expect(b.state()).toBe('open');
    await clock.advanceTo(2000);
    expect(b.tryAcquire()).toBe(true);
    b.onSuccess();
    expect(b.state()).toBe('closed');
    expect(b.opens).toBe(2);
  });
});

function streamOf(parts: string[]): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  return new ReadableStream({
    start(c) {
      for (const p of parts) c.enqueue(enc.encode(p));
      c.close();
    },
  });
}

describe('SSE and chat accumulation', () => {
  it('splits events across arbitrary chunk boundaries, CRLF, comments, multi-line data, [DONE]', async () => {
    const out: string[] = [];
    for await (const d of sseEvents(
      streamOf([': hi\r\ndata: {"a"', ':1}\r', '\n\r\ndata: x\ndata: y\n\ndata: [DONE]\n\ndata: after\n\n']),
    )) {
      out.push(d);
    }
    expect(out).toEqual(['{"a":1}', 'x\ny']);
  });

  it('folds tool_call argument fragments by index', () => {
    const acc = new ChatAccumulator();
    const chunk = (delta: object, finish: string | null = null): string =>
      JSON.stringify({ choices: [{ delta, finish_reason: finish }] });
    acc.push(chunk({ content: 'Sure' }));
    acc.push(
      chunk({ tool_calls: [{ index: 0, id: 'call_1', function: { name: 'light_on', arguments: '{"ro' } }] }),
    );
    acc.push(
      chunk({ tool_calls: [{ index: 1, id: 'call_2', function: { name: 'timer', arguments: '{}' } }] }),
    );
    acc.push(chunk({ tool_calls: [{ index: 0, function: { arguments: 'om":"kitchen"}' } }] }));
    acc.push(chunk({}, 'tool_calls'));
    const r = acc.result();
    expect(r.content).toBe('Sure');
    expect(r.finishReason).toBe('tool_calls');
    expect(r.toolCalls).toEqual([
      { id: 'call_1', name: 'light_on', arguments: '{"room":"kitchen"}' },
      { id: 'call_2', name: 'timer', arguments: '{}' },
    ]);
    expect(JSON.parse(r.toolCalls[0]!.arguments)).toEqual({ room: 'kitchen' });
    expect(() => acc.push('{not json')).toThrow(expect.objectContaining({ code: 'E_CLOUD_BAD_RESPONSE' }));
  });

  it('parses Retry-After seconds and dates', () => {
    expect(retryAfterMs('2', 0)).toBe(2000);
    expect(retryAfterMs('Thu, 01 Jan 1970 00:00:05 GMT', 1000)).toBe(4000);
    expect(retryAfterMs('soon', 0)).toBeUndefined();
    expect(retryAfterMs(null, 0)).toBeUndefined();
  });
});
