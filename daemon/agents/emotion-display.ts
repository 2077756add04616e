/**
 * Emotion display agent: `inference/face/+` → `display.show` with hysteresis.
 *
 * The emotion of a frame is the top emotion of its highest-scoring face. The shown emotion
 * changes to a new one only when BOTH hold: the new emotion has been the frame emotion for
 * `kFrames` consecutive frames with a face, AND its streak spans at least `minMs` (time of the
 * latest frame minus time of the streak's first frame). Requiring both means a fast camera cannot
 * flip the display in a few milliseconds and a slow one cannot flip it on one frame. A frame with
 * another emotion, or without a face, restarts the streak.
 *
 * No face for `noFaceTimeoutMs` shows `no_face`: every frame with a face re-arms a clock timer,
 * which comes back as a timer input; the reducer only sees the resulting `no_face` event, so a
 * replay on a virtual clock takes the same path. The display is written only when it changes, and
 * the log only when the state does (a frame agreeing with the display is not an event; see
 * lastFaceStale).
 */
import type { Emotion, FaceInference } from '../bus/topics.js';
import { EMOJI } from './builtin-tools.js';
import type { AgentDefinition, AgentInput, DecideContext, Decision } from './reducer.js';

export interface EmotionDisplayOptions {
  readonly kFrames: number;
  readonly minMs: number;
  readonly noFaceTimeoutMs: number;
  /** Default `emotion-display`. */
  readonly id?: string;
}

export type Shown = Emotion | 'no_face';

export interface EmotionDisplayState {
  readonly shown: Shown;
  readonly shownConfidence: number;
  /** Time of the `shown` event now on display, ms; absent in logs from before it was kept. */
  readonly shownTsMs?: number;
  readonly candidate: Emotion | null;
  readonly streakFrames: number;
  readonly streakStartMs: number;
  /** Time of the last frame with a face, ms; null before the first. */
  readonly lastFaceMs: number | null;
  readonly changes: number;
  /**
   * The last frame's vote and the streak before it, so a cloud refinement of that frame replaces
   * its vote instead of adding one (act once); absent before the first frame.
   */
  readonly last?: LastVote;
}

/** A frame's vote as the display counted it, with the streak it was counted onto. */
export interface LastVote {
  /** The frame's envelope id (a refinement names it in `refines`). */
  readonly id: string;
  readonly tsMs: number;
  readonly emotion: Emotion;
  readonly before: {
    readonly candidate: Emotion | null;
    readonly streakFrames: number;
    readonly streakStartMs: number;
  };
}

export type EmotionDisplayEvent =
  /** A frame with a face whose top emotion differs from the shown one (extends or starts a streak). */
  | { readonly type: 'frame'; readonly emotion: Emotion; readonly tsMs: number; readonly id?: string }
  /** A cloud refinement of the last frame: its vote becomes `emotion` (the streak as if it had been). */
  | { readonly type: 'vote_replaced'; readonly emotion: Emotion; readonly shownAgrees: boolean }
  /** A frame with a face agreeing with the display, or without a face: the streak is broken. */
  | { readonly type: 'streak_reset'; readonly faceTsMs: number | null }
  | { readonly type: 'shown'; readonly emotion: Shown; readonly confidence: number; readonly tsMs: number };

export const NO_FACE_TIMER = 'no_face';
/**
 * Armed at start when the log says something was shown: the display (a kiosk page, an MQTT
 * `display/set` retained by a broker that may have restarted too) gets the persisted state again
 * as soon as the clock allows (at once on a live clock), instead of "no face" until the next change.
 */
export const RESHOW_TIMER = 'reshow';

export function initialEmotionState(): EmotionDisplayState {
  return {
    shown: 'no_face',
    shownConfidence: 1,
    candidate: null,
    streakFrames: 0,
    streakStartMs: 0,
    lastFaceMs: null,
    changes: 0,
  };
}

export function reduceEmotion(s: EmotionDisplayState, e: EmotionDisplayEvent): EmotionDisplayState {
  switch (e.type) {
    case 'frame': {
      const last: LastVote | undefined =
        e.id === undefined
          ? undefined
          : {
              id: e.id,
              tsMs: e.tsMs,
              emotion: e.emotion,
              before: {
                candidate: s.candidate,
                streakFrames: s.streakFrames,
                streakStartMs: s.streakStartMs,
              },
            };
      const counted: EmotionDisplayState =
        s.candidate === e.emotion
          ? { ...s, streakFrames: s.streakFrames + 1, lastFaceMs: e.tsMs }
          : { ...s, candidate: e.emotion, streakFrames: 1, streakStartMs: e.tsMs, lastFaceMs: e.tsMs };
      if (last !== undefined) return { ...counted, last };
      const { last: _dropped, ...rest } = counted;
      return rest;
    }
    case 'vote_replaced': {
      const l = s.last;
      if (l === undefined) return s;
      const b = l.before;
      const restored = {
        ...s,
        candidate: b.candidate,
        streakFrames: b.streakFrames,
        streakStartMs: b.streakStartMs,
      };
      const last: LastVote = { ...l, emotion: e.emotion };
      if (e.shownAgrees) return { ...restored, candidate: null, streakFrames: 0, last };
      return restored.candidate === e.emotion
        ? { ...restored, streakFrames: restored.streakFrames + 1, last }
        : { ...restored, candidate: e.emotion, streakFrames: 1, streakStartMs: l.tsMs, last };
    }
    case 'streak_reset': {
      // A frame that agrees with the display (or has no face) is no vote a refinement could replace.
      const { last: _gone, ...rest } = s;
      return { ...rest, candidate: null, streakFrames: 0, lastFaceMs: e.faceTsMs ?? s.lastFaceMs };
    }
    case 'shown':
      return {
        ...s,
        shown: e.emotion,
        shownConfidence: e.confidence,
        shownTsMs: e.tsMs,
        candidate: null,
        streakFrames: 0,
        changes: s.changes + 1,
      };
    default:
      return s;
  }
}

export function emotionDisplayAgent(
  o: EmotionDisplayOptions,
): AgentDefinition<EmotionDisplayState, EmotionDisplayEvent> {
  const decide = (
    s: EmotionDisplayState,
    input: AgentInput,
    ctx: DecideContext,
  ): Decision<EmotionDisplayEvent> => {
    if (input.kind === 'timer') {
      if (input.name === RESHOW_TIMER) {
        return s.changes === 0 ? NONE : { events: [], actions: [showAction(s.shown, s.shownConfidence)] };
      }
      // A stale firing (a face came after it was armed) is recognised from state, not trusted.
      if (input.name !== NO_FACE_TIMER || s.shown === 'no_face') return NONE;
      if (s.lastFaceMs !== null && input.tsMs - s.lastFaceMs < o.noFaceTimeoutMs) return NONE;
      return show('no_face', 1, input.tsMs);
    }
    if (input.env.topic.endsWith('/refined')) return onRefined(s, input.env.payload as FaceInference);
    const frame = input.env.payload as FaceInference;
    const tsMs = input.env.tsMs;
    const face = topFace(frame);
    if (face === undefined) {
      return s.candidate === null
        ? NONE
        : { events: [{ type: 'streak_reset', faceTsMs: null }], actions: [] };
    }
    ctx.setTimer(NO_FACE_TIMER, tsMs + o.noFaceTimeoutMs);
    if (face.emotion === s.shown) {
      return s.candidate !== null ||
        s.last !== undefined ||
        lastFaceStale(s.lastFaceMs, tsMs, o.noFaceTimeoutMs)
        ? { events: [{ type: 'streak_reset', faceTsMs: tsMs }], actions: [] }
        : NONE;
    }
    const ev: EmotionDisplayEvent = { type: 'frame', emotion: face.emotion, tsMs, id: input.env.id };
    const next = reduceEmotion(s, ev);
    if (next.streakFrames >= o.kFrames && tsMs - next.streakStartMs >= o.minMs) {
      const shown = show(face.emotion, face.confidence, tsMs);
      return { events: [ev, ...shown.events], actions: shown.actions };
    }
    return { events: [ev], actions: [] };
  };
  /**
   * Act once (issue #14): a refinement of the frame just counted replaces that frame's vote; one
   * of an older frame (a newer frame came first: it arrived too late to matter) changes nothing.
   */
  const onRefined = (s: EmotionDisplayState, refined: FaceInference): Decision<EmotionDisplayEvent> => {
    const face = topFace(refined);
    const l = s.last;
    if (face === undefined || l === undefined || refined.refines !== l.id || face.emotion === l.emotion)
      return NONE;
    const ev: EmotionDisplayEvent = {
      type: 'vote_replaced',
      emotion: face.emotion,
      shownAgrees: face.emotion === s.shown,
    };
    const next = reduceEmotion(s, ev);
    if (!ev.shownAgrees && next.streakFrames >= o.kFrames && l.tsMs - next.streakStartMs >= o.minMs) {
      const shown = show(face.emotion, face.confidence, l.tsMs);
      return { events: [ev, ...shown.events], actions: shown.actions };
    }
    return { events: [ev], actions: [] };
  };
  return {
    id: o.id ?? 'emotion-display',
    capabilities: ['display', 'emotion'],
    // Realtime, 8 deep, drop-oldest: only recent frames matter; under overload the streak simply
    // counts the frames that got through.
    subscriptions: [
      { pattern: 'inference/face/+', qos: 'realtime', capacity: 8 },
      // A refinement replaces its frame's vote (act once); 8 deep like the frames.
      { pattern: 'inference/face/+/refined', qos: 'realtime', capacity: 8 },
    ],
    initialState: initialEmotionState(),
    reduce: reduceEmotion,
    decide,
    onStart(s, ctx) {
      // Not before the clock reaches the time it was shown: a replay restarts its clock in the
      // fixture's past, and a display/set stamped earlier than the one it repeats would go out of
      // order. On a live clock that time has passed, so it fires at once.
      if (s.changes > 0) ctx.setTimer(RESHOW_TIMER, Math.max(ctx.nowMs, s.shownTsMs ?? 0));
      // Re-arm the timer the state implies (timers are not persisted).
      if (s.shown !== 'no_face' && s.lastFaceMs !== null)
        ctx.setTimer(NO_FACE_TIMER, s.lastFaceMs + o.noFaceTimeoutMs);
    },
  };
}

const NONE: Decision<EmotionDisplayEvent> = { events: [], actions: [] };

/**
 * Whether a frame agreeing with the display must persist its time as `lastFaceMs`, when nothing
 * else changes. Every such frame did once: a LevelDB write per frame for as long as someone sits
 * in front of the camera (twice a second on the demo, for months, on what is often an SD card).
 * The time only matters to re-arm the no-face timer after a restart (onStart) and to tell a stale
 * firing, which the runtime now drops itself (agent-timers.ts). So it is kept to within half the
 * timeout: one write per 1.5 s at the default, and after a restart with nobody there `no_face`
 * comes between half the timeout and the timeout after the last face. A clock that went back (a
 * replay restarted in the fixture's past) always writes.
 */
function lastFaceStale(lastFaceMs: number | null, tsMs: number, noFaceTimeoutMs: number): boolean {
  return lastFaceMs === null || tsMs < lastFaceMs || tsMs - lastFaceMs >= noFaceTimeoutMs / 2;
}

function showAction(emotion: Shown, confidence: number): Decision<EmotionDisplayEvent>['actions'][number] {
  return { kind: 'tool', tool: 'display.show', args: { emotion, emoji: EMOJI[emotion], confidence } };
}

function show(emotion: Shown, confidence: number, tsMs: number): Decision<EmotionDisplayEvent> {
  return {
    events: [{ type: 'shown', emotion, confidence, tsMs }],
    actions: [showAction(emotion, confidence)],
  };
}

function topFace(frame: FaceInference): { emotion: Emotion; confidence: number } | undefined {
  let best: FaceInference['faces'][number] | undefined;
  for (const f of frame.faces) if (best === undefined || f.score > best.score) best = f;
  if (best === undefined) return undefined;
  const p = best.probabilities[best.emotion];
  return { emotion: best.emotion, confidence: Number.isFinite(p) ? Math.min(1, Math.max(0, p)) : 0 };
}
