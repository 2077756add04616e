/** `sensors`: camera, microphone and IMU. */
import { arr, bool, enm, int, num, obj, str } from './builder.js';
import { backoff, ID_PATTERN, privacyTier, QOS_CLASSES } from './common.js';

/**
 * How a sensor's events reach the stage that analyses them (the face stage, the VAD, the motion
 * agent: sensors/bus-knobs.ts): that subscription's delivery class, queue bound and, where
 * thinning makes sense, sampling. The microphone has none: the VAD and the speech segments need
 * every 32 ms frame, so a thinned stream would cut words.
 */
function busKnobs(who: string, qos: (typeof QOS_CLASSES)[number], queueCapacity: number) {
  return {
    qos: enm({
      description:
        `Bus delivery class of ${who}'s subscription to this sensor: realtime (drop-oldest, never blocks), ` +
        'batched (guaranteed, the source waits) or background (drop-newest).',
      values: QOS_CLASSES,
      default: qos,
    }),
    queue_capacity: int({
      description: `Queue bound of ${who}'s subscription, events; on overflow the qos class policy applies.`,
      default: queueCapacity,
      minimum: 1,
      maximum: 100_000,
    }),
  };
}

function sampling(who: string) {
  return {
    sampling: obj(`Sampling applied before events are queued for ${who}, so it sees a thinned stream.`, {
      max_per_second: num({
        description:
          'Admit at most this many events per second (token bucket on the bus clock); 0 = no rate limit.',
        default: 0,
        minimum: 0,
      }),
      every_nth: int({ description: 'Admit every n-th event; 1 = every event.', default: 1, minimum: 1 }),
    }),
  };
}

const command = (what: string) =>
  arr({
    description: `argv of the ${what} process when the preset is custom (first element is the executable).`,
    items: str({ description: 'One argument.', minLength: 1 }),
    default: [],
    maxItems: 64,
  });

export const cameraSchema = obj(
  'The camera: a child process (ffmpeg, rpicam-vid, ...) writing MJPEG to stdout.',
  {
    enabled: bool({ description: 'Start the camera source.', default: true }),
    id: str({
      description: 'Instance id used in topics (sensor/camera/{id}/frame).',
      default: 'cam0',
      pattern: ID_PATTERN,
    }),
    preset: enm({
      description:
        'Capture command: v4l2 (ffmpeg on a V4L2 device), rpicam (rpicam-vid), jetson (GStreamer nvarguscamerasrc), ' +
        'custom (the `command` argv) or testsrc (ffmpeg test pattern, no hardware).',
      values: ['v4l2', 'rpicam', 'jetson', 'custom', 'testsrc'],
      default: 'testsrc',
    }),
    device: str({ description: 'Video device path (v4l2 preset).', default: '/dev/video0', minLength: 1 }),
    width: int({ description: 'Frame width, pixels.', default: 640, minimum: 16, maximum: 7680 }),
    height: int({ description: 'Frame height, pixels.', default: 480, minimum: 16, maximum: 4320 }),
    fps: int({
      description: 'Requested capture rate, frames per second.',
      default: 15,
      minimum: 1,
      maximum: 240,
    }),
    max_fps: num({
      description:
        'Cap on frames published per second, enforced by edgeloom (some UVC cameras ignore `fps`).',
      default: 15,
      exclusiveMinimum: 0,
    }),
    command: command('camera'),
    stall_timeout_ms: int({
      description: 'No complete frame for this long, ms, marks the camera stalled and restarts the process.',
      default: 5000,
      minimum: 100,
    }),
    max_frame_bytes: int({
      description:
        'Largest accepted JPEG, bytes; a longer SOI..EOI run is discarded and counted (bounds memory).',
      default: 4_194_304,
      minimum: 1024,
    }),
    restart: backoff('camera process restart', 500, 30_000),
    privacy: privacyTier('Privacy tier of camera-derived data.', 'local_only'),
    ...busKnobs('the face stage', 'realtime', 2),
    ...sampling('the face stage'),
  },
);

export const micSchema = obj('The microphone: a recorder process writing 16-bit mono PCM to stdout.', {
  enabled: bool({ description: 'Start the microphone source.', default: true }),
  id: str({
    description: 'Instance id used in topics (sensor/mic/{id}/frame).',
    default: 'mic0',
    pattern: ID_PATTERN,
  }),
  recorder: enm({
    description: 'Recorder program: sox, arecord (ALSA), rec (sox front end) or custom (the `command` argv).',
    values: ['sox', 'arecord', 'rec', 'custom'],
    default: 'sox',
  }),
  device: str({
    description:
      'Capture device: ALSA name for arecord (e.g. plughw:1,0); for sox/rec, `default` or a device.',
    default: 'default',
    minLength: 1,
  }),
  sample_rate_hz: int({
    description: 'Sample rate, Hz (Silero VAD and Whisper expect 16000).',
    default: 16_000,
    minimum: 8000,
    maximum: 48_000,
  }),
  frame_samples: int({
    description: 'Samples per published frame (512 = 32 ms at 16 kHz, the Silero VAD frame).',
    default: 512,
    minimum: 64,
    maximum: 16_384,
  }),
  command: command('recorder'),
  restart: backoff('recorder restart', 500, 30_000),
  privacy: privacyTier('Privacy tier of audio-derived data.', 'private'),
  ...busKnobs('the VAD', 'realtime', 64),
});

export const imuSchema = obj('The IMU: a serial port (or pty) carrying one reading per line or frame.', {
  enabled: bool({ description: 'Start the IMU source.', default: true }),
  id: str({
    description: 'Instance id used in topics (sensor/imu/{id}/window).',
    default: 'imu0',
    pattern: ID_PATTERN,
  }),
  path: str({ description: 'Serial device path, e.g. /dev/ttyUSB0.', default: '/dev/ttyUSB0', minLength: 1 }),
  baud_rate: int({ description: 'Serial speed, baud.', default: 115_200, minimum: 300, maximum: 4_000_000 }),
  format: enm({
    description:
      'Wire format: csv (ax,ay,az,gx,gy,gz[,mx,my,mz][,t_ms], or any order named by a header row), jsonl (one JSON object per line) or binary (the framed, CRC-checked format in README.md).',
    values: ['csv', 'jsonl', 'binary'],
    default: 'csv',
  }),
  accel_unit: enm({
    description: 'Unit the device sends acceleration in (converted to g).',
    values: ['g', 'm_s2'],
    default: 'g',
  }),
  gyro_unit: enm({
    description: 'Unit the device sends angular rate in (converted to deg/s).',
    values: ['deg_s', 'rad_s'],
    default: 'deg_s',
  }),
  raw_rate_hz: num({
    description: 'Expected device sample rate, Hz.',
    default: 100,
    exclusiveMinimum: 0,
    maximum: 10_000,
  }),
  event_rate_hz: num({
    description: 'Aggregated events published per second, Hz (raw samples are folded into windows).',
    default: 10,
    exclusiveMinimum: 0,
    maximum: 1000,
  }),
  reconnect: backoff('serial reconnect', 500, 30_000),
  privacy: privacyTier('Privacy tier of motion data.', 'public'),
  ...busKnobs('the motion agent', 'realtime', 256),
  ...sampling('the motion agent'),
});

export const sensorsSchema = obj('Sensor sources.', {
  camera: cameraSchema,
  mic: micSchema,
  imu: imuSchema,
});
