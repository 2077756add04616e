import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EMOJI, registerBuiltinTools } from '../../daemon/agents/builtin-tools.js';
import { type EmotionDisplayOptions, emotionDisplayAgent } from '../../daemon/agents/emotion-display.js';
import { AgentRuntime } from '../../daemon/agents/runtime.js';
import { AgentStore } from '../../daemon/agents/store.js';
import { ToolRegistry } from '../../daemon/agents/tools.js';
import { Bus } from '../../daemon/bus/bus.js';
import { buildEnvelope } from '../../daemon/bus/bus-envelope.js';
import type { Envelope } from '../../daemon/bus/envelope.js';
import { type DisplayAction, EMOTIONS, type Emotion, type FaceInference } from '../../daemon/bus/topics.js';
import { silentLogger } from '../../daemon/log.js';
import type { Store } from '../../daemon/storage/store.js';
import { VirtualClock } from '../../daemon/util/virtual-clock.js';

let dir: string;
let db: Store;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'edgeloom-emotion-'));
  db = new Level<string, unknown>(dir, { valueEncoding: 'json' });
  await db.open();
});
afterEach(async () => {
  await db.close();
  await rm(dir, { recursive: true, force: true });
});

function frame(emotion: Emotion | null, seq = 0): FaceInference {
  const probabilities = Object.fromEntries(EMOTIONS.map((e) => [e, e === emotion ? 0.7 : 0.05])) as Record<
    Emotion,
    number
  >;
  return {
    modelId: 'test',
    confidence: 0.9,
    latencyMs: 1,
    inputTsMs: 0,
    frameSeq: seq,
    width: 640,
    height: 480,
    faces:
      emotion === null
        ? []
        : [
            // A smaller, less certain face with another emotion: the best-scoring face decides.
            { box: { x: 0, y: 0, width: 10, height: 10 }, score: 0.5, emotion: 'angry', probabilities },
            { box: { x: 100, y: 100, width: 80, height: 80 }, score: 0.95, emotion, probabilities },
          ],
  };
}

/** A face frame's envelope as the bus builds it, stamped `tsMs`. */
function faceEnvelope(tsMs: number, emotion: Emotion): Envelope {
  return buildEnvelope(tsMs, 'inference/face/front', tsMs, frame(emotion), { source: 'test' }, undefined);
}

async function setup(options: EmotionDisplayOptions) {
  const clock = new VirtualClock(0);
  const logger = silentLogger();
  const bus = new Bus({ clock, logger });
  const tools = new ToolRegistry({ bus, clock, logger, defaultTimeoutMs: 1000 });
  registerBuiltinTools(tools, { bus, logger, publishAllow: [], ttsProgram: 'none' });
  const store = new AgentStore({ db, snapshotEvery: 50, retentionEvents: 50 });
  const runtime = new AgentRuntime({
    bus,
    clock,
    logger,
    store,
    tools,
  });
  const agent = runtime.create(emotionDisplayAgent(options));
  await runtime.start(new AbortController().signal);
  const shown: { tsMs: number; action: DisplayAction }[] = [];
  bus.subscribe(
    'action/display',
    (env) => void shown.push({ tsMs: env.tsMs, action: env.payload as DisplayAction }),
    {
      component: 'test',
    },
  );
  const settle = async () => {
    await bus.drain(1000);
    await agent.idle();
    await bus.drain(1000);
  };
  /** Publish one frame at time tMs (advancing the clock first, firing due timers). */
  const at = async (tMs: number, emotion: Emotion | null) => {
    await clock.advanceTo(tMs);
    await bus.publish('inference/face/front', frame(emotion));
    await settle();
  };
  const shownAt = () => shown.map((s) => `${s.tsMs}:${s.action.emotion}`);
  /** A frame at tMs and the id of its envelope (what a refinement names in `refines`). */
  const frameAt = async (tMs: number, emotion: Emotion | null): Promise<string> => {
    await clock.advanceTo(tMs);
    let id = '';
    const sub = bus.subscribe('inference/face/+', (env) => void (id = env.id), { component: 'test-id' });
    await bus.publish('inference/face/front', frame(emotion));
    await settle();
    await sub.unsubscribe();
    return id;
  };
  const refine = async (refines: string, emotion: Emotion) => {
    await bus.publish('inference/face/front/refined', { ...frame(emotion), refines });
    await settle();
  };
  return { clock, agent, runtime, store, shown, at, settle, shownAt, frameAt, refine };
}

describe('emotion display hysteresis (k_frames AND min_ms)', () => {
  it('changes after k frames only once the streak also spans min_ms', async () => {
    const t = await setup({ kFrames: 3, minMs: 500, noFaceTimeoutMs: 10_000 });
    // 100 ms frames: the 3rd frame is at 300 ms but the streak spans 200 ms; at 600 it spans 500.
    for (let ms = 100; ms <= 700; ms += 100) await t.at(ms, 'happy');
    expect(t.shownAt()).toEqual(['600:happy']);
    expect(t.shown[0]!.action).toEqual({ emotion: 'happy', emoji: EMOJI.happy, confidence: 0.7 });
    await t.runtime.stop();
  });

  it('needs k frames even when min_ms has long passed (slow camera)', async () => {
    const t = await setup({ kFrames: 3, minMs: 500, noFaceTimeoutMs: 60_000 });
    await t.at(1000, 'sad');
    await t.at(3000, 'sad');
    expect(t.shown).toEqual([]);
    await t.at(5000, 'sad');
    expect(t.shownAt()).toEqual(['5000:sad']);
    await t.runtime.stop();
  });

  it('flicker never changes the display; a frame of another emotion or without a face restarts the streak', async () => {
    const t = await setup({ kFrames: 3, minMs: 300, noFaceTimeoutMs: 10_000 });
    for (let ms = 100; ms <= 500; ms += 100) await t.at(ms, 'neutral');
    expect(t.shownAt()).toEqual(['400:neutral']);
    const flicker: (Emotion | null)[] = [
      'happy',
      'happy',
      'sad',
      'happy',
      'happy',
      null,
      'happy',
      'happy',
      'neutral',
    ];
    let ms = 600;
    for (let round = 0; round < 4; round++) for (const e of flicker) await t.at((ms += 100), e);
    expect(t.shownAt()).toEqual(['400:neutral']);
    expect(t.agent.state()).toMatchObject({ shown: 'neutral', changes: 1 });
    await t.runtime.stop();
  });

  it('shows no_face exactly no_face_timeout_ms after the last face, also when faceless frames keep coming', async () => {
    const t = await setup({ kFrames: 2, minMs: 0, noFaceTimeoutMs: 2000 });
    await t.at(100, 'surprised');
    await t.at(200, 'surprised');
    expect(t.shownAt()).toEqual(['200:surprised']);
    for (let ms = 300; ms <= 2100; ms += 300) await t.at(ms, null);
    await t.clock.advanceTo(2199);
    await t.settle();
    expect(t.shownAt()).toEqual(['200:surprised']);
    await t.clock.advanceTo(2200);
    await t.settle();
    expect(t.shownAt()).toEqual(['200:surprised', '2200:no_face']);
    expect(t.shown[1]!.action.emoji).toBe(EMOJI.no_face);
    // Published only on change: a long quiet time adds nothing.
    await t.clock.advanceTo(20_000);
    await t.settle();
    expect(t.shown).toHaveLength(2);
    await t.runtime.stop();
  });

  it('a frame agreeing with the display is no event: the log grows once per half timeout, not per frame', async () => {
    const t = await setup({ kFrames: 1, minMs: 0, noFaceTimeoutMs: 3000 });
    await t.at(0, 'happy');
    expect(t.shownAt()).toEqual(['0:happy']);
    const before = t.agent.counters.events;
    // 19 s of the same face at 2 frames a second (the demo camera): 38 agreeing frames.
    for (let ms = 500; ms <= 19_000; ms += 500) await t.at(ms, 'happy');
    // One write per 1.5 s (half the timeout) at most, not one per frame (which made 38).
    const written = t.agent.counters.events - before;
    expect(written).toBeGreaterThan(0);
    expect(written).toBeLessThanOrEqual(14);
    const { log } = await t.store.counts('emotion-display');
    expect(log).toBeLessThanOrEqual(2 + 14);
    // The display still leaves exactly no_face_timeout_ms after the last face, though the last
    // face's time was never written.
    expect(t.agent.state().lastFaceMs).toBeLessThan(19_000);
    await t.clock.advanceTo(21_999);
    await t.settle();
    expect(t.shownAt()).toEqual(['0:happy']);
    await t.clock.advanceTo(22_000);
    await t.settle();
    expect(t.shownAt()).toEqual(['0:happy', '22000:no_face']);
    await t.runtime.stop();
  });

  it('a no_face firing superseded by a frame queued before it is dropped (the frame re-armed the timer)', async () => {
    const t = await setup({ kFrames: 1, minMs: 0, noFaceTimeoutMs: 1000 });
    await t.at(100, 'happy');
    await t.at(200, 'happy'); // the first agreeing frame is written (it ends the vote at 100)
    expect(t.agent.state().lastFaceMs).toBe(200);
    // A frame from 400 ms reaches the agent late, queued just before the timer set for 1200 fires:
    // its turn re-arms the timer for 1400, and the firing queued behind it is stale. Its time is
    // not written (200 ms after the last, under half the timeout), so only the runtime can tell.
    const late = t.agent.submit({ kind: 'message', env: faceEnvelope(400, 'happy') });
    const advancing = t.clock.advanceTo(1200);
    await Promise.all([late, advancing]);
    await t.settle();
    expect(t.shownAt()).toEqual(['100:happy']);
    expect(t.agent.counters.staleTimers).toBe(1);
    await t.clock.advanceTo(1400);
    await t.settle();
    expect(t.shownAt()).toEqual(['100:happy', '1400:no_face']);
    await t.runtime.stop();
  });

  it('re-arms the no_face timer implied by the stored state after a restart', async () => {
    const t = await setup({ kFrames: 1, minMs: 0, noFaceTimeoutMs: 1000 });
    await t.at(100, 'happy');
    expect(t.shownAt()).toEqual(['100:happy']);
    await t.runtime.stop();
    const again = await setup({ kFrames: 1, minMs: 0, noFaceTimeoutMs: 1000 });
    expect(again.agent.state()).toMatchObject({ shown: 'happy', lastFaceMs: 100 });
    await again.clock.advanceTo(1100);
    await again.settle();
    // The stored emotion is shown again once the clock is back at the time it was shown (a replay's
    // clock restarts in the past; a live one is already there), then no_face when its time comes.
    expect(again.shownAt()).toEqual(['100:happy', '1100:no_face']);
    await again.runtime.stop();
  });

  it('shows the stored emotion again at once after a restart, and nothing on a fresh store', async () => {
    const fresh = await setup({ kFrames: 1, minMs: 0, noFaceTimeoutMs: 60_000 });
    // The virtual clock fires due timers when it is advanced (a replay advances it per event).
    await fresh.clock.advanceTo(0);
    await fresh.settle();
    expect(fresh.shownAt()).toEqual([]);
    await fresh.at(100, 'surprised');
    await fresh.runtime.stop();
    const again = await setup({ kFrames: 1, minMs: 0, noFaceTimeoutMs: 60_000 });
    await again.clock.advanceTo(100);
    await again.settle();
    expect(again.shown.map((s) => s.action)).toEqual([
      expect.objectContaining({ emotion: 'surprised', emoji: EMOJI.surprised }),
    ]);
    // Re-showing is an action, not an event: the log is what it was.
    expect(again.agent.state()).toMatchObject({ shown: 'surprised', changes: 1 });
    await again.runtime.stop();
  });
});

describe('cloud refinements of faces: act once', () => {
  it("a refinement replaces its frame's vote: the streak counts the cloud's label, never both", async () => {
    const t = await setup({ kFrames: 3, minMs: 0, noFaceTimeoutMs: 10_000 });
    await t.at(100, 'happy');
    await t.at(200, 'happy');
    // The local model says sad on the third frame; the cloud says happy: the streak is 3 happy.
    const third = await t.frameAt(300, 'sad');
    expect(t.shown).toEqual([]);
    await t.refine(third, 'happy');
    expect(t.shownAt()).toEqual(['300:happy']);
    // The same refinement again (a retry, a duplicate) adds nothing.
    await t.refine(third, 'happy');
    expect(t.agent.state()).toMatchObject({ shown: 'happy', changes: 1 });
    await t.runtime.stop();
  });

  it('a refinement that comes after the next frame changes nothing (too late to act)', async () => {
    const t = await setup({ kFrames: 2, minMs: 0, noFaceTimeoutMs: 10_000 });
    const first = await t.frameAt(100, 'sad');
    await t.at(200, 'angry');
    const before = t.agent.state();
    await t.refine(first, 'angry');
    expect(t.agent.state()).toEqual(before);
    expect(t.shown).toEqual([]);
    await t.runtime.stop();
  });
});
