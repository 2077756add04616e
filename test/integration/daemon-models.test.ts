import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../daemon/config/index.js';
import { buildDaemon } from '../../daemon/daemon.js';
import { silentLogger } from '../../daemon/log.js';
import { REPO_ROOT } from '../helpers/tools.js';

/**
 * The memory budget (README, "Models and the memory budget") in the running daemon: every stage's
 * model goes through the ModelManager, so loading is lazy when asked, idle models unload and
 * reload on their next use without changing results, and a budget too small for the enabled models
 * is refused at start with an error that names the budget, the model and what is loaded. Real
 * Silero, face-api and synthetic Whisper sessions on the bundled fixtures; in-process so the
 * manager can be inspected.
 */

const fixture = (name: string): string => join(REPO_ROOT, 'fixtures', name);

function config(overrides: Record<string, unknown>) {
  return loadConfig({
    // The `npm start` configuration (synthetic Whisper: real weights cannot be had here).
    file: join(REPO_ROOT, 'config', 'default.yaml'),
    env: {},
    hostname: 'models-test',
    overrides: { storage: { dir: mkdtempSync(join(tmpdir(), 'edgeloom-dm-')) }, ...overrides },
  });
}

/** Replays a fixture at speed 0 and collects the transcripts and speech events it produced. */
async function replay(fixtureName: string, overrides: Record<string, unknown>) {
  const daemon = await buildDaemon({
    config: config(overrides),
    logger: silentLogger(),
    baseDir: REPO_ROOT,
    replay: { fixtureDir: fixture(fixtureName), speed: 0, loop: false },
    ephemeralStorage: true,
  });
  const transcripts: string[] = [];
  daemon.bus.subscribe('inference/stt/+', (env) => void transcripts.push(env.payload.text), {
    component: 'test',
  });
  return { daemon, transcripts };
}

describe('models through the ModelManager in the daemon', () => {
  it('preload: false loads nothing at start; the speech replay loads only what it uses', async () => {
    const { daemon, transcripts } = await replay('speech', { models: { preload: false } });
    const models = daemon.models!;
    await daemon.start();
    try {
      // The VAD's first stream registers at start, but nothing is loaded before a frame arrives.
      expect(models.status().models).toEqual([]);
      await daemon.replay!.done;
      const loaded = models.status().models.map((m) => m.id);
      expect(loaded).toContain('silero-vad-v5');
      expect(loaded).toContain('whisper-synthetic-tiny');
      // No camera in the speech fixture: the face models were never needed.
      expect(loaded.some((id) => id.includes('faceapi'))).toBe(false);
      expect(transcripts.length).toBeGreaterThanOrEqual(4);
      expect(models.latency().some((l) => l.runs > 0)).toBe(true);
    } finally {
      await daemon.stop();
    }
    // Stopping released everything.
    expect(models.status().models).toEqual([]);
  });

  it('models unloaded mid-replay reload on their next use and give the same transcripts', async () => {
    const reference = await replay('speech', {});
    await reference.daemon.start();
    await reference.daemon.replay!.done;
    await reference.daemon.stop();

    const { daemon, transcripts } = await replay('speech', {});
    const models = daemon.models!;
    // Unload every model not running at each transcript, as the memory guard does under hard
    // pressure: the next frame or utterance must load it again.
    let unloads = 0;
    let whisperLoads = 0;
    daemon.bus.subscribe(
      'inference/stt/+',
      async () => {
        const w = models.status().models.find((m) => m.id === 'whisper-synthetic-tiny');
        whisperLoads = Math.max(whisperLoads, w?.loads ?? 0);
        unloads += (await models.unloadIdle(0)).length;
      },
      { component: 'test.pressure' },
    );
    await daemon.start();
    await daemon.replay!.done;
    await daemon.stop();
    expect(unloads).toBeGreaterThan(0);
    // Loaded once per utterance: unloaded after each transcript, reloaded for the next.
    expect(whisperLoads).toBeGreaterThan(1);
    expect(reference.transcripts.length).toBeGreaterThan(3);
    expect(transcripts).toEqual(reference.transcripts);
  });

  it('pipeline.stt.concurrency 2 loads two Whisper instances, each charged to the budget', async () => {
    const { daemon, transcripts } = await replay('speech', { pipeline: { stt: { concurrency: 2 } } });
    const models = daemon.models!;
    await daemon.start();
    try {
      const whisper = models.status().models.filter((m) => m.id.startsWith('whisper-synthetic-tiny'));
      expect(whisper.map((m) => m.id).sort()).toEqual(['whisper-synthetic-tiny', 'whisper-synthetic-tiny#2']);
      const vad = models.status().models.find((m) => m.id === 'silero-vad-v5')!;
      const face = models.status().models.find((m) => m.id.includes('+'))!;
      expect(models.status().usedMb).toBe(
        models.status().baselineMb + vad.memoryMb + face.memoryMb + 2 * whisper[0]!.memoryMb,
      );
      await daemon.replay!.done;
      expect(transcripts.length).toBeGreaterThanOrEqual(4);
    } finally {
      await daemon.stop();
    }
  });

  it('refuses a budget too small for the enabled models at start, naming budget, model and loaded', async () => {
    const daemon = await buildDaemon({
      config: config({ budget: { memory_mb: 64 } }),
      logger: silentLogger(),
      baseDir: REPO_ROOT,
      replay: { fixtureDir: fixture('demo'), speed: 0, loop: false },
      ephemeralStorage: true,
    });
    const err = await daemon.start().catch((e: unknown) => e);
    await daemon.stop();
    const text = String((err as Error)?.message ?? err) + JSON.stringify(err);
    expect(text).toContain('E_MODEL_BUDGET');
    expect(text).toContain('budget.memory_mb 64 MiB');
    expect(text).toMatch(/model \S+ needs \d+ MiB/);
    expect(text).toMatch(/baseline \d+ MiB/);
  });
});
