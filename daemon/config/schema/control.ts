/** `control`: the local control socket and the command bounds. */
import { bool, int, obj, str } from './builder.js';

export const controlSchema = obj(
  'Who may change the device from outside: signed commands, the local control socket, pauses.',
  {
    command_key: str({
      description:
        'HMAC-SHA256 key for signed MQTT commands (at least 16 characters); empty = no command from the network may loosen privacy, forget or override a safety pause.',
      default: '',
      pattern: '^$|^.{16,}$',
      secret: true,
    }),
    max_clock_skew_s: int({
      description:
        "A signed command's `ts` may differ from the device's clock by at most this, s (replay window).",
      default: 120,
      minimum: 1,
      maximum: 3600,
    }),
    socket: bool({
      description:
        'Serve the local control socket <storage.dir>/control.sock (mode 0600) for `edgeloom privacy|forget|audit`.',
      default: true,
    }),
    pause_max_s: int({
      description: 'Longest a camera or microphone pause lasts, s; it resumes by itself after it.',
      default: 86_400,
      minimum: 1,
      maximum: 604_800,
    }),
    restart_min_uptime_s: int({
      description:
        'A `cmd/restart` is refused until the daemon has run this long, s, so that repeated restart commands cannot keep fall detection down (at most one restart of a few seconds per this period).',
      default: 60,
      minimum: 0,
      maximum: 86_400,
    }),
    safety_pause_max_s: int({
      description:
        'Longest pause of a sensor that feeds fall detection (the IMU), s; such a pause also needs an authenticated command with safety_override.',
      default: 900,
      minimum: 1,
      maximum: 86_400,
    }),
  },
);
