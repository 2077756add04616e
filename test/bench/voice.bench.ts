/**
 * Voice latency: end of speech → first TTS audio, split by stage, for a local skill and for the
 * conversation loop (issue #14; anchor: Home Assistant's Speech-to-Phrase answers in under 1 s on
 * a Pi 4). The compiled daemon replays fixtures/voice at real time (`replay --speed 1`, real
 * Silero VAD, the router, the voice agent, the TTS actuator running espeak-ng into WAV files) and
 * prints its bus events (`--emit-bus '#'`); each is stamped with the wall time this process
 * receives it, so every stage is measured through the same pipe.
 *
 * Per utterance, in ms:
 * - `vad_tail`: the VAD's segment end minus where the speech really ended (the fixture's truth),
 *   in audio time: the silence the segmenter waits for before it calls the speech over;
 * - `stt`: segment end → transcript;
 * - `intent`: transcript → the intent (local run) / `llm_first_token`: transcript → the first
 *   streamed fragment of the answer (cloud run: the policy, the egress guard, HTTP, SSE parsing);
 * - `tts_start`: the first sentence handed to TTS (`action/say`) → its playback starts
 *   (`action/speaking` start: espeak-ng running);
 * - `total`: end of speech → TTS start (vad_tail + the rest).
 *
 * Two stand-ins, named in the output: the transcripts come from the reference transcriber (the
 * fixture's truth; whisper-tiny weights cannot be had here), so `stt` is measured again with the
 * full-size synthetic whisper-tiny on each segment's audio (`stt_whisper_tiny`, same run) and
 * `total_with_whisper_tiny` adds it instead; the LLM is a loopback OpenAI-compatible server that
 * answers at once (a LAN llama.cpp's own thinking time is not the device's to measure).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { WhisperModel } from '../../daemon/pipeline/stt/whisper/whisper.js';
import { packageRoot } from '../../daemon/util/package-root.js';
import { FULL_SPEC } from '../../scripts/make-whisper-synthetic.js';
import { CHAT, FakeOpenAIServer, textAnswer } from '../helpers/fake-openai-server.js';
import type { BenchOptions, BenchTarget, Figures } from './run.js';
import { benchModel } from './whisper.bench.js';

export const name = 'voice';

export const targets: readonly BenchTarget[] = [
  {
    figure: 'local_skill.total_p50',
    max: 1000,
    quick: 'skip',
    why: "end of speech → TTS start for a local skill within Speech-to-Phrase's 1 s (reference STT)",
  },
  {
    figure: 'local_skill.total_with_whisper_tiny_p50',
    max: 1500,
    quick: 'skip',
    why: "the same with whisper-tiny's compute (synthetic, full size, 30 s window) on each segment",
  },
];

interface Line {
  readonly wallMs: number;
  readonly t_ms: number;
  readonly topic: string;
  readonly payload: Record<string, unknown>;
}

interface Truth {
  readonly start_ms: number;
  readonly end_ms: number;
  readonly text: string;
}

const FIXTURE = join(packageRoot(), 'fixtures', 'voice');

/** Replay the voice fixture at real time with `agents`, collecting the bus events. */
async function replay(dir: string, tag: string, extra: Record<string, unknown>): Promise<Line[]> {
  const config = join(dir, `${tag}.yaml`);
  writeFileSync(
    config,
    stringify({
      device: { id: `bench-voice-${tag}` },
      log: { level: 'warn' },
      storage: { dir: join(dir, `${tag}-state`) },
      http: { enabled: false },
      pipeline: { stt: { engine: 'reference' } },
      sensors: { mic: { privacy: 'sensitive' }, camera: { enabled: false }, imu: { enabled: false } },
      ...extra,
    }),
  );
  const cli = join(packageRoot(), 'dist', 'daemon', 'cli', 'main.js');
  const child = spawn(
    process.execPath,
    [cli, 'replay', FIXTURE, '--speed', '1', '--config', config, '--emit-bus', '#'],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('EDGELOOM_'))),
    },
  );
  const lines: Line[] = [];
  let partial = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => {
    const wallMs = performance.now();
    const parts = (partial + s).split('\n');
    partial = parts.pop() ?? '';
    for (const p of parts) {
      if (!p.startsWith('{')) continue;
      const l = JSON.parse(p) as Omit<Line, 'wallMs'>;
      if (l.topic.startsWith('sensor/')) continue;
      lines.push({ ...l, wallMs });
    }
  });
  child.stderr.setEncoding('utf8').on('data', (s: string) => {
    stderr = (stderr + s).slice(-4000);
  });
  const code = await new Promise<number | null>((r) => child.once('close', r));
  if (code !== 0) throw new Error(`voice bench: replay exited ${code}\n${stderr}`);
  return lines;
}

/** The stages of each utterance: events in order after its segment's end. */
function stages(lines: readonly Line[], truth: readonly Truth[], cloud: boolean): Record<string, number>[] {
  const out: Record<string, number>[] = [];
  const ends = lines.filter((l) => l.topic.startsWith('inference/vad/') && l.payload.kind === 'end');
  for (const [i, end] of ends.entries()) {
    // An utterance's events come before the next segment ends; one with a stage missing is left out.
    const until = ends[i + 1]?.wallMs ?? Number.POSITIVE_INFINITY;
    const after = (from: number, pred: (l: Line) => boolean): Line | undefined =>
      lines.find((l) => l.wallMs >= from && l.wallMs < until && pred(l));
    // When the VAD called the speech over, on the fixture's timeline (the line's t_ms: the replay
    // clock when it was published), which includes the silence it waited for; the segment's own
    // endMs is its last speech frame and would hide that wait.
    const endMs = end.t_ms;
    // The segment of a spoken line ends at most 1.5 s after it (the VAD's redemption and pre-roll).
    const said = truth.find((t) => t.end_ms <= endMs && endMs - t.end_ms < 1500);
    if (said === undefined || said.text === 'stop') continue;
    const transcript = after(end.wallMs, (l) => /^inference\/stt\/[^/]+$/.test(l.topic));
    if (transcript === undefined) continue;
    const answer = cloud
      ? after(transcript.wallMs, (l) => l.topic === 'router/assist/delta')
      : after(transcript.wallMs, (l) => l.topic === 'agent/voice/intent');
    const say = after(transcript.wallMs, (l) => l.topic === 'action/say');
    const speaking =
      say && after(say.wallMs, (l) => l.topic === 'action/speaking' && l.payload.state === 'start');
    if (answer === undefined || say === undefined || speaking === undefined) continue;
    const vadTail = endMs - said.end_ms;
    out.push({
      vad_tail: vadTail,
      stt: transcript.wallMs - end.wallMs,
      [cloud ? 'llm_first_token' : 'intent']: answer.wallMs - transcript.wallMs,
      tts_start: speaking.wallMs - say.wallMs,
      total: vadTail + speaking.wallMs - end.wallMs,
      segment_ms: Number(end.payload.endMs) - Number(end.payload.startMs),
    });
  }
  return out;
}

const round = (x: number): number => Math.round(x * 10) / 10;

function summary(
  rows: readonly Record<string, number>[],
  extra: Record<string, number>,
): Record<string, number> {
  const keys = Object.keys(rows[0] ?? {}).filter((k) => k !== 'segment_ms');
  const out: Record<string, number> = { utterances: rows.length };
  for (const k of keys) {
    const xs = rows.map((r) => r[k]!).sort((a, b) => a - b);
    out[`${k}_p50`] = round(xs[Math.floor(xs.length / 2)]!);
    out[`${k}_max`] = round(xs.at(-1)!);
  }
  return { ...out, ...extra };
}

/** whisper-tiny's compute on segments of these lengths (the synthetic full-size model, 30 s window). */
async function whisperMs(segmentsMs: readonly number[]): Promise<number[]> {
  const [dir] = await benchModel('whisper-tiny-synthetic', FULL_SPEC);
  const model = await WhisperModel.load(dir, { modelId: 'whisper-tiny-synthetic', encoderThreads: 1 });
  try {
    const audio = (ms: number): Int16Array => {
      const a = new Int16Array(Math.round((ms / 1000) * 16000));
      for (let i = 0; i < a.length; i++) a[i] = Math.round(3000 * Math.sin(i / 7) * Math.sin(i / 900));
      return a;
    };
    await model.transcribe(audio(1000), { ignoreEndOfText: true, maxNewTokens: 10 });
    const out: number[] = [];
    for (const ms of segmentsMs)
      out.push((await model.transcribe(audio(ms), { ignoreEndOfText: true, maxNewTokens: 10 })).inferenceMs);
    return out;
  } finally {
    await model.release();
  }
}

export async function bench(_o: BenchOptions): Promise<Figures> {
  const manifest = JSON.parse(readFileSync(join(FIXTURE, 'fixture.json'), 'utf8')) as {
    truth: { speech: Truth[] };
  };
  const truth = manifest.truth.speech;
  const dir = mkdtempSync(join(tmpdir(), 'edgeloom-bench-voice-'));
  const server = await FakeOpenAIServer.start();
  try {
    const tts = { tts: { command: ['espeak-ng', '-w', join(dir, '{utterance}.wav')] } };
    // Local: every utterance of the fixture is a skill the device answers itself.
    const local = await replay(dir, 'local', {
      agents: {
        voice: {
          ...tts,
          refine_wait_ms: 0,
          intents: truth.map((t, i) => ({
            name: `skill_${i}`,
            templates: [t.text],
            action: { tool: 'clock.now', args: {} },
          })),
        },
      },
    });
    // Cloud: nothing matches locally; the loop asks the loopback LLM, which streams at once.
    server.setDefault(CHAT, textAnswer(['Here is the answer. ', 'It has a second sentence.']));
    const cloud = await replay(dir, 'cloud', {
      cloud: { enabled: true, base_url: server.baseUrl, api_key: 'sk-bench', retries: 0 },
      router: { latency_budget_ms: 5000, privacy: { default_tier: 'sensitive' } },
      agents: { voice: { ...tts, refine_wait_ms: 0, intents: [], skills: { default_intents: false } } },
    });
    const localRows = stages(local, truth, false);
    const cloudRows = stages(cloud, truth, true);
    const stt = await whisperMs(localRows.map((r) => r.segment_ms!));
    const withWhisper = localRows.map((r, i) => r.total! - r.stt! + stt[i]!);
    const sorted = [...withWhisper].sort((a, b) => a - b);
    const sttSorted = [...stt].sort((a, b) => a - b);
    return {
      stand_ins:
        'STT: reference transcriber (+ whisper-tiny synthetic compute measured apart); LLM: loopback server',
      local_skill: summary(localRows, {
        stt_whisper_tiny_p50: round(sttSorted[Math.floor(sttSorted.length / 2)] ?? Number.NaN),
        total_with_whisper_tiny_p50: round(sorted[Math.floor(sorted.length / 2)] ?? Number.NaN),
      }),
      cloud_loop: summary(cloudRows, {}),
    };
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
