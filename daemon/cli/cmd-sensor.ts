/**
 * `edgeloom sensor pause|resume SENSOR`: the device owner's switch for a sensor, from the device's
 * own shell (cover the camera for an hour, mute the microphone). It asks the running daemon
 * through its control socket, an authenticated origin like a signed MQTT command: the same command
 * rows and responders as `<base>/cmd/sensor/<id>/pause|resume` (actions/command-table.ts,
 * sensors/pauses.ts), bounded by control.pause_max_s, audited, and a sensor that feeds fall
 * detection pauses only with --safety-override. There is nothing to pause without a daemon.
 */
import { EdgeloomError, ErrorCode } from '../errors.js';
import { bool, num, parse, str } from './args.js';
import type { Command } from './command.js';
import { viaDaemon } from './store-access.js';

const USAGE = `Usage: edgeloom sensor pause SENSOR [--duration S] [--safety-override] [--json] [--config FILE]
       edgeloom sensor resume SENSOR [--json] [--config FILE]

Pause or resume a sensor of the running daemon (SENSOR is its id: cam0, mic0, imu0), as the
MQTT command cmd/sensor/<id>/pause does. A paused sensor's frames are dropped at the source and
its status says paused; it resumes by itself after --duration, at most control.pause_max_s.
The IMU feeds fall detection: pausing it needs --safety-override and is bounded by
control.safety_pause_max_s. Every pause and resume is audited.

Options:
  --duration S       resume by itself after S seconds (default and bound: control.pause_max_s)
  --safety-override  also pause a sensor that feeds fall detection
  --json             print the daemon's answer as one JSON object
  --config FILE      configuration file (for storage.dir, where the control socket is)`;

export const sensorCommand: Command = {
  name: 'sensor',
  summary: 'pause or resume a sensor of the running daemon (audited, bounded)',
  usage: USAGE,
  async run(argv) {
    const p = parse('sensor', argv, {
      duration: { type: 'string' },
      'safety-override': { type: 'boolean' },
      json: { type: 'boolean' },
      config: { type: 'string' },
    });
    const [action, sensor, ...rest] = p.positionals;
    const usage = (why: string): never => {
      throw new EdgeloomError(ErrorCode.E_USAGE, `sensor: ${why} (see: edgeloom sensor --help)`, {
        where: 'sensor',
      });
    };
    if ((action !== 'pause' && action !== 'resume') || sensor === undefined || rest.length > 0)
      usage('give pause or resume and one sensor id');
    const duration = num(p, 'duration', 'sensor');
    if (duration !== undefined && !(duration > 0)) usage(`--duration must be more than 0 (got ${duration})`);
    if (action === 'resume' && (duration !== undefined || bool(p, 'safety-override')))
      usage('resume takes no --duration or --safety-override');
    const answer =
      action === 'pause'
        ? ((await viaDaemon(str(p, 'config'), {
            op: 'sensor.pause',
            sensor: sensor!,
            ...(duration === undefined ? {} : { duration_s: duration }),
            ...(bool(p, 'safety-override') ? { safety_override: true } : {}),
          })) as { sensor: string; state: 'paused'; resumes_in_s: number })
        : ((await viaDaemon(str(p, 'config'), { op: 'sensor.resume', sensor: sensor! })) as {
            sensor: string;
            state: 'running';
          });
    if (bool(p, 'json')) process.stdout.write(`${JSON.stringify(answer)}\n`);
    else if (answer.state === 'paused')
      process.stdout.write(`${answer.sensor} paused; resumes by itself in ${answer.resumes_in_s} s\n`);
    else process.stdout.write(`${answer.sensor} running\n`);
    return 0;
  },
};
