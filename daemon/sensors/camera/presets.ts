/**
 * argv builders for the capture programs the camera source can supervise. Every preset writes a
 * bare MJPEG stream (concatenated JPEGs) to stdout and its diagnostics to stderr; the source
 * never runs a shell, so every argument is one argv element (GStreamer caps included).
 */

export type CameraPreset =
  /** USB/UVC cameras through ffmpeg's V4L2 input. */
  | {
      readonly kind: 'v4l2';
      /** e.g. `/dev/video0`. */
      readonly device: string;
      readonly width: number;
      readonly height: number;
      readonly fps: number;
      /**
       * true (default): ask the device for MJPEG and copy it through untouched (no CPU cost).
       * false: take the device's raw format and encode MJPEG in ffmpeg (`-q:v 5`).
       */
      readonly nativeMjpeg?: boolean;
    }
  /** Raspberry Pi cameras through libcamera's rpicam-vid (Bookworm; `libcamera-vid` before). */
  | { readonly kind: 'rpicam'; readonly width: number; readonly height: number; readonly fps: number }
  /** Jetson CSI cameras: Argus capture, hardware JPEG encoder. */
  | {
      readonly kind: 'jetson';
      readonly width: number;
      readonly height: number;
      readonly fps: number;
      /** nvarguscamerasrc `sensor-id` (default 0). */
      readonly sensorId?: number;
    }
  /** ffmpeg's synthetic test pattern, paced to real time: no hardware needed. */
  | { readonly kind: 'testsrc'; readonly width: number; readonly height: number; readonly fps: number }
  | { readonly kind: 'custom'; readonly command: readonly string[] };

/** Quiet ffmpeg: errors only on stderr, never read stdin (it would steal the daemon's). */
const FFMPEG = ['ffmpeg', '-hide_banner', '-loglevel', 'error', '-nostdin'] as const;
/** Encoder settings when ffmpeg has to make the JPEGs itself (q 2–31, lower is better; 5 ≈ 90 %). */
const ENCODE_MJPEG = ['-c:v', 'mjpeg', '-q:v', '5'] as const;

/** The argv for a preset. */
export function cameraCommand(preset: CameraPreset): string[] {
  switch (preset.kind) {
    case 'v4l2': {
      const size = `${preset.width}x${preset.height}`;
      if (preset.nativeMjpeg === false) {
        return [
          ...FFMPEG,
          '-f',
          'v4l2',
          '-video_size',
          size,
          '-framerate',
          `${preset.fps}`,
          '-i',
          preset.device,
          ...ENCODE_MJPEG,
          '-f',
          'mjpeg',
          '-',
        ];
      }
      return [
        ...FFMPEG,
        '-f',
        'v4l2',
        '-input_format',
        'mjpeg',
        '-video_size',
        size,
        '-framerate',
        `${preset.fps}`,
        '-i',
        preset.device,
        '-c:v',
        'copy',
        '-f',
        'mjpeg',
        '-',
      ];
    }
    case 'rpicam':
      // -t 0: run forever; -n: no preview window; -o -: stdout.
      return [
        'rpicam-vid',
        '-t',
        '0',
        '-n',
        '--codec',
        'mjpeg',
        '--width',
        `${preset.width}`,
        '--height',
        `${preset.height}`,
        '--framerate',
        `${preset.fps}`,
        '-o',
        '-',
      ];
    case 'jetson':
      // gst-launch joins its argv into one pipeline description, so the caps are one element.
      // -q keeps gst-launch's own progress lines off stdout, which carries the JPEGs (fdsink fd=1).
      return [
        'gst-launch-1.0',
        '-q',
        'nvarguscamerasrc',
        `sensor-id=${preset.sensorId ?? 0}`,
        '!',
        `video/x-raw(memory:NVMM),width=${preset.width},height=${preset.height},framerate=${preset.fps}/1`,
        '!',
        'nvjpegenc',
        '!',
        'fdsink',
        'fd=1',
      ];
    case 'testsrc':
      // -re paces lavfi to real time; without it testsrc runs as fast as the CPU allows.
      return [
        ...FFMPEG,
        '-re',
        '-f',
        'lavfi',
        '-i',
        `testsrc=size=${preset.width}x${preset.height}:rate=${preset.fps}`,
        ...ENCODE_MJPEG,
        '-f',
        'mjpeg',
        '-',
      ];
    case 'custom':
      return [...preset.command];
  }
}

/**
 * For a v4l2 preset asking for native MJPEG, the argv that encodes instead: used when the device
 * turns out not to offer MJPEG (see isMjpegUnsupported).
 */
export function cameraFallbackCommand(preset: CameraPreset): string[] | undefined {
  if (preset.kind !== 'v4l2' || preset.nativeMjpeg === false) return undefined;
  return cameraCommand({ ...preset, nativeMjpeg: false });
}

/**
 * ffmpeg's complaint when `-input_format mjpeg` is not among the device's formats
 * (libavdevice/v4l2.c: "Cannot find a proper format for codec ...").
 */
export function isMjpegUnsupported(stderrTail: readonly string[]): boolean {
  return stderrTail.some((l) =>
    /Cannot find a proper format|Invalid argument.*input_format|not supported by the device/i.test(l),
  );
}

/**
 * A missing capture device, from the producer's stderr: ffmpeg prints `/dev/video9: No such file
 * or directory` (or `Cannot open video device ...`), rpicam-vid and nvarguscamerasrc print
 * `no cameras available`, the Argus client names the daemon it cannot reach. Returns the
 * `failed` reason, naming the device.
 */
export function diagnoseCameraFailure(stderrTail: readonly string[]): string | undefined {
  for (const line of stderrTail) {
    // The Argus client's own words when /tmp/argus_socket is not there: no nvargus-daemon, or a
    // service whose private /tmp hides it (systemd/drop-ins/jetson-camera.conf binds it in).
    if (/Connecting to nvargus-daemon failed/.test(line)) {
      return 'nvargus-daemon not reachable at /tmp/argus_socket (under systemd: install systemd/drop-ins/jetson-camera.conf, docs/boards/jetson.md); retrying';
    }
    const dev = /(\/dev\/\S+?):? No such file or directory/.exec(line);
    if (dev) return `camera device ${dev[1]} not found (unplugged?); retrying`;
    if (/no cameras available/i.test(line)) return 'no camera detected by the capture program; retrying';
  }
  return undefined;
}
