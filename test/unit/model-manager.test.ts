import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { silentLogger } from '../../daemon/log.js';
import { ChecksumCache } from '../../daemon/models/checksum.js';
import { ModelManager, type Releasable } from '../../daemon/models/manager.js';
import type { Manifest, ModelEntry } from '../../daemon/models/manifest.js';
import { VirtualClock } from '../../daemon/util/virtual-clock.js';
import { until } from '../helpers/wait.js';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** A models dir with one real file per model and a manifest describing them. */
function fixture(memory: Record<string, number>): { dir: string; manifest: Manifest } {
  const dir = mkdtempSync(join(tmpdir(), 'edgeloom-mm-'));
  const models: ModelEntry[] = Object.entries(memory).map(([id, mb]) => {
    const bytes = Buffer.from(`weights of ${id}`);
    writeFileSync(join(dir, `${id}.onnx`), bytes);
    return {
      id,
      kind: 'vad',
      format: 'silero-v5',
      bundled: true,
      files: [{ path: `${id}.onnx`, sha256: sha(bytes), size_bytes: bytes.length }],
      licence: 'MIT',
      source: { type: 'generated', detail: 'test' },
      inputs: [],
      outputs: [],
      memory_mb: mb,
    };
  });
  return { dir, manifest: { version: 1, models } };
}

class FakeModel implements Releasable {
  released = 0;
  constructor(readonly id: string) {}
  release(): void {
    this.released++;
  }
}

function manager(memory: Record<string, number>, extra: { budgetMb?: number; idleUnloadMs?: number } = {}) {
  const { dir, manifest } = fixture(memory);
  const clock = new VirtualClock(1_000);
  const checksums = new ChecksumCache();
  const mm = new ModelManager({
    clock,
    logger: silentLogger(),
    budgetMb: extra.budgetMb ?? 1000,
    baselineMb: 100,
    manifest,
    modelsDir: dir,
    checksums,
    idleUnloadMs: extra.idleUnloadMs ?? 0,
  });
  return { mm, clock, dir, checksums };
}

describe('ModelManager', () => {
  it('loads lazily, once, for concurrent acquires', async () => {
    const { mm } = manager({ vad: 20 });
    let loads = 0;
    let finish!: () => void;
    const gate = new Promise<void>((r) => (finish = r));
    const ref = mm.register('vad', async () => {
      loads++;
      await gate;
      return new FakeModel('vad');
    });
    expect(loads).toBe(0);
    expect(mm.status().models).toEqual([]);
    const all = Promise.all([ref.acquire(), mm.acquire('vad'), ref.acquire()]);
    await until('the loader to run', () => loads === 1);
    expect(mm.status().models.map((m) => m.state)).toEqual(['loading']);
    finish();
    const [a, b, c] = await all;
    expect(loads).toBe(1);
    expect(a).toBe(b);
    expect(b).toBe(c);
    expect(await ref.acquire()).toBe(a);
    expect(loads).toBe(1);
    expect(mm.status()).toMatchObject({ budgetMb: 1000, baselineMb: 100, usedMb: 120 });
  });

  it('refuses a load past the budget, naming the budget, the model and what is loaded', async () => {
    const { mm } = manager({ vad: 20, face: 150, whisper: 300 }, { budgetMb: 500 });
    mm.register('vad', async () => new FakeModel('vad'));
    mm.register('face', async () => new FakeModel('face'));
    let whisperLoads = 0;
    mm.register('whisper', async () => {
      whisperLoads++;
      return new FakeModel('whisper');
    });
    await mm.acquire('vad');
    await mm.acquire('face');
    const err = await mm.acquire('whisper').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_MODEL_BUDGET', where: 'whisper' });
    const msg = (err as Error).message;
    expect(msg).toContain('model whisper needs 300 MiB');
    expect(msg).toContain('budget.memory_mb 500 MiB');
    expect(msg).toContain('only 230 MiB');
    expect(msg).toContain('baseline 100 MiB');
    expect(msg).toContain('vad (20 MiB), face (150 MiB)');
    expect(whisperLoads).toBe(0);
    // Unloading frees the room.
    await mm.unload('face');
    await expect(mm.acquire('whisper')).resolves.toBeInstanceOf(FakeModel);
  });

  it('reserves memory for a load in flight so two loads cannot share the same free space', async () => {
    const { mm } = manager({ a: 200, b: 200 }, { budgetMb: 450 });
    let finishA: (() => void) | undefined;
    mm.register('a', () => new Promise<FakeModel>((r) => (finishA = () => r(new FakeModel('a')))));
    mm.register('b', async () => new FakeModel('b'));
    const a = mm.acquire('a'); // still loading while b asks
    await expect(mm.acquire('b')).rejects.toThrow(/model b needs 200 MiB.*loaded a \(200 MiB\)/);
    await until('the loader of a to run', () => finishA !== undefined);
    finishA!();
    await a;
  });

  it('unloads models idle for idleUnloadMs on the clock timer, and reloads on the next acquire', async () => {
    const { mm, clock } = manager({ vad: 20, face: 30 }, { idleUnloadMs: 60_000 });
    const made: FakeModel[] = [];
    const load = (id: string) => async () => {
      const m = new FakeModel(id);
      made.push(m);
      return m;
    };
    mm.register('vad', load('vad'));
    mm.register('face', load('face'));
    await mm.start(new AbortController().signal);
    await mm.acquire('vad');
    await mm.acquire('face');
    await clock.advanceTo(1_000 + 40_000);
    await mm.acquire('face'); // face stays busy
    await clock.advanceTo(1_000 + 75_000);
    expect(mm.status().models.map((m) => m.id)).toEqual(['face']);
    expect(made[0]).toMatchObject({ id: 'vad', released: 1 });
    expect(made[1]!.released).toBe(0);
    const again = await mm.acquire('vad');
    expect(again).not.toBe(made[0]);
    expect(mm.status().models.find((m) => m.id === 'vad')?.loads).toBe(2);
    // The dashboard's history: each load and unload, in order, with why a model left.
    expect(mm.status().events.map((e) => [e.kind, e.model, e.why])).toEqual([
      ['load', 'vad', undefined],
      ['load', 'face', undefined],
      ['unload', 'vad', 'idle for 60000 ms'],
      ['load', 'vad', undefined],
    ]);
    await mm.stop();
    expect(made.every((m) => m.released === 1)).toBe(true);
    expect(
      mm
        .status()
        .events.slice(-2)
        .map((e) => [e.kind, e.why]),
    ).toEqual([
      ['unload', 'stopping'],
      ['unload', 'stopping'],
    ]);
    expect(clock.nextDueMs()).toBeUndefined();
  });

  it('unloadIdle on demand releases only models unused for that long', async () => {
    const { mm, clock } = manager({ vad: 20, face: 30 });
    mm.register('vad', async () => new FakeModel('vad'));
    mm.register('face', async () => new FakeModel('face'));
    await mm.acquire('vad');
    await clock.advanceTo(6_000);
    await mm.acquire('face');
    expect(await mm.unloadIdle(3_000)).toEqual(['vad']);
    expect(mm.status().usedMb).toBe(130);
  });

  it('verifies sha256 before the first load and names file, expected and actual on mismatch', async () => {
    const { mm, dir } = manager({ vad: 20 });
    writeFileSync(join(dir, 'vad.onnx'), Buffer.from('weights of vaX')); // same size, other bytes
    let loads = 0;
    mm.register('vad', async () => {
      loads++;
      return new FakeModel('vad');
    });
    const err = await mm.acquire('vad').catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_MODEL_CHECKSUM' });
    const msg = (err as Error).message;
    expect(msg).toContain(join(dir, 'vad.onnx'));
    expect(msg).toContain(`sha256 ${sha(Buffer.from('weights of vaX'))}`);
    expect(msg).toContain(`expected ${sha(Buffer.from('weights of vad'))}`);
    expect(loads).toBe(0);
    expect(mm.health().status).toBe('degraded');
    // A failed load is not cached: once the file is right the next acquire loads.
    writeFileSync(join(dir, 'vad.onnx'), Buffer.from('weights of vad'));
    await expect(mm.acquire('vad')).resolves.toBeInstanceOf(FakeModel);
  });

  it('reports a missing file as E_MODEL_MISSING and refuses unknown ids', async () => {
    const { mm, dir } = manager({ vad: 20 });
    expect(() => mm.register('other', async () => new FakeModel('x'))).toThrow(/no manifest entry "other"/);
    mm.register('other', async () => new FakeModel('x'), { memoryMb: 5 });
    await expect(mm.acquire('nope')).rejects.toMatchObject({ code: 'E_MODEL_UNKNOWN' });
    await expect(mm.acquire('other')).resolves.toBeInstanceOf(FakeModel);
    mm.register('vad2', async () => new FakeModel('x'), { manifestId: 'vad' });
    expect(mm.status().models.map((m) => m.id)).toEqual(['other']);
    rmSync(join(dir, 'vad.onnx'));
    await expect(mm.acquire('vad2')).rejects.toMatchObject({ code: 'E_MODEL_MISSING' });
  });
});

describe('ModelManager: use, units, preload, latency', () => {
  it('never unloads a model while a use() is running on it, and counts the end of a use as use', async () => {
    const { mm, clock } = manager({ whisper: 100 });
    const made: FakeModel[] = [];
    const ref = mm.register('whisper', async () => {
      const m = new FakeModel('whisper');
      made.push(m);
      return m;
    });
    let finish: (() => void) | undefined;
    const running = ref.use(async (m) => {
      await new Promise<void>((r) => (finish = r));
      return m.id;
    });
    await until('the use to begin', () => finish !== undefined);
    expect(mm.status().models).toMatchObject([{ id: 'whisper', inUse: 1 }]);
    await clock.advanceTo(1_000 + 120_000);
    // Idle since its acquire 120 s ago, but running: not released.
    expect(await mm.unloadIdle(60_000)).toEqual([]);
    expect(made[0]!.released).toBe(0);
    finish!();
    await expect(running).resolves.toBe('whisper');
    // Just used (the use ended now): still not idle for 60 s.
    expect(await mm.unloadIdle(60_000)).toEqual([]);
    expect(await mm.unloadIdle(0)).toEqual(['whisper']);
    expect(made[0]!.released).toBe(1);
    // A use after the unload reloads transparently.
    await expect(ref.use(async (m) => m)).resolves.not.toBe(made[0]);
    expect(mm.status().models[0]).toMatchObject({ loads: 2, inUse: 0 });
  });

  it('a use that begins while an idle sweep is releasing another model keeps its model', async () => {
    const { mm } = manager({ a: 10, b: 10 });
    let finishRelease!: () => void;
    let releasing = false;
    const slowRelease = new Promise<void>((r) => (finishRelease = r));
    mm.register('a', async () => ({
      release: () => {
        releasing = true;
        return slowRelease;
      },
    }));
    const b = new FakeModel('b');
    const refB = mm.register('b', async () => b);
    await mm.acquire('a');
    await mm.acquire('b');
    const sweep = mm.unloadIdle(0); // both idle now; it starts by releasing a
    await until('the sweep to be releasing a', () => releasing);
    let finishUse: (() => void) | undefined;
    const using = refB.use(() => new Promise<void>((r) => (finishUse = r)));
    await until('the use of b to begin', () => finishUse !== undefined);
    finishRelease();
    expect(await sweep).toEqual(['a']);
    expect(b.released).toBe(0);
    finishUse!();
    await using;
  });

  it('charges and verifies a unit of several manifest entries together', async () => {
    const { mm, dir } = manager({ detector: 30, classifier: 12 }, { budgetMb: 1000 });
    const ref = mm.register('detector+classifier', async () => new FakeModel('face'), {
      manifestId: 'detector',
      alsoManifestIds: ['classifier'],
    });
    await ref.acquire();
    expect(mm.status()).toMatchObject({ usedMb: 142, models: [{ memoryMb: 42 }] });
    await mm.unload('detector+classifier');
    // The second entry's file is checked too.
    rmSync(join(dir, 'classifier.onnx'));
    await expect(ref.acquire()).rejects.toMatchObject({ code: 'E_MODEL_MISSING' });
  });

  it('preloads every registered model at start, and a missing one fails start', async () => {
    const { dir, manifest } = fixture({ vad: 20, face: 30 });
    const mm = new ModelManager({
      clock: new VirtualClock(0),
      logger: silentLogger(),
      budgetMb: 1000,
      baselineMb: 100,
      manifest,
      modelsDir: dir,
      preload: true,
    });
    mm.register('vad', async () => new FakeModel('vad'));
    mm.register('face', async () => new FakeModel('face'));
    await mm.start(new AbortController().signal);
    expect(mm.status().models.map((m) => [m.id, m.state])).toEqual([
      ['vad', 'loaded'],
      ['face', 'loaded'],
    ]);
    await mm.stop();
    rmSync(join(dir, 'face.onnx'));
    await expect(mm.start(new AbortController().signal)).rejects.toMatchObject({ code: 'E_MODEL_MISSING' });
  });

  it('collects the latency its loaded models report', async () => {
    const { mm } = manager({ a: 10, b: 10 });
    const withLatency = (id: string) => async () =>
      Object.assign(new FakeModel(id), { latency: () => [{ modelId: id, p50Ms: 2, p99Ms: 5, runs: 7 }] });
    mm.register('a', withLatency('a'));
    mm.register('b', withLatency('b'));
    await mm.acquire('a');
    expect(mm.latency()).toEqual([{ modelId: 'a', p50Ms: 2, p99Ms: 5, runs: 7 }]);
  });
});

describe('ChecksumCache', () => {
  it('hashes a file once per size+mtime, persisted across instances', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'edgeloom-cc-'));
    const file = join(dir, 'm.onnx');
    writeFileSync(file, 'abc');
    const cacheFile = join(dir, 'state', 'checksums.json');
    const first = new ChecksumCache(cacheFile);
    expect((await first.digest(file)).sha256).toBe(sha(Buffer.from('abc')));
    await first.digest(file);
    expect(first.hashed).toBe(1);
    const second = new ChecksumCache(cacheFile);
    await second.digest(file);
    expect(second.hashed).toBe(0);
    // Same size, new content and mtime: hashed again.
    writeFileSync(file, 'abd');
    utimesSync(file, new Date(), new Date(Date.now() + 5_000));
    expect((await second.digest(file)).sha256).toBe(sha(Buffer.from('abd')));
    expect(second.hashed).toBe(1);
  });
});

describe('ModelManager with the repository manifest and real ONNX sessions', () => {
  it('verifies the bundled Silero file, loads one OnnxModel session and releases it on unload', async () => {
    const { OnnxModel } = await import('../../daemon/pipeline/onnx-session.js');
    const { loadManifest, resolveModelFile } = await import('../../daemon/models/manifest.js');
    const modelsDir = new URL('../../models/', import.meta.url).pathname;
    const manifest = loadManifest(join(modelsDir, 'manifest.json'));
    const checksums = new ChecksumCache();
    const mm = new ModelManager({
      clock: new VirtualClock(),
      logger: silentLogger(),
      budgetMb: 4096,
      manifest,
      modelsDir,
      checksums,
    });
    const entry = manifest.models.find((m) => m.id === 'silero-vad-v5')!;
    const vad = mm.register('silero-vad-v5', () =>
      OnnxModel.load(resolveModelFile(entry.files[0]!.path, modelsDir), {
        modelId: entry.id,
        inputs: entry.inputs.map((t) => t.name),
        outputs: [],
      }),
    );
    const [a, b] = await Promise.all([vad.acquire(), vad.acquire()]);
    expect(a).toBe(b);
    expect(a.inputNames).toEqual(['input', 'state', 'sr']);
    expect(checksums.hashed).toBe(1);
    expect(mm.status().models).toMatchObject([
      { id: 'silero-vad-v5', memoryMb: entry.memory_mb, state: 'loaded' },
    ]);
    await mm.stop();
    await expect(a.run({})).rejects.toMatchObject({ code: 'E_ONNX_RELEASED' });
  });
});
