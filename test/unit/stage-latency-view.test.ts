import { describe, expect, it } from 'vitest';
import { RECENT_PER_STAGE, StageLatency } from '../../daemon/actions/stage-latency.js';
import type { Envelope } from '../../daemon/bus/envelope.js';
import { VirtualClock } from '../../daemon/util/virtual-clock.js';

/** The dashboard's per-path p50/p99: exact, over the recent messages, from what the bridge measured. */

function face(inputTsMs: number): Envelope {
  return {
    id: 'e',
    topic: 'inference/face/cam0',
    tsMs: inputTsMs,
    source: 'test',
    priority: 'normal',
    payload: { inputTsMs },
  } as unknown as Envelope;
}

describe('StageLatency.view', () => {
  it('every path at zero first, then exact nearest-rank p50/p99 of what was measured', async () => {
    const clock = new VirtualClock(10_000);
    const stages = new StageLatency(clock);
    expect(stages.view().map((s) => [s.stage, s.count, s.p50Ms, s.p99Ms])).toEqual([
      ['camera_to_face_emotion', 0, 0, 0],
      ['speech_end_to_transcript', 0, 0, 0],
      ['impact_to_fall', 0, 0, 0],
    ]);
    // 100 frames measured 1..100 ms after their input (between histogram buckets 50 and 100 ms).
    for (let ms = 100; ms >= 1; ms--) stages.record(face(clock.now() - ms));
    const v = stages.view()[0]!;
    expect([v.count, v.p50Ms, v.p99Ms]).toEqual([100, 50, 99]);
    expect(stages.histograms.get('camera_to_face_emotion').count).toBe(100);
  });

  it('keeps the most recent RECENT_PER_STAGE latencies; the count goes on', async () => {
    const clock = new VirtualClock(100_000);
    const stages = new StageLatency(clock);
    for (let i = 0; i < RECENT_PER_STAGE; i++) stages.record(face(clock.now() - 5_000));
    for (let i = 0; i < RECENT_PER_STAGE; i++) stages.record(face(clock.now() - 7));
    const v = stages.view()[0]!;
    expect([v.count, v.p50Ms, v.p99Ms]).toEqual([2 * RECENT_PER_STAGE, 7, 7]);
  });
});
