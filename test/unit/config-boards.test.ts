/**
 * The per-board configurations (config/boards/*.yaml) through the real config loader, checked
 * against their pages (docs/boards/*.md), the model manifest and `edgeloom doctor`'s board check:
 * a page's config must load, fit its budget, and draw no board warning on its own board.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type BoardPage, boardPage, checkBoard } from '../../daemon/cli/doctor/board.js';
import { systemProbe } from '../../daemon/cli/doctor/probe.js';
import { type EdgeloomConfig, loadConfig } from '../../daemon/config/index.js';
import { loadManifest } from '../../daemon/models/manifest.js';
import { REPO_ROOT } from '../helpers/tools.js';

const BOARDS_DIR = join(REPO_ROOT, 'config/boards');
const PAGES_DIR = join(REPO_ROOT, 'docs/boards');
const manifest = loadManifest(join(REPO_ROOT, 'models/manifest.json'));

/**
 * What the model manager charges besides the models: the process's RSS before any model loads.
 * 130 MiB measured on x86-64 (a replay with VAD only: 150 MiB charged, 20 of them the VAD);
 * 160 leaves room for a different build of the native addons on arm64.
 */
const BASELINE_MIB = 160;

/** A model string of each board as its firmware writes it. */
const MODEL: Readonly<Record<BoardPage, string>> = {
  'raspberry-pi-4': 'Raspberry Pi 4 Model B Rev 1.5',
  'raspberry-pi-5': 'Raspberry Pi 5 Model B Rev 1.0',
  'raspberry-pi-zero-2-w': 'Raspberry Pi Zero 2 W Rev 1.0',
  jetson: 'NVIDIA Jetson Orin Nano Developer Kit',
};

const pages = Object.keys(MODEL) as BoardPage[];
const load = (page: BoardPage): EdgeloomConfig =>
  loadConfig({ file: join(BOARDS_DIR, `${page}.yaml`), env: {} });

/** Manifest memory of the models the config's enabled stages load, MiB. */
function modelsMib(c: EdgeloomConfig): number {
  const ids = new Set<string>();
  if (c.pipeline.vad.enabled) ids.add(c.pipeline.vad.model);
  if (c.pipeline.face.enabled)
    for (const id of [c.pipeline.face.detector_model, c.pipeline.face.emotion_model]) ids.add(id);
  if (c.pipeline.stt.enabled) ids.add(c.pipeline.stt.model);
  let mib = 0;
  for (const id of ids) {
    const entry = manifest.models.find((m) => m.id === id);
    expect(entry, `model ${id} is in models/manifest.json`).toBeDefined();
    mib += (entry!.memory_mb ?? 0) * (id === c.pipeline.stt.model ? c.pipeline.stt.concurrency : 1);
  }
  return mib;
}

const dir = mkdtempSync(join(tmpdir(), 'edgeloom-boards-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('config/boards', () => {
  it('has one config per page of docs/boards, and no other', () => {
    const names = (d: string, ext: string) =>
      readdirSync(d)
        .filter((f) => f.endsWith(ext))
        .map((f) => f.slice(0, -ext.length))
        .sort();
    expect(names(BOARDS_DIR, '.yaml')).toEqual([...pages].sort());
    expect(names(PAGES_DIR, '.md').filter((n) => n !== 'README')).toEqual([...pages].sort());
  });

  it.each(pages)('%s loads through the real loader as a live configuration', (page) => {
    const c = load(page);
    expect(c.source.mode).toBe('live');
    expect(c.storage.dir).toBe('/var/lib/edgeloom');
    // The service runs in /: models must be absolute (install-service refuses relative ones).
    expect(c.models.dir.startsWith('/')).toBe(true);
  });

  it.each(pages)('%s: the models it loads and the baseline fit budget.memory_mb', (page) => {
    const c = load(page);
    expect(BASELINE_MIB + modelsMib(c)).toBeLessThanOrEqual(c.budget.memory_mb);
  });

  it.each(pages)(
    '%s: the page and the config name each other, and the model string leads to the page',
    (page) => {
      const text = readFileSync(join(PAGES_DIR, `${page}.md`), 'utf8');
      expect(text).toContain(`config/boards/${page}.yaml`);
      expect(readFileSync(join(BOARDS_DIR, `${page}.yaml`), 'utf8').split('\n')[0]).toContain(
        `docs/boards/${page}.md`,
      );
      expect(boardPage(MODEL[page])).toBe(page);
    },
  );

  it.each(pages)('%s: doctor finds nothing to warn about on its own board', (page) => {
    const file = join(dir, page);
    writeFileSync(file, `${MODEL[page]}\0`);
    const lines = checkBoard(systemProbe({ devDir: join(dir, 'dev') }), load(page), [file]);
    expect(lines.map((l) => l.level)).toEqual(['ok']);
    // The same file on the other boards' configs is where the check earns its keep.
    const jetsonOnPi = checkBoard(systemProbe(), load('jetson'), [file]);
    if (page !== 'jetson') expect(jetsonOnPi.some((l) => l.level === 'warn')).toBe(true);
  });

  it('the Zero 2 W runs no speech-to-text and analyses small frames; the Pi 5 and Jetson use their own cameras', () => {
    const zero = load('raspberry-pi-zero-2-w');
    expect(zero.pipeline.stt.enabled).toBe(false);
    expect(zero.pipeline.face.input_size).toBeLessThanOrEqual(256);
    expect(zero.budget.memory_mb).toBeLessThanOrEqual(400); // under the drop-in's MemoryMax=400M
    expect(load('raspberry-pi-5').sensors.camera.preset).toBe('rpicam');
    expect(load('jetson').sensors.camera.preset).toBe('jetson');
  });
});
