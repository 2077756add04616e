/**
 * The argv of each recorder program the microphone can run, all asked for the same thing: raw
 * signed 16-bit little-endian mono PCM at the capture rate on stdout, nothing on stdout but the
 * samples (no header, no progress). The Supervisor spawns the argv like any producer.
 *
 * Flags from each program's manual: arecord(1) (`-t raw -f S16_LE`, `-D` the ALSA device),
 * sox(1) and rec(1) (`--type raw --encoding signed-integer --bits 16`; rec is sox recording from
 * the default device). sox and rec pick their input device from the AUDIODEV environment variable
 * (sox(1), "AUDIODEV"), so `device` goes there for them rather than into the argv.
 */

export type RecorderKind = 'sox' | 'rec' | 'arecord';

/** How to start one recorder: its argv and what to add to its environment. */
export interface RecorderLaunch {
  readonly command: readonly string[];
  readonly env: Readonly<Record<string, string>>;
}

export interface RecorderRequest {
  /** Capture rate, Hz. */
  readonly sampleRateHz: number;
  /** arecord: the ALSA name (`plughw:1,0`); sox and rec: the AUDIODEV value. Absent: the default device. */
  readonly device?: string | undefined;
}

/** One builder per program: the table a new recorder is added to. */
const RECORDERS: Readonly<Record<RecorderKind, (r: RecorderRequest) => RecorderLaunch>> = {
  arecord: (r) => ({
    command: [
      'arecord',
      ...(r.device === undefined ? [] : ['-D', r.device]),
      '-q', // no "Recording WAVE ..." banner
      '-r',
      String(r.sampleRateHz),
      '-c',
      '1',
      '-t',
      'raw',
      '-f',
      'S16_LE',
      '-', // stdout
    ],
    env: {},
  }),
  sox: (r) => ({
    command: [
      'sox',
      '--default-device', // the input: AUDIODEV when set, else the system's default
      '--no-show-progress',
      '--rate',
      String(r.sampleRateHz),
      '--channels',
      '1',
      '--encoding',
      'signed-integer',
      '--bits',
      '16',
      '--type',
      'raw',
      '-',
    ],
    env: audiodev(r.device),
  }),
  rec: (r) => ({
    command: [
      'rec',
      '-q',
      '-r',
      String(r.sampleRateHz),
      '-c',
      '1',
      '-e',
      'signed-integer',
      '-b',
      '16',
      '-t',
      'raw',
      '-',
    ],
    env: audiodev(r.device),
  }),
};

function audiodev(device: string | undefined): Record<string, string> {
  return device === undefined ? {} : { AUDIODEV: device };
}

/** The argv and environment of `kind` for this request. */
export function recorderLaunch(kind: RecorderKind, request: RecorderRequest): RecorderLaunch {
  return RECORDERS[kind](request);
}
