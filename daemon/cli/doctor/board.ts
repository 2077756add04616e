/**
 * Which board this is, from the device tree's model string, and which page of docs/boards/
 * applies (each page has a tested configuration in config/boards/ of the same name). The kernel
 * exposes the string at /proc/device-tree/model (a link into /sys/firmware/devicetree/base) on
 * every device-tree system: Raspberry Pi OS and NVIDIA's L4T both. PCs and VMs have none.
 */
import { join } from 'node:path';
import type { EdgeloomConfig } from '../../config/index.js';
import { packageRoot } from '../../util/package-root.js';
import type { DoctorProbe } from './probe.js';
import type { CheckResult } from './types.js';

/** Where the model string is read from, first readable wins. */
export const BOARD_MODEL_FILES: readonly string[] = [
  '/proc/device-tree/model',
  '/sys/firmware/devicetree/base/model',
];

export type BoardPage = 'raspberry-pi-4' | 'raspberry-pi-5' | 'raspberry-pi-zero-2-w' | 'jetson';

/**
 * Model strings as the firmware writes them (`Raspberry Pi 4 Model B Rev 1.4`, `Raspberry Pi
 * Compute Module 5 Rev 1.0`, `NVIDIA Jetson Orin Nano Developer Kit`), first match wins. The Pi 3
 * has the Zero 2 W's cores (Cortex-A53) and twice its memory: that page is the nearest.
 */
const BOARDS: readonly { readonly pattern: RegExp; readonly page: BoardPage }[] = [
  { pattern: /^Raspberry Pi (4 |400 |Compute Module 4)/, page: 'raspberry-pi-4' },
  { pattern: /^Raspberry Pi (5 |500 |Compute Module 5)/, page: 'raspberry-pi-5' },
  { pattern: /^Raspberry Pi (Zero 2|3 |Compute Module 3)/, page: 'raspberry-pi-zero-2-w' },
  { pattern: /^NVIDIA Jetson/i, page: 'jetson' },
];

/** The camera preset each family's own camera uses (a USB camera, `v4l2`, works on all). */
const NATIVE_PRESET: Readonly<Record<BoardPage, 'rpicam' | 'jetson'>> = {
  'raspberry-pi-4': 'rpicam',
  'raspberry-pi-5': 'rpicam',
  'raspberry-pi-zero-2-w': 'rpicam',
  jetson: 'jetson',
};

/** The page for a model string, or undefined for a board without one. */
export function boardPage(model: string): BoardPage | undefined {
  return BOARDS.find((b) => b.pattern.test(model))?.page;
}

/** The model string (without the device tree's trailing NUL), or undefined on a PC or VM. */
export function readBoardModel(
  probe: DoctorProbe,
  files: readonly string[] = BOARD_MODEL_FILES,
): string | undefined {
  for (const f of files) {
    const text = probe.readText(f)?.replace(/\0/g, '').trim();
    if (text !== undefined && text !== '') return text;
  }
  return undefined;
}

/** The page's path in this installation (the .deb and npm ship docs/boards/). */
export function boardPagePath(page: BoardPage): string {
  return join(packageRoot(), 'docs', 'boards', `${page}.md`);
}

/** `board` lines: which board and page; what in the config does not suit this board. */
export function checkBoard(
  probe: DoctorProbe,
  config: EdgeloomConfig,
  files?: readonly string[],
): CheckResult[] {
  const model = readBoardModel(probe, files);
  if (model === undefined) {
    return [
      { level: 'ok', check: 'board', detail: 'no device-tree model (a PC or a VM): no board page applies' },
    ];
  }
  const page = boardPage(model);
  if (page === undefined) {
    return [
      {
        level: 'warn',
        check: 'board',
        detail: `${model}: edgeloom has no page for this board`,
        fix: `the Raspberry Pi 4 page is the general one: ${boardPagePath('raspberry-pi-4')}`,
      },
    ];
  }
  const out: CheckResult[] = [
    {
      level: 'ok',
      check: 'board',
      detail: `${model}: see ${boardPagePath(page)} (config/boards/${page}.yaml)`,
    },
  ];
  const live = config.source.mode === 'live';
  const camera = config.sensors.camera;
  const foreign = camera.preset === 'rpicam' || camera.preset === 'jetson' ? camera.preset : undefined;
  if (live && camera.enabled && foreign !== undefined && foreign !== NATIVE_PRESET[page]) {
    out.push({
      level: 'warn',
      check: 'board',
      detail: `sensors.camera.preset ${foreign} is another board's camera stack`,
      fix: `preset ${NATIVE_PRESET[page]} for the board's own camera, v4l2 for a USB camera`,
    });
  }
  const stt = config.pipeline.stt;
  if (/Zero 2/.test(model) && stt.enabled && stt.engine === 'whisper') {
    out.push({
      level: 'warn',
      check: 'board',
      detail: `pipeline.stt (${stt.model}) does not fit in 512 MB beside the OS and the other models`,
      fix: `pipeline.stt.enabled: false (config/boards/${page}.yaml); see ${boardPagePath(page)}`,
    });
  }
  return out;
}
