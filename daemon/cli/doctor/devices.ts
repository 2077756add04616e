/**
 * Doctor checks for what the sensors and the speech output need from the machine: the camera, the
 * microphone, the serial port and the programs they run. A thing the configuration uses and that
 * is missing is a `fail`; a thing nobody asked for that is missing is only a `warn`, so the report
 * says what this machine could do without failing over hardware that is not in use.
 */
import type { EdgeloomConfig } from '../../config/index.js';
import type { DoctorProbe } from './probe.js';
import type { CheckResult } from './types.js';

/** What the configuration makes edgeloom open (only in live mode; replays read files). */
export interface Needs {
  readonly camera: boolean;
  readonly mic: boolean;
  readonly imu: boolean;
  /**
   * Programs the configuration runs: the enabled sensors' (ffmpeg for the v4l2 preset, live mode
   * only) and the speech output's (agents.voice.tts: its command and player, in every mode).
   */
  readonly programs: readonly string[];
}

/** Programs edgeloom can drive: camera presets, then recorders. */
export const PRODUCERS: readonly string[] = ['ffmpeg', 'rpicam-vid', 'gst-launch-1.0', 'sox', 'arecord'];

const CAMERA_PROGRAM: Readonly<Record<string, string | undefined>> = {
  v4l2: 'ffmpeg',
  testsrc: 'ffmpeg',
  rpicam: 'rpicam-vid',
  jetson: 'gst-launch-1.0',
};

const RECORDER_PROGRAM: Readonly<Record<string, string | undefined>> = {
  sox: 'sox',
  rec: 'rec',
  arecord: 'arecord',
};

export function needsOf(config: EdgeloomConfig): Needs {
  const live = config.source.mode === 'live';
  const { camera, mic, imu } = config.sensors;
  const programs = new Set<string>();
  if (live && camera.enabled) {
    const p = camera.preset === 'custom' ? camera.command[0] : CAMERA_PROGRAM[camera.preset];
    if (p !== undefined) programs.add(p);
  }
  if (live && mic.enabled) {
    const p = mic.recorder === 'custom' ? mic.command[0] : RECORDER_PROGRAM[mic.recorder];
    if (p !== undefined) programs.add(p);
  }
  // The TTS actuator starts with the agents, replays included (the demo speaks its answers).
  const tts = config.agents.voice.tts;
  if (tts.enabled)
    for (const argv of [tts.command, tts.player]) if (argv[0] !== undefined) programs.add(argv[0]);
  return {
    camera: live && camera.enabled && camera.preset === 'v4l2',
    mic: live && mic.enabled,
    imu: live && imu.enabled,
    programs: [...programs],
  };
}

/** One line per producer program, plus any custom command the config names. */
export function checkPrograms(probe: DoctorProbe, needs: Needs): CheckResult[] {
  const names = [...new Set([...PRODUCERS, ...needs.programs])];
  return names.map((name) => {
    const found = probe.which(name);
    const needed = needs.programs.includes(name);
    if (found !== undefined) return { level: 'ok', check: `program ${name}`, detail: found };
    return {
      level: needed ? 'fail' : 'warn',
      check: `program ${name}`,
      detail: needed
        ? 'not found on PATH, and the configuration runs it'
        : 'not found on PATH (not used by this configuration)',
      fix: installHint(name),
    };
  });
}

/**
 * The Debian package that installs a program edgeloom can run (the .deb recommends those its
 * packaged config runs: scripts/package/build-deb.sh).
 */
const DEBIAN_PACKAGE: Readonly<Record<string, string | undefined>> = {
  ffmpeg: 'ffmpeg',
  sox: 'sox',
  rec: 'sox',
  arecord: 'alsa-utils',
  aplay: 'alsa-utils',
  'espeak-ng': 'espeak-ng',
};

/** The Debian package that installs `program`, when it is one edgeloom knows. */
export function debianPackageOf(program: string): string | undefined {
  return DEBIAN_PACKAGE[program];
}

function installHint(program: string): string {
  const deb = debianPackageOf(program);
  if (deb !== undefined) return `sudo apt install ${deb}`;
  switch (program) {
    case 'rpicam-vid':
      return 'sudo apt install rpicam-apps (Raspberry Pi OS)';
    case 'gst-launch-1.0':
      return 'sudo apt install gstreamer1.0-tools (NVIDIA Jetson: part of JetPack)';
    default:
      return `install ${program} or fix the configured command`;
  }
}

/** Formats a V4L2 device offers, by the first tool available (v4l2-ctl, else ffmpeg). */
function videoFormats(probe: DoctorProbe, device: string): string {
  if (probe.which('v4l2-ctl') !== undefined) {
    const r = probe.exec('v4l2-ctl', ['--list-formats-ext', '-d', device], 5000);
    const formats = [...r.stdout.matchAll(/\[\d+\]: '(\w+)'/g)].map((m) => m[1]);
    return formats.length > 0 ? [...new Set(formats)].join(',') : 'formats unknown';
  }
  if (probe.which('ffmpeg') !== undefined) {
    // ffmpeg prints the list on stderr and then exits non-zero ("Immediate exit requested").
    const r = probe.exec(
      'ffmpeg',
      ['-hide_banner', '-f', 'v4l2', '-list_formats', 'all', '-i', device],
      5000,
    );
    const formats = [...r.stderr.matchAll(/(?:Compressed|Raw)\s*:\s*(\w+)/g)].map((m) => m[1]);
    return formats.length > 0 ? [...new Set(formats)].join(',') : 'formats unknown';
  }
  return 'formats unknown (install v4l2-ctl from v4l-utils)';
}

export function checkCamera(probe: DoctorProbe, config: EdgeloomConfig, needs: Needs): CheckResult {
  const found = probe.devices(/^video\d+$/);
  const list = found.map((d) => `${d} (${videoFormats(probe, d)})`).join('; ');
  const wanted = config.sensors.camera.device;
  if (needs.camera && !probe.exists(wanted)) {
    return {
      level: 'fail',
      check: 'camera',
      detail: `${wanted} (sensors.camera.device) does not exist; found: ${list || 'no /dev/video* at all'}`,
      fix: 'plug the camera in, check `dmesg`, or set sensors.camera.device (v4l2-ctl --list-devices)',
    };
  }
  if (found.length === 0) {
    return {
      level: 'warn',
      check: 'camera',
      detail: 'no /dev/video* device (not needed by this configuration)',
      fix: 'plug in a UVC camera to use preset v4l2',
    };
  }
  return { level: 'ok', check: 'camera', detail: list };
}

/** ALSA capture cards: `arecord -l` when installed, else /proc/asound/cards (playback included). */
export function checkAudio(probe: DoctorProbe, needs: Needs): CheckResult {
  let cards: string[] = [];
  let source = '/proc/asound/cards';
  if (probe.which('arecord') !== undefined) {
    source = 'arecord -l';
    const r = probe.exec('arecord', ['-l'], 5000);
    cards = r.stdout.split('\n').filter((l) => /^card \d+:/.test(l));
  } else {
    const text = probe.readText('/proc/asound/cards') ?? '';
    cards = text.split('\n').filter((l) => /^\s*\d+ \[/.test(l));
  }
  const detail = cards.map((c) => c.trim().replace(/\s+/g, ' ')).join('; ');
  if (cards.length > 0) return { level: 'ok', check: 'microphone', detail: `${source}: ${detail}` };
  return {
    level: needs.mic ? 'fail' : 'warn',
    check: 'microphone',
    detail: `no ALSA capture device (${source})${needs.mic ? '' : ', not needed by this configuration'}`,
    fix: 'plug in a USB microphone; set sensors.mic.device to plughw:<card>,0 from `arecord -l`',
  };
}

export async function checkSerial(
  probe: DoctorProbe,
  config: EdgeloomConfig,
  needs: Needs,
  listPorts: () => Promise<readonly string[]>,
): Promise<CheckResult> {
  const nodes = probe.devices(/^tty(USB|ACM|AMA)\d+$/);
  const listed = await listPorts().catch(() => [] as string[]);
  const ports = [...new Set([...listed, ...nodes])].sort();
  const wanted = config.sensors.imu.path;
  const exists = ports.includes(wanted) || probe.exists(wanted);
  if (needs.imu && !exists) {
    return {
      level: 'fail',
      check: 'serial',
      detail: `${wanted} (sensors.imu.path) does not exist; found: ${ports.join(', ') || 'no serial ports'}`,
      fix: 'plug the IMU adapter in (dmesg | grep tty), or set sensors.imu.path; prefer /dev/serial/by-id/...',
    };
  }
  if (ports.length === 0) {
    return {
      level: 'warn',
      check: 'serial',
      detail: 'no /dev/ttyUSB*, ttyACM* or ttyAMA* port (not needed by this configuration)',
      fix: 'plug in the IMU’s USB-serial adapter to use sensors.imu',
    };
  }
  return { level: 'ok', check: 'serial', detail: ports.join(', ') };
}
