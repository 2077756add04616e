import { resolve } from 'node:path';
import { EdgeloomError, ErrorCode } from '../errors.js';
import { makeFixture } from '../recording/make.js';
import { bool, num, parse, str } from './args.js';
import type { Command } from './command.js';

const usage = `Usage: edgeloom fixture make --out DIR [--audio FILE.wav] [--images DIR | --video FILE] [--fps N]
                             [--imu FILE.csv|FILE.jsonl] [--description TEXT] [--json]

Builds a fixture (see fixtures/README.md) from ordinary files:
  --audio FILE     any WAV (or anything ffmpeg reads): converted to 16 kHz mono 16-bit
  --images DIR     .jpg/.png/.webp/.tif files in name order, encoded to MJPEG at --fps
  --video FILE     any video ffmpeg reads, encoded to MJPEG at --fps
  --fps N          frames per second for images/video (default 5)
  --imu FILE       CSV with a header row (t_ms,ax,ay,az,gx,gy,gz[,mx,my,mz]; g and deg/s) or JSON lines
  --width W --height H   resize frames (cover crop)
  --json           print {"out", "frames", "audio_samples", "imu_samples"} instead of a sentence`;

export const fixtureCommand: Command = {
  name: 'fixture',
  summary: 'build fixtures from ordinary files (fixture make)',
  usage,
  async run(argv) {
    const [sub, ...rest] = argv;
    if (sub !== 'make') {
      throw new EdgeloomError(
        ErrorCode.E_USAGE,
        `fixture: unknown sub-command ${JSON.stringify(sub ?? '')} (try: fixture make)`,
      );
    }
    const args = parse(
      'fixture make',
      rest,
      {
        out: { type: 'string', short: 'o' },
        audio: { type: 'string' },
        images: { type: 'string' },
        video: { type: 'string' },
        fps: { type: 'string' },
        imu: { type: 'string' },
        description: { type: 'string' },
        width: { type: 'string' },
        height: { type: 'string' },
        json: { type: 'boolean' },
      },
      false,
    );
    const out = str(args, 'out');
    if (out === undefined) throw new EdgeloomError(ErrorCode.E_USAGE, 'fixture make: --out DIR is required');
    const audio = str(args, 'audio');
    const images = str(args, 'images');
    const video = str(args, 'video');
    const imu = str(args, 'imu');
    if (audio === undefined && images === undefined && video === undefined && imu === undefined) {
      throw new EdgeloomError(
        ErrorCode.E_USAGE,
        'fixture make: give at least one of --audio, --images, --video, --imu',
      );
    }
    if (images !== undefined && video !== undefined) {
      throw new EdgeloomError(ErrorCode.E_USAGE, 'fixture make: --images and --video are exclusive');
    }
    const fps = num(args, 'fps', 'fixture make');
    const width = num(args, 'width', 'fixture make');
    const height = num(args, 'height', 'fixture make');
    const description = str(args, 'description');
    const result = await makeFixture({
      out: resolve(out),
      ...(audio === undefined ? {} : { audio: resolve(audio) }),
      ...(images === undefined ? {} : { images: resolve(images) }),
      ...(video === undefined ? {} : { video: resolve(video) }),
      ...(imu === undefined ? {} : { imu: resolve(imu) }),
      ...(fps === undefined ? {} : { fps }),
      ...(width === undefined ? {} : { frameWidth: width }),
      ...(height === undefined ? {} : { frameHeight: height }),
      description:
        description ??
        `made by edgeloom fixture make from ${[audio, images, video, imu].filter(Boolean).join(', ')}`,
    });
    if (bool(args, 'json')) {
      const summary = {
        out: resolve(out),
        frames: result.frames,
        audio_samples: result.audioSamples,
        imu_samples: result.imuSamples,
      };
      process.stdout.write(`${JSON.stringify(summary)}\n`);
      return 0;
    }
    process.stdout.write(
      `fixture written to ${resolve(out)}: ${result.frames} frames, ${result.audioSamples} audio samples, ${result.imuSamples} IMU samples\n`,
    );
    return 0;
  },
};
