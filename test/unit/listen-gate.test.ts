/**
 * The listening gate (pipeline/wake/listen-gate.ts) with a real bus and a virtual clock: windows
 * from `action/listen`, whoever opens them; segments outside every window never reach the model.
 * The model is a counting test double (the gate is under test; the real pipeline runs in
 * test/integration/wake-word.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { Bus } from '../../daemon/bus/bus.js';
import type { SpeechEvent } from '../../daemon/bus/topics.js';
import { silentLogger } from '../../daemon/log.js';
import { Metrics } from '../../daemon/observe/http/metrics.js';
import { StatsCollector } from '../../daemon/observe/stats.js';
import { type SpeechToTextModel, SttStage } from '../../daemon/pipeline/stt/stt-stage.js';
import type { WhisperResult } from '../../daemon/pipeline/stt/whisper/whisper.js';
import { ListenGate } from '../../daemon/pipeline/wake/listen-gate.js';
import { VirtualClock } from '../../daemon/util/virtual-clock.js';
import { until } from '../helpers/wait.js';

const T0 = 1_700_000_000_000;

const speechEnd = (startMs: number, endMs: number): SpeechEvent => ({
  kind: 'end',
  segmentId: `mic0:${startMs}`,
  modelId: 'silero',
  confidence: 0.9,
  latencyMs: 1,
  inputTsMs: endMs,
  startMs,
  endMs,
  sampleRateHz: 16000,
  audio: new Int16Array(((endMs - startMs) * 16000) / 1000),
});

function rig(mode: 'open' | 'windows') {
  const clock = new VirtualClock(T0);
  const bus = new Bus({ clock, logger: silentLogger() });
  const gate = new ListenGate({ bus, logger: silentLogger(), mode });
  const heard: number[] = [];
  const model: SpeechToTextModel = {
    modelId: 'counting',
    transcribe: async (_audio, _options, segment) => {
      heard.push(segment!.startMs - T0);
      return {
        text: 'x',
        language: 'en',
        confidence: 1,
        avgLogProb: 0,
        noSpeechProb: 0,
        durationMs: 1,
        inferenceMs: 1,
      } as WhisperResult;
    },
    release: async () => {},
  };
  const stt = new SttStage({
    bus,
    clock,
    logger: silentLogger(),
    createModel: async () => model,
    gate,
    maxPendingSegments: 16,
  });
  return { clock, bus, gate, stt, heard };
}

describe('listening gate', () => {
  it('transcribes only segments that overlap a window, from any source, and counts the rest', async () => {
    const { clock, bus, gate, stt, heard } = rig('windows');
    await gate.start();
    await stt.start(new AbortController().signal);
    const segment = async (startMs: number, endMs: number): Promise<void> => {
      await clock.advanceTo(T0 + endMs);
      await bus.publish('inference/vad/mic0', speechEnd(T0 + startMs, T0 + endMs));
    };
    const listen = async (
      reason: 'wake_word' | 'push_to_talk' | 'follow_up',
      atMs: number,
      forMs: number,
    ) => {
      const opened = gate.stats().windowsOpened;
      await bus.publish('action/listen', { reason, untilMs: T0 + atMs + forMs }, { tsMs: T0 + atMs });
      await until('the window recorded', () => gate.stats().windowsOpened === opened + 1);
    };
    await segment(0, 1000); // before any window: skipped
    await listen('wake_word', 2000, 5000); // open 2 s .. 7 s
    await segment(1500, 3000); // under way when the word was heard ("hey jarvis, what time…"): admitted
    await segment(4000, 5000); // inside: admitted
    await segment(6500, 8000); // starts inside, ends after: admitted
    await segment(8000, 9000); // after it closed: skipped
    await listen('push_to_talk', 10_000, 2000);
    await segment(10_500, 11_000); // admitted
    await listen('follow_up', 20_000, 3000);
    await segment(19_000, 19_900); // ended before the follow-up opened: skipped
    await segment(21_000, 22_000); // admitted
    await until('every segment decided', () => stt.stats().transcripts + stt.stats().skipped === 8);
    expect(heard).toEqual([1500, 4000, 6500, 10_500, 21_000]);
    expect(stt.stats()).toMatchObject({ segments: 8, transcripts: 5, skipped: 3 });
    expect(gate.stats()).toMatchObject({ admitted: 5, skipped: 3, windowsOpened: 3 });
    await stt.stop();
    await gate.stop();
  });

  it('in mode open (always, or the phrase fallback) every segment is transcribed', async () => {
    const { clock, bus, gate, stt, heard } = rig('open');
    await gate.start();
    await stt.start(new AbortController().signal);
    for (const s of [0, 2000, 4000]) {
      await clock.advanceTo(T0 + s + 500);
      await bus.publish('inference/vad/mic0', speechEnd(T0 + s, T0 + s + 500));
    }
    await until('three transcriptions', () => heard.length === 3);
    expect(stt.stats().skipped).toBe(0);
    await stt.stop();
    await gate.stop();
  });

  it('remembers a bounded number of windows, forgetting the one that closes first', () => {
    const { gate } = rig('windows');
    for (let i = 0; i < 12; i++) gate.open('push_to_talk', T0 + i * 1000, T0 + i * 1000 + 500);
    expect(gate.stats().openWindows).toBe(8);
    // The four that closed first are gone; a segment only they covered is skipped.
    expect(gate.admits('mic0', T0 + 3100, T0 + 3200)).toBe(false);
    expect(gate.admits('mic0', T0 + 4100, T0 + 4200)).toBe(true);
    // An empty window admits nothing.
    gate.open('follow_up', T0 + 5000, T0 + 5000);
    expect(gate.stats().windowsOpened).toBe(12);
  });

  it('shows the saving on /metrics', async () => {
    const { gate } = rig('windows');
    gate.open('wake_word', T0 + 1000, T0 + 2000);
    gate.admits('mic0', T0 + 1500, T0 + 1800);
    gate.admits('mic0', T0 + 5000, T0 + 6000);
    gate.admits('mic0', T0 + 7000, T0 + 8000);
    const stats = new StatsCollector({
      clock: new VirtualClock(T0),
      logger: silentLogger(),
      providers: {
        wake: () => ({ mode: 'wake_word', ...gate.stats(), wakeDetections: 1 }),
      },
    });
    const text = await new Metrics({
      snapshot: () => stats.snapshot(),
      provides: (s) => stats.provides(s),
    }).render();
    expect(text).toContain('edgeloom_stt_segments_skipped_total{mode="wake_word"} 2');
    expect(text).toContain('edgeloom_stt_segments_admitted_total{mode="wake_word"} 1');
    expect(text).toContain('edgeloom_listen_windows_total{mode="wake_word"} 1');
    expect(text).toContain('edgeloom_wake_detections_total{mode="wake_word"} 1');
  });
});
