/**
 * `edgeloom doctor` names the board from its device-tree model string and the page of
 * docs/boards/ that applies. The model file is a real file the test writes (with the trailing NUL
 * the kernel's file has), handed to the doctor in place of /proc/device-tree/model.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BOARD_MODEL_FILES, boardPage } from '../../daemon/cli/doctor/board.js';
import { type CheckResult, runDoctor } from '../../daemon/cli/doctor/doctor.js';
import { systemProbe } from '../../daemon/cli/doctor/probe.js';
import { type ConfigOverrides, loadConfig } from '../../daemon/config/index.js';
import { REPO_ROOT } from '../helpers/tools.js';

const dir = mkdtempSync(join(tmpdir(), 'edgeloom-board-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A device-tree model file as the kernel exposes it: the string and a NUL. */
function modelFile(name: string, model: string): string {
  const file = join(dir, name);
  writeFileSync(file, `${model}\0`);
  return file;
}

/** The doctor's `board` lines for a machine whose model files are `files`. */
async function boardLines(files: readonly string[], overrides: ConfigOverrides = {}): Promise<CheckResult[]> {
  const config = loadConfig({
    env: {},
    overrides: {
      source: { mode: 'live' },
      sensors: { camera: { enabled: false }, mic: { enabled: false }, imu: { enabled: false } },
      pipeline: { vad: { enabled: false }, face: { enabled: false }, stt: { enabled: false } },
      storage: { dir: join(dir, 'state') },
      models: { dir: join(REPO_ROOT, 'models'), manifest: join(REPO_ROOT, 'models/manifest.json') },
      ...overrides,
    },
  });
  const results = await runDoctor(config, {
    probe: systemProbe({ devDir: join(dir, 'dev') }),
    listSerialPorts: async () => [],
    brokerTimeoutMs: 200,
    boardModelFiles: files,
  });
  return results.filter((r) => r.check === 'board');
}

describe('doctor: the board', () => {
  it('reads /proc/device-tree/model, then /sys/firmware/devicetree/base/model', () => {
    expect(BOARD_MODEL_FILES).toEqual(['/proc/device-tree/model', '/sys/firmware/devicetree/base/model']);
  });

  it('maps the firmware model strings to their page', () => {
    const cases: [string, string | undefined][] = [
      ['Raspberry Pi 4 Model B Rev 1.4', 'raspberry-pi-4'],
      ['Raspberry Pi 400 Rev 1.0', 'raspberry-pi-4'],
      ['Raspberry Pi Compute Module 4 Rev 1.1', 'raspberry-pi-4'],
      ['Raspberry Pi 5 Model B Rev 1.0', 'raspberry-pi-5'],
      ['Raspberry Pi Compute Module 5 Rev 1.0', 'raspberry-pi-5'],
      ['Raspberry Pi Zero 2 W Rev 1.0', 'raspberry-pi-zero-2-w'],
      ['Raspberry Pi 3 Model B Plus Rev 1.3', 'raspberry-pi-zero-2-w'],
      ['NVIDIA Jetson Orin Nano Developer Kit', 'jetson'],
      ['NVIDIA Jetson Xavier NX Developer Kit', 'jetson'],
      ['Raspberry Pi Zero W Rev 1.1', undefined],
      ['Pine64 RockPro64 v2.1', undefined],
    ];
    expect(cases.map(([model]) => boardPage(model))).toEqual(cases.map(([, page]) => page));
  });

  it('names the board and its page from a model file', async () => {
    const [line, ...rest] = await boardLines([modelFile('pi5', 'Raspberry Pi 5 Model B Rev 1.0')]);
    expect(line).toMatchObject({ level: 'ok', check: 'board' });
    expect(line!.detail).toMatch(
      /^Raspberry Pi 5 Model B Rev 1\.0: see \S+\/docs\/boards\/raspberry-pi-5\.md \(config\/boards\/raspberry-pi-5\.yaml\)$/,
    );
    expect(rest).toEqual([]);
  });

  it('falls back to the second file, and says so plainly when neither exists (a PC)', async () => {
    const jetson = modelFile('jetson', 'NVIDIA Jetson Orin Nano Developer Kit');
    const [found] = await boardLines([join(dir, 'absent'), jetson]);
    expect(found!.detail).toMatch(/^NVIDIA Jetson Orin Nano Developer Kit: see .*\/docs\/boards\/jetson\.md/);
    const [none] = await boardLines([join(dir, 'absent'), join(dir, 'absent-too')]);
    expect(none).toMatchObject({ level: 'ok', detail: expect.stringMatching(/no device-tree model/) });
  });

  it('warns on a board without a page, pointing at the general one', async () => {
    const [line] = await boardLines([modelFile('rock', 'Pine64 RockPro64 v2.1')]);
    expect(line).toMatchObject({
      level: 'warn',
      detail: 'Pine64 RockPro64 v2.1: edgeloom has no page for this board',
    });
    expect(line!.fix).toMatch(/docs\/boards\/raspberry-pi-4\.md$/);
  });

  it("warns when the config asks for another board's camera stack or more than a Zero 2 W holds", async () => {
    const zero = modelFile('zero', 'Raspberry Pi Zero 2 W Rev 1.0');
    // Jetson's camera stack and whisper: wrong on any Pi, too big only for a Zero 2 W.
    const jetsonCameraAndWhisper: ConfigOverrides = {
      sensors: {
        camera: { enabled: true, preset: 'jetson' },
        mic: { enabled: false },
        imu: { enabled: false },
      },
      pipeline: {
        vad: { enabled: false },
        face: { enabled: false },
        stt: { enabled: true, model: 'whisper-tiny' },
      },
    };
    const lines = await boardLines([zero], jetsonCameraAndWhisper);
    expect(lines.map((l) => l.level)).toEqual(['ok', 'warn', 'warn']);
    expect(lines[1]!.detail).toBe("sensors.camera.preset jetson is another board's camera stack");
    expect(lines[2]!.detail).toMatch(/^pipeline\.stt \(whisper-tiny\) does not fit in 512 MB/);
    // The same config on a Pi 5: its camera stack is still wrong, whisper fits.
    const pi5 = await boardLines(
      [modelFile('pi5b', 'Raspberry Pi 5 Model B Rev 1.0')],
      jetsonCameraAndWhisper,
    );
    expect(pi5.map((l) => l.level)).toEqual(['ok', 'warn']);
  });
});
