import { describe, expect, it } from 'vitest';
import {
  fullTopic,
  MQTT_SOURCE_PATTERNS,
  type MqttMessage,
  toMqttMessage,
} from '../../daemon/actions/mqtt-contract.js';
import { type Envelope, Priority } from '../../daemon/bus/envelope.js';
import { patternMatches } from '../../daemon/bus/topic-match.js';
import type {
  AnswerEvent,
  DisplayAction,
  FaceInference,
  IntentEvent,
  MotionEvent,
  MqttAction,
  RouteDecision,
  SensorStatus,
  SpeakingEvent,
  SpeechEvent,
  TimerEvent,
  Transcript,
  WakeDetection,
} from '../../daemon/bus/topics.js';

/**
 * The public MQTT contract, row by row: topic (relative to `edgeloom/<device_id>`), QoS, retain,
 * payload fields (every payload carries `ts`, the event time), and what is never published.
 * QoS 1 for what a consumer must not miss, 0 for high-rate telemetry; retained for state
 * (display, sensor status) so a late subscriber sees the current value.
 */

const TS = 1_704_067_200_123;
let nextId = 1;

function env<T>(topic: string, payload: T, extra: Partial<Envelope<T>> = {}): Envelope<T> {
  return {
    id: String(nextId++),
    topic,
    tsMs: TS,
    source: 'test',
    priority: Priority.normal,
    confidence: undefined,
    tags: [],
    metadata: {},
    correlationId: undefined,
    payload,
    ...extra,
  };
}

const meta = { modelId: 'm1', confidence: 0.87654, latencyMs: 12.345, inputTsMs: TS - 5 };

const face: FaceInference = {
  ...meta,
  frameSeq: 42,
  width: 640,
  height: 480,
  faces: [
    {
      box: { x: 10.04, y: 20.06, width: 100.11, height: 120.19 },
      score: 0.61234,
      emotion: 'sad',
      probabilities: {
        neutral: 0.1,
        happy: 0.05,
        sad: 0.8,
        angry: 0.05,
        fearful: 0,
        disgusted: 0,
        surprised: 0,
      },
    },
    {
      box: { x: 300, y: 40, width: 90, height: 95 },
      score: 0.95,
      emotion: 'happy',
      probabilities: {
        neutral: 0.012345,
        happy: 0.987655,
        sad: 0,
        angry: 0,
        fearful: 0,
        disgusted: 0,
        surprised: 0,
      },
    },
  ],
};

const speechEnd: SpeechEvent = {
  ...meta,
  kind: 'end',
  segmentId: 'mic0:1',
  startMs: TS - 1500,
  endMs: TS - 100,
  sampleRateHz: 16_000,
  audio: new Int16Array(10),
};

const transcript: Transcript = {
  ...meta,
  text: 'turn on the kitchen light',
  language: 'en',
  noSpeechProb: 0.0123456,
  avgLogProb: -0.3,
  durationMs: 1400,
  inferenceMs: 321.06,
  segmentStartMs: TS - 1500,
  segmentId: 'mic0:1',
};

interface Row {
  readonly name: string;
  readonly env: Envelope;
  readonly topic: string;
  readonly qos: 0 | 1;
  readonly retain: boolean;
  /** Exact payload keys, `ts` included. */
  readonly keys: readonly string[];
}

const rows: readonly Row[] = [
  {
    name: 'face inference',
    env: env('inference/face/cam0', face),
    topic: 'face/emotion',
    qos: 0,
    retain: false,
    keys: ['ts', 'emotion', 'confidence', 'faces', 'frame_seq', 'model', 'latency_ms', 'id'],
  },
  {
    name: 'face refinement',
    env: env('inference/face/cam0/refined', { ...face, refines: '4' }),
    topic: 'face/emotion',
    qos: 0,
    retain: false,
    keys: ['ts', 'emotion', 'confidence', 'faces', 'frame_seq', 'model', 'latency_ms', 'refines', 'id'],
  },
  {
    name: 'speech start',
    env: env('inference/vad/mic0', { ...speechEnd, kind: 'start', endMs: undefined, audio: undefined }),
    topic: 'voice/speech',
    qos: 1,
    retain: false,
    keys: ['ts', 'state', 'start_ms', 'probability'],
  },
  {
    name: 'speech end',
    env: env('inference/vad/mic0', speechEnd),
    topic: 'voice/speech',
    qos: 1,
    retain: false,
    keys: ['ts', 'state', 'start_ms', 'end_ms', 'duration_ms', 'probability'],
  },
  {
    name: 'transcript',
    env: env('inference/stt/mic0', transcript),
    topic: 'voice/transcript',
    qos: 1,
    retain: false,
    keys: [
      'ts',
      'text',
      'language',
      'confidence',
      'no_speech_prob',
      'duration_ms',
      'inference_ms',
      'model',
      'final',
      'id',
    ],
  },
  {
    name: 'transcript refinement',
    env: env('inference/stt/mic0/refined', { ...transcript, refines: '5' }),
    topic: 'voice/transcript',
    qos: 1,
    retain: false,
    keys: [
      'ts',
      'text',
      'language',
      'confidence',
      'no_speech_prob',
      'duration_ms',
      'inference_ms',
      'model',
      'refines',
      'final',
      'id',
    ],
  },
  {
    name: 'display',
    env: env<DisplayAction>('action/display', { emotion: 'happy', emoji: '😀', confidence: 0.91 }),
    topic: 'display/set',
    qos: 1,
    retain: true,
    keys: ['ts', 'emotion', 'emoji', 'confidence', 'text'],
  },
  {
    name: 'timer',
    env: env<TimerEvent>('agent/timers/timer', {
      id: 't1',
      label: 'pasta',
      state: 'fired',
      seconds: 300,
      dueMs: 1_700_000_300_000,
    }),
    topic: 'voice/timer',
    qos: 1,
    retain: false,
    keys: ['ts', 'id', 'label', 'state', 'seconds', 'due_ts'],
  },
  {
    name: 'intent',
    env: env<IntentEvent>('agent/voice/intent', {
      intent: 'light_on',
      slots: { room: 'kitchen' },
      score: 0.8,
      text: 'turn on the kitchen light',
      source: 'local',
    }),
    topic: 'voice/intent',
    qos: 1,
    retain: false,
    keys: ['ts', 'intent', 'slots', 'score', 'text', 'source'],
  },
  {
    name: 'speaking (TTS end)',
    env: env<SpeakingEvent>('action/speaking', {
      state: 'end',
      text: 'It is sunny.',
      ok: false,
      utteranceId: 'u1',
      conversationId: 'c1',
    }),
    topic: 'voice/speaking',
    qos: 1,
    retain: false,
    keys: ['ts', 'state', 'text', 'utterance_id', 'conversation_id', 'ok'],
  },
  {
    name: 'answer',
    env: env<AnswerEvent>('agent/voice/answer', { text: 'It is sunny.', final: true, conversationId: 'c1' }),
    topic: 'voice/answer',
    qos: 1,
    retain: false,
    keys: ['ts', 'text', 'final', 'conversation_id'],
  },
  {
    name: 'wake word',
    env: env<WakeDetection>('inference/wake/mic0', {
      word: 'hey jarvis',
      score: 0.93,
      modelId: 'openwakeword-hey-jarvis',
    }),
    topic: 'voice/wake',
    qos: 1,
    retain: false,
    keys: ['ts', 'word', 'score', 'model'],
  },
  {
    name: 'motion',
    env: env<MotionEvent>('agent/motion/motion', {
      kind: 'fall',
      tsMs: TS,
      details: { free_fall_ms: 320, impact_g: 3.1 },
    }),
    topic: 'imu/motion',
    qos: 1,
    retain: false,
    keys: ['ts', 'kind', 'free_fall_ms', 'impact_g'],
  },
  {
    name: 'route decision',
    env: env<RouteDecision>('router/decision', {
      inferenceId: '17',
      kind: 'stt',
      modelId: 'whisper-tiny',
      route: 'local',
      reason: 'confidence_above_threshold',
      numbers: { confidence: 0.9, threshold: 0.6 },
      tier: 'private',
    }),
    topic: 'router/decision',
    qos: 0,
    retain: false,
    keys: ['ts', 'id', 'kind', 'model', 'route', 'reason', 'tier', 'numbers'],
  },
  {
    name: 'sensor status',
    env: env<SensorStatus>('sensor/camera/cam0/status', {
      sensor: 'cam0',
      kind: 'camera',
      state: 'restarting',
      reason: 'ffmpeg exited with code 1',
      restarts: 3,
      tsMs: TS,
    }),
    topic: 'sensor/cam0/status',
    qos: 1,
    retain: true,
    keys: ['ts', 'kind', 'state', 'reason', 'restarts'],
  },
  {
    name: 'stats snapshot',
    env: env('system/stats', { rates: { events_per_s: 12 }, memory: { rss_bytes: 1 } }),
    topic: 'stats',
    qos: 0,
    retain: true,
    keys: ['ts', 'rates', 'memory'],
  },
];

describe('MQTT contract', () => {
  it('timer: a timer event carries its label, state and length', () => {
    const m = toMqttMessage(
      env<TimerEvent>('agent/timers/timer', {
        id: 't1',
        label: null,
        state: 'set',
        seconds: 90,
        dueMs: TS + 90_000,
      }),
    )!;
    expect(m).toMatchObject({ topic: 'voice/timer', qos: 1, retain: false, privacy: { data: 'derived' } });
    expect(m.payload).toEqual({
      ts: TS,
      id: 't1',
      label: null,
      state: 'set',
      seconds: 90,
      due_ts: TS + 90_000,
    });
  });

  for (const row of rows) {
    it(`${row.name} → ${row.topic} (qos ${row.qos}, retain ${row.retain})`, () => {
      const msg = toMqttMessage(row.env);
      expect(msg).toBeDefined();
      expect(msg!.topic).toBe(row.topic);
      expect(msg!.qos).toBe(row.qos);
      expect(msg!.retain).toBe(row.retain);
      expect(msg!.absolute).toBeUndefined();
      expect(Object.keys(msg!.payload).sort()).toEqual([...row.keys].sort());
      expect(msg!.payload.ts).toBe(TS);
      // Payloads are plain JSON: nothing is lost or changed by a round trip (no buffers, no undefined).
      expect(JSON.parse(JSON.stringify(msg!.payload))).toEqual(msg!.payload);
    });
  }

  it('every source pattern has a row, and every row matches a source pattern', () => {
    for (const row of rows) {
      expect(MQTT_SOURCE_PATTERNS.some((p) => patternMatches(p, row.env.topic))).toBe(true);
    }
    for (const pattern of MQTT_SOURCE_PATTERNS) {
      const covered = rows.some((r) => patternMatches(pattern, r.env.topic)) || pattern === 'action/mqtt';
      expect(covered, pattern).toBe(true);
    }
  });

  it('face: the top-scoring face names the emotion; numbers are rounded for the wire', () => {
    const p = toMqttMessage(env('inference/face/cam0', face))!.payload;
    expect(p.emotion).toBe('happy');
    expect(p.confidence).toBe(0.877);
    expect(p.latency_ms).toBe(12.3);
    expect(p.frame_seq).toBe(42);
    const faces = p.faces as {
      score: number;
      box: Record<string, number>;
      probabilities: Record<string, number>;
    }[];
    expect(faces).toHaveLength(2);
    expect(faces[0]!.score).toBe(0.612);
    expect(faces[0]!.box).toEqual({ x: 10, y: 20.1, width: 100.1, height: 120.2 });
    expect(faces[1]!.probabilities.neutral).toBe(0.0123);
  });

  it('face: no face → emotion null, empty list', () => {
    const p = toMqttMessage(env('inference/face/cam0', { ...face, faces: [] }))!.payload;
    expect(p.emotion).toBeNull();
    expect(p.faces).toEqual([]);
  });

  it('speech: raw audio never leaves; end carries the duration; truncation is flagged', () => {
    const p = toMqttMessage(env('inference/vad/mic0', { ...speechEnd, truncated: true }))!.payload;
    expect(p.state).toBe('end');
    expect(p.duration_ms).toBe(1400);
    expect(p.truncated).toBe(true);
    expect(JSON.stringify(p)).not.toMatch(/audio/);
  });

  it('transcript: the envelope id identifies it and a refinement names what it refines', () => {
    const e = env('inference/stt/mic0/refined', { ...transcript, refines: '5' });
    const msg = toMqttMessage(e)!;
    const p = msg.payload;
    expect(p.id).toBe(e.id);
    expect(p.refines).toBe('5');
    // The local transcript's tier governs its refinement, whatever an override on …/refined says.
    expect(msg.privacy).toEqual({ data: 'derived', topic: 'inference/stt/mic0' });
    expect(toMqttMessage(env('inference/face/cam0/refined', face))!.privacy).toEqual({
      data: 'derived',
      topic: 'inference/face/cam0',
    });
    expect(p.no_speech_prob).toBe(0.012);
    expect(p.inference_ms).toBe(321.1);
  });

  it('voice/speaking and voice/answer are derived text under their own topic (the microphone tier)', () => {
    const start = toMqttMessage(env<SpeakingEvent>('action/speaking', { state: 'start', text: 'Hi.' }))!;
    // A start says nothing of how it went; ids absent are null, not missing.
    expect(start.payload).toEqual({
      ts: TS,
      state: 'start',
      text: 'Hi.',
      utterance_id: null,
      conversation_id: null,
    });
    expect(start.privacy).toEqual({ data: 'derived', topic: 'action/speaking' });
    const answer = toMqttMessage(
      env<AnswerEvent>('agent/voice/answer', { text: 'Hi.', final: false, conversationId: 'c' }),
    )!;
    expect(answer.privacy).toEqual({ data: 'derived', topic: 'agent/voice/answer' });
  });

  it('display: a missing text is null, not absent', () => {
    const p = toMqttMessage(
      env<DisplayAction>('action/display', { emotion: 'no_face', emoji: '', confidence: 0 }),
    )!.payload;
    expect(p.text).toBeNull();
    expect(p.emotion).toBe('no_face');
  });

  it('action/mqtt keeps its topic, qos and retain; a scalar payload is wrapped as {value}', () => {
    const relative = toMqttMessage(
      env<MqttAction>('action/mqtt', {
        topic: 'demo/kitchen/light/set',
        payload: 'ON',
        qos: 1,
        retain: false,
      }),
    )!;
    expect(relative).toEqual({
      topic: 'demo/kitchen/light/set',
      payload: { value: 'ON' },
      qos: 1,
      retain: false,
    });
    const absolute = toMqttMessage(
      env<MqttAction>('action/mqtt', {
        topic: 'home/kitchen/light/set',
        payload: { state: 'ON', brightness: 200 },
        qos: 0,
        retain: true,
        absolute: true,
      }),
    )!;
    expect(absolute).toMatchObject({
      topic: 'home/kitchen/light/set',
      payload: { state: 'ON', brightness: 200 },
      qos: 0,
      retain: true,
      absolute: true,
    });
    const list = toMqttMessage(
      env<MqttAction>('action/mqtt', { topic: 'x', payload: [1, 2], qos: 0, retain: false }),
    )!;
    expect(list.payload).toEqual({ value: [1, 2] });
  });

  it('internal topics are not published', () => {
    const internal = [
      env('sensor/camera/cam0/frame', { seq: 1 }),
      env('sensor/mic/mic0/frame', { seq: 1 }),
      env('sensor/imu/imu0/window', { tsMs: TS }),
      env('system/lifecycle', { kind: 'system_started' }),
      env('system/error', { severity: 'error' }),
      env('tool/mqtt.publish/result', { ok: true }),
      env('rpc/anything', {}),
      env('inference/face', face), // one level short of inference/face/+
    ];
    for (const e of internal) expect(toMqttMessage(e), e.topic).toBeUndefined();
  });

  it('fullTopic joins relative topics to the base and leaves absolute ones alone', () => {
    const rel: MqttMessage = { topic: 'voice/speech', payload: {}, qos: 1, retain: false };
    const abs: MqttMessage = { ...rel, topic: 'home/kitchen/light/set', absolute: true };
    expect(fullTopic('edgeloom/kitchen-pi', rel)).toBe('edgeloom/kitchen-pi/voice/speech');
    expect(fullTopic('edgeloom/kitchen-pi', abs)).toBe('home/kitchen/light/set');
    expect(fullTopic('edgeloom/kitchen-pi', { ...rel, absolute: false })).toBe(
      'edgeloom/kitchen-pi/voice/speech',
    );
  });
});
