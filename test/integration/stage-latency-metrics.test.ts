/**
 * End-to-end latency per path and per-sensor counters, read from /metrics of the compiled daemon
 * after one speed-0 replay of the demo fixture (`edgeloom run`: embedded broker, loopback HTTP,
 * storage in a temporary directory). What the histograms must hold comes from elsewhere: the
 * messages `edgeloom replay --emit jsonl` prints for the same fixture (one observation per
 * face/emotion, voice/transcript and imu/motion fall) and the fixture's camera index.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { httpGet, parseMetrics } from '../bench/daemon-child.js';
import { type CliChild, parseLogLines, runCli, spawnCli } from '../helpers/cli-process.js';
import { REPO_ROOT } from '../helpers/tools.js';

const dir = mkdtempSync(join(tmpdir(), 'edgeloom-stage-latency-'));
let child: CliChild | undefined;
afterAll(() => {
  child?.kill();
  rmSync(dir, { recursive: true, force: true });
});

/** Messages per MQTT topic (after the base topic; imu/motion by kind) of the demo replay. */
async function emitted(): Promise<Map<string, number>> {
  const r = await runCli(['replay', 'fixtures/demo', '--speed', '0', '--emit', 'jsonl']);
  expect(r.code).toBe(0);
  const out = new Map<string, number>();
  for (const line of r.stdout.split('\n')) {
    if (line === '') continue;
    const m = JSON.parse(line) as { topic: string; payload: { kind?: string } };
    const topic = m.topic.split('/').slice(2).join('/');
    const key = topic === 'imu/motion' ? `${topic}:${m.payload.kind}` : topic;
    out.set(key, (out.get(key) ?? 0) + 1);
  }
  return out;
}

describe('end-to-end latency and sensor counters on /metrics after a replay', () => {
  it('one observation per message that ends a path, on fixture time', { timeout: 120_000 }, async () => {
    const expected = await emitted();
    child = spawnCli(['run'], {
      env: {
        EDGELOOM_SOURCE_REPLAY_SPEED: '0',
        EDGELOOM_SOURCE_REPLAY_LOOP: 'false',
        EDGELOOM_STORAGE_DIR: join(dir, 'state'),
        EDGELOOM_HTTP_PORT: '0',
        EDGELOOM_MQTT_EMBEDDED_PORT: '0',
      },
    });
    await child.waitForLog('replay finished');
    const url = parseLogLines(child.stdout).find((l) => l.msg === 'http listening')!.url as string;
    const m = parseMetrics(await httpGet(`${url}/metrics`));
    const count = (stage: string) => m.get(`edgeloom_stage_latency_seconds_count{stage="${stage}"}`);
    const sum = (stage: string) => m.get(`edgeloom_stage_latency_seconds_sum{stage="${stage}"}`)!;

    expect(expected.get('face/emotion')).toBeGreaterThan(0);
    expect(count('camera_to_face_emotion')).toBe(expected.get('face/emotion'));
    expect(count('speech_end_to_transcript')).toBe(expected.get('voice/transcript'));
    expect(count('impact_to_fall')).toBe(expected.get('imu/motion:fall'));
    expect(count('impact_to_fall')).toBe(1);
    // At speed 0 no fixture time passes while a record is processed: a face and a fall are
    // published at their input's own time. A transcript waits for the VAD to hear the speech end
    // (redemption_ms, 480 by default) and no longer.
    expect(sum('camera_to_face_emotion')).toBe(0);
    expect(sum('impact_to_fall')).toBe(0);
    const perTranscript = sum('speech_end_to_transcript') / count('speech_end_to_transcript')!;
    expect(perTranscript).toBeGreaterThan(0);
    expect(perTranscript).toBeLessThanOrEqual(0.48 + 0.032);
    const le = (stage: string, bound: string) =>
      m.get(`edgeloom_stage_latency_seconds_bucket{stage="${stage}",le="${bound}"}`);
    expect(le('speech_end_to_transcript', '0.25')).toBe(0);
    expect(le('speech_end_to_transcript', '1')).toBe(count('speech_end_to_transcript'));

    // The replay stands in for the sensors: every camera record of the fixture, none dropped.
    const frames = readFileSync(join(REPO_ROOT, 'fixtures/demo/camera.index.jsonl'), 'utf8')
      .trim()
      .split('\n');
    expect(m.get('edgeloom_sensor_frames_total{sensor="cam0",kind="camera"}')).toBe(frames.length);
    expect(m.get('edgeloom_sensor_dropped_total{sensor="cam0",kind="camera",reason="paused"}')).toBe(0);
    // Every VAD frame ran the model once, counted by the model latency histogram.
    expect(m.get('edgeloom_model_latency_seconds_count{model="silero-vad-v5"}')).toBe(
      m.get('edgeloom_sensor_frames_total{sensor="mic0",kind="mic"}'),
    );

    child.process.kill('SIGTERM');
    expect((await child.exited).code).toBe(0);
  });
});
