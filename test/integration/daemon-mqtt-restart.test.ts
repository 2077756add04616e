/**
 * Agent state survives a daemon crash. The demo fixture is cut at 12 s into two fixtures on the same
 * timeline (the second starts at start_time + 12 s). The compiled daemon (`run`, real Mosquitto)
 * replays the first half and is SIGKILLed; a new daemon on the same storage dir replays the second
 * half and stops. Another daemon replays the whole demo without interruption. The agents' states,
 * rebuilt from each LevelDB (latest snapshot + the log after it, as at every start), are equal.
 * `run` cannot resume a replay from an offset, hence the split fixture.
 *
 * A SIGKILL is checked separately (its store equals a clean stop's after the same input): continuing
 * after a SIGKILL is not compared with the uninterrupted run, because the motion agent's working
 * memory (filter windows, reducer.ts WorkingMemorySpec) is only written every few seconds and is a
 * hint after a crash, so its later detections may come at other times (seen: `still` 1.5 s early).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Level } from 'level';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAgents } from '../../daemon/agents/build.js';
import type { VoiceState } from '../../daemon/agents/voice-state.js';
import { Bus } from '../../daemon/bus/bus.js';
import { loadConfig } from '../../daemon/config/index.js';
import { silentLogger } from '../../daemon/log.js';
import { openFixture } from '../../daemon/recording/reader.js';
import { FixtureWriter } from '../../daemon/recording/writer.js';
import { VirtualClock } from '../../daemon/util/virtual-clock.js';
import {
  DEMO,
  replayFinished,
  signalAndWait,
  startDaemon,
  stopCleanly,
  writeDaemonConfig,
} from '../helpers/daemon-mqtt.js';
import { Mosquitto } from '../helpers/mosquitto.js';
import { needs } from '../helpers/tools.js';

/** Quiet moment of the demo: no speech, no face (coffee), lying still after the fall. 375 mic frames. */
const SPLIT_MS = 12_000;
/** Small, so the 3 agents snapshot and compact several times during the demo. */
const AGENTS = { snapshot_every: 5, retention_events: 3 };

/** Write the records of `DEMO` in [fromMs, toMs) as a fixture starting at start_time + fromMs. */
async function cut(out: string, fromMs: number, toMs: number): Promise<string> {
  const fx = await openFixture(DEMO);
  const w = await FixtureWriter.create(out, {
    sensors: ['camera', 'mic', 'imu'],
    startTime: new Date(fx.startTimeMs + fromMs),
    description: `demo ${fromMs}..${toMs} ms`,
    // The sentences spoken in this part, for the reference transcriber (the config's stt engine).
    truth: {
      speech: (fx.manifest.truth?.speech ?? [])
        .filter((u) => u.start_ms >= fromMs && u.start_ms < toMs)
        .map((u) => ({ ...u, start_ms: u.start_ms - fromMs, end_ms: u.end_ms - fromMs })),
    },
  });
  const inRange = (t: number): boolean => t >= fromMs && t < toMs;
  for await (const f of fx.cameraFrames()) if (inRange(f.tMs)) await w.writeFrame(f.tMs - fromMs, f.jpeg);
  for await (const a of fx.micFrames(512)) if (inRange(a.tMs)) await w.writeAudio(a.tMs - fromMs, a.samples);
  for await (const s of fx.imuSamples()) if (inRange(s.tMs)) await w.writeImu({ ...s, tMs: s.tMs - fromMs });
  await w.close();
  return out;
}

/** Open a stopped daemon's LevelDB and rebuild every agent's state the way a start does. */
async function agentStates(configPath: string, storageDir: string) {
  const config = loadConfig({ file: configPath, env: {} });
  const db = new Level<string, unknown>(storageDir, { valueEncoding: 'json' });
  await db.open();
  try {
    const clock = new VirtualClock(0);
    const logger = silentLogger();
    const agents = createAgents({ config, bus: new Bus({ clock, logger }), clock, logger, storage: db });
    const out: Record<string, { seq: number; state: unknown; snapshots: number; log: number }> = {};
    for (const a of agents.runtime.list()) {
      await a.start(new AbortController().signal);
      const counts = await agents.store.counts(a.id);
      out[a.id] = { seq: a.seq(), state: a.state(), snapshots: counts.snapshots, log: counts.log };
      await a.stop();
    }
    return out;
  } finally {
    await db.close();
  }
}

describe.runIf(needs({ tools: ['mosquitto'] }))('agent state across a daemon crash (Mosquitto)', () => {
  let broker: Mosquitto;
  let dir: string;

  beforeAll(async () => {
    broker = await Mosquitto.start();
    dir = mkdtempSync(join(tmpdir(), 'edgeloom-daemon-restart-'));
  });

  afterAll(async () => {
    await broker?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('SIGKILL loses no persisted agent state; a stop and a continued replay equal an uninterrupted run', async () => {
    const first = await cut(join(dir, 'first'), 0, SPLIT_MS);
    const second = await cut(join(dir, 'second'), SPLIT_MS, Number.POSITIVE_INFINITY);
    const config = (name: string, fixture: string, storageDir: string): string =>
      writeDaemonConfig({
        dir,
        name,
        brokerUrl: broker.url,
        fixture,
        speed: 0,
        storageDir: join(dir, storageDir),
        extra: { agents: AGENTS },
      });
    const replay = async (configPath: string, signal: NodeJS.Signals): Promise<void> => {
      const d = startDaemon(configPath);
      await replayFinished(d);
      if (signal === 'SIGTERM') await stopCleanly(d);
      else await signalAndWait(d, signal);
    };

    // 1. The first half, killed: what the LevelDB holds equals the same half stopped cleanly.
    await replay(config('killed.yaml', first, 'killed'), 'SIGKILL');
    await replay(config('a.yaml', first, 'split'), 'SIGTERM');
    const killed = await agentStates(join(dir, 'killed.yaml'), join(dir, 'killed'));
    const stopped = await agentStates(join(dir, 'a.yaml'), join(dir, 'split'));
    expect(killed).toEqual(stopped);
    expect(Object.keys(killed).sort()).toEqual(['emotion-display', 'motion', 'timers', 'voice']);

    // 2. Continue with the second half on the same store; compare with one uninterrupted run.
    await replay(config('b.yaml', second, 'split'), 'SIGTERM');
    await replay(config('u.yaml', DEMO, 'whole'), 'SIGTERM');
    const resumed = await agentStates(join(dir, 'b.yaml'), join(dir, 'split'));
    const uninterrupted = await agentStates(join(dir, 'u.yaml'), join(dir, 'whole'));
    for (const id of Object.keys(uninterrupted)) {
      if (id === 'voice') {
        // The voice agent's times are when speech ended, from the VAD's segments. Silero's state
        // starts afresh with the second half, so a segment's end may move by one 32 ms frame:
        // equal up to that, and everything else exactly equal.
        const [a, b] = [resumed[id]?.state, uninterrupted[id]?.state] as VoiceState[];
        expect(withoutTimes(a!), id).toEqual(withoutTimes(b!));
        expect(Math.abs((a!.conversation?.lastMs ?? 0) - (b!.conversation?.lastMs ?? 0))).toBeLessThanOrEqual(
          32,
        );
      } else expect(resumed[id]?.state, id).toEqual(uninterrupted[id]?.state);
      expect(resumed[id]?.seq, id).toBe(uninterrupted[id]?.seq);
      expect(resumed[id]?.seq, `${id} continued the first half's log`).toBeGreaterThanOrEqual(
        stopped[id]?.seq ?? 0,
      );
    }
    // Rebuilt from a snapshot and a compacted log, not from a full log.
    const busiest = Object.values(resumed).sort((x, y) => y.seq - x.seq)[0]!;
    expect(busiest.seq).toBeGreaterThan(AGENTS.snapshot_every);
    expect(busiest.snapshots).toBe(1);
    expect(busiest.log).toBeLessThan(busiest.seq);
  });
});

/** A voice state with its speech-end times taken out (compared separately, within a VAD frame). */
function withoutTimes(s: VoiceState): unknown {
  return {
    ...s,
    lastIntent: s.lastIntent === null ? null : { ...s.lastIntent, atMs: undefined },
    conversation:
      s.conversation === null
        ? null
        : {
            ...s.conversation,
            lastMs: undefined,
            turns: s.conversation.turns.map((t) => ({ ...t, atMs: undefined })),
          },
  };
}
