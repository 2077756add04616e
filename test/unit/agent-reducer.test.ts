import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type EmotionDisplayEvent,
  initialEmotionState,
  reduceEmotion,
} from '../../daemon/agents/emotion-display.js';
import {
  initialMotionFilter,
  initialMotionState,
  type MotionDomainEvent,
  type MotionFilter,
  type MotionSample,
  reduceMotion,
  stepFilter,
} from '../../daemon/agents/motion.js';
import { type DomainEvent, deepFreeze, fold } from '../../daemon/agents/reducer.js';
import { initialVoiceState, reduceVoice, type VoiceEvent } from '../../daemon/agents/voice-assistant.js';
import { EMOTIONS } from '../../daemon/bus/topics.js';

const finite = (min: number, max: number) => fc.double({ min, max, noNaN: true, noDefaultInfinity: true });
const vec = (r: number) => fc.tuple(finite(-r, r), finite(-r, r), finite(-r, r));

const emotionEvent: fc.Arbitrary<EmotionDisplayEvent> = fc.oneof(
  fc.record({
    type: fc.constant('frame' as const),
    emotion: fc.constantFrom(...EMOTIONS),
    tsMs: fc.nat(100_000),
  }),
  fc.record({
    type: fc.constant('streak_reset' as const),
    faceTsMs: fc.option(fc.nat(100_000), { nil: null }),
  }),
  fc.record({
    type: fc.constant('shown' as const),
    emotion: fc.constantFrom(...EMOTIONS, 'no_face' as const),
    confidence: finite(0, 1),
    tsMs: fc.nat(100_000),
  }),
);

const voiceEvent: fc.Arbitrary<VoiceEvent> = fc.oneof(
  fc.record({
    type: fc.constant('matched' as const),
    intent: fc.string(),
    score: finite(0, 1),
    text: fc.string(),
  }),
  fc.record({ type: fc.constant('no_match' as const), score: finite(0, 1), text: fc.string() }),
  fc.record({ type: fc.constant('cloud_requested' as const), score: finite(0, 1), text: fc.string() }),
  fc.record({
    type: fc.constant('cloud_requested' as const),
    score: finite(0, 1),
    text: fc.string(),
    utteranceId: fc.constantFrom('u1', 'u2'),
    conversationId: fc.constantFrom('conversation-1', 'conversation-2'),
    atMs: fc.nat(1e6),
  }),
  fc.record({
    type: fc.constant('heard' as const),
    utterance: fc.record({
      id: fc.constantFrom('u1', 'u2'),
      text: fc.string(),
      topic: fc.constant('inference/stt/mic'),
      correlationId: fc.constant('c'),
      explicitCloud: fc.boolean(),
      atMs: fc.nat(1e6),
    }),
  }),
  fc.record({
    type: fc.constant('answered' as const),
    conversationId: fc.constantFrom('conversation-1', 'conversation-2'),
    user: fc.string({ maxLength: 400 }),
    assistant: fc.string({ maxLength: 2000 }),
    atMs: fc.nat(1e6),
  }),
  fc.record({
    type: fc.constant('conversation_forgotten' as const),
    conversationId: fc.constantFrom('conversation-1', 'conversation-2'),
  }),
  fc.record({
    type: fc.constant('ignored' as const),
    reason: fc.constantFrom('own_voice' as const, 'no_wake_phrase' as const, 'late_refinement' as const),
    text: fc.string(),
  }),
  fc.record({
    type: fc.constant('interrupted' as const),
    reason: fc.constantFrom('speech_start' as const, 'stop_word' as const),
    inFlight: fc.nat(4),
  }),
);

/** Detections with non-decreasing timestamps (the domain events the motion agent logs). */
const motionEvents: fc.Arbitrary<MotionDomainEvent[]> = fc
  .array(
    fc.record({
      dt: fc.integer({ min: 0, max: 3000 }),
      kind: fc.constantFrom(
        'fall' as const,
        'shake' as const,
        'tilt' as const,
        'still' as const,
        'moving' as const,
      ),
    }),
    { maxLength: 120 },
  )
  .map((items) => {
    let t = 0;
    return items.map((it): MotionDomainEvent => {
      t += it.dt;
      return { type: 'detected', kind: it.kind, tsMs: t, details: { n: it.dt } };
    });
  });

/**
 * IMU windows with increasing timestamps, sometimes far apart (gaps reset the running windows):
 * the motion filter (working memory) is folded over them like a reducer, and snapshotted as JSON.
 */
const motionSamples: fc.Arbitrary<(MotionSample & DomainEvent)[]> = fc
  .array(
    fc.record({
      dt: fc.oneof(
        { weight: 9, arbitrary: fc.integer({ min: 1, max: 50 }) },
        fc.integer({ min: 1, max: 2000 }),
      ),
      a: vec(4),
      g: vec(400),
      min: finite(0, 4),
      span: finite(0, 3),
    }),
    { maxLength: 120 },
  )
  .map((items) => {
    let t = 0;
    return items.map((it) => {
      t += it.dt;
      return {
        type: 'sample',
        tsMs: t,
        windowMs: Math.min(it.dt, 50),
        a: it.a,
        g: it.g,
        magMin: it.min,
        magMax: it.min + it.span,
        magMean: it.min + it.span / 2,
      };
    });
  });

const motionOptions = {
  freeFallG: 0.3,
  impactG: 2.5,
  shakeDegS: 250,
  shakeAccelG: 1.2,
  tiltDeg: 45,
  stillMs: 500,
  refractoryMs: 300,
};

const cases = [
  {
    name: 'emotion display',
    reduce: reduceEmotion,
    initial: initialEmotionState(),
    events: fc.array(emotionEvent, { maxLength: 120 }),
  },
  {
    name: 'voice',
    reduce: reduceVoice,
    initial: initialVoiceState(),
    events: fc.array(voiceEvent, { maxLength: 120 }),
  },
  {
    name: 'motion',
    reduce: reduceMotion,
    initial: initialMotionState(),
    events: motionEvents,
  },
  {
    name: 'motion filter (working memory)',
    reduce: (f: MotionFilter, e: MotionSample) => stepFilter(motionOptions, f, e),
    initial: initialMotionFilter(),
    events: motionSamples,
  },
] as const;

describe.each(cases)('$name reducer', ({ reduce, initial, events }) => {
  const r = reduce as (s: unknown, e: DomainEvent) => unknown;

  it('is pure: frozen inputs are never mutated and the same events give the same state', () => {
    fc.assert(
      fc.property(events, (evs) => {
        const frozen = deepFreeze(structuredClone(evs));
        const a = fold(r, deepFreeze(structuredClone(initial)), frozen as DomainEvent[]);
        const b = fold(r, deepFreeze(structuredClone(initial)), frozen as DomainEvent[]);
        expect(a).toEqual(b);
      }),
      { numRuns: 150 },
    );
  });

  it('folding with snapshots (JSON round trips, as stored) at random points equals folding straight through', () => {
    fc.assert(
      fc.property(events, fc.array(fc.nat(), { maxLength: 5 }), (evs, cuts) => {
        const straight = fold(r, initial, evs as DomainEvent[]);
        const points = new Set(cuts.map((c) => (evs.length === 0 ? 0 : c % evs.length)));
        let s: unknown = initial;
        (evs as DomainEvent[]).forEach((e, i) => {
          if (points.has(i)) s = JSON.parse(JSON.stringify(s));
          s = r(s, e);
        });
        expect(JSON.parse(JSON.stringify(s))).toEqual(JSON.parse(JSON.stringify(straight)));
      }),
      { numRuns: 150 },
    );
  });
});
