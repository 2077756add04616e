import { resolve } from 'node:path';
import { Bus } from '../bus/bus.js';
import type { SensorKind } from '../bus/topics.js';
import { Controller } from '../controller.js';
import { EdgeloomError, ErrorCode } from '../errors.js';
import { componentLogger } from '../log.js';
import { Recorder } from '../replay/recorder.js';
import { buildLiveSensors } from '../sensors/build.js';
import { handleShutdownSignals } from '../shutdown.js';
import { SystemClock } from '../util/clock.js';
import { num, parse, str } from './args.js';
import type { Command } from './command.js';
import { cliContext } from './context.js';

const usage = `Usage: edgeloom record --out DIR [--duration S] [--sensors camera,mic,imu] [--config FILE]

Records live sensors (as configured: camera preset, mic recorder, IMU serial port) into a fixture
directory that \`edgeloom replay\` plays back. Stops after --duration seconds or on Ctrl-C; an
interrupted recording stays readable up to its last whole record.`;

const KINDS: readonly SensorKind[] = ['camera', 'mic', 'imu'];

export const recordCommand: Command = {
  name: 'record',
  summary: 'record live sensors into a fixture',
  usage,
  async run(argv) {
    const args = parse(
      'record',
      argv,
      {
        out: { type: 'string', short: 'o' },
        duration: { type: 'string' },
        sensors: { type: 'string' },
        config: { type: 'string', short: 'c' },
      },
      false,
    );
    const out = str(args, 'out');
    if (out === undefined) throw new EdgeloomError(ErrorCode.E_USAGE, 'record: --out DIR is required');
    const durationS = num(args, 'duration', 'record');
    if (durationS !== undefined && !(durationS > 0)) {
      throw new EdgeloomError(ErrorCode.E_USAGE, `record: --duration must be > 0 seconds (got ${durationS})`);
    }
    const ctx = cliContext({ configFile: str(args, 'config'), logTo: 'stderr' });
    const requested = str(args, 'sensors')
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean);
    for (const s of requested ?? []) {
      if (!(KINDS as readonly string[]).includes(s)) {
        throw new EdgeloomError(
          ErrorCode.E_USAGE,
          `record: unknown sensor ${JSON.stringify(s)} (camera, mic, imu)`,
        );
      }
    }
    const sensors =
      (requested as SensorKind[] | undefined) ?? KINDS.filter((k) => ctx.config.sensors[k].enabled);
    if (sensors.length === 0) throw new EdgeloomError(ErrorCode.E_USAGE, 'record: no sensor to record');

    const clock = new SystemClock();
    const { logger } = ctx;
    const bus = new Bus({ clock, logger: componentLogger(logger, 'bus') });
    const controller = new Controller({ bus, logger: componentLogger(logger, 'controller') });
    const recorder = new Recorder({
      dir: resolve(out),
      sensors,
      bus,
      clock,
      logger: componentLogger(logger, 'recorder'),
    });
    controller.add(recorder);
    for (const c of buildLiveSensors({
      config: ctx.config.sensors,
      bus,
      clock,
      logger,
      only: new Set(sensors),
      onImuSample: recorder.onImuSample,
    })) {
      controller.add(c);
    }
    const stop = async (): Promise<void> => {
      await controller.stop();
      await bus.close(5_000);
    };
    const signalled = handleShutdownSignals({ logger, deadlineMs: ctx.config.shutdown_timeout_ms, stop });
    await controller.start();
    logger.info({ out: resolve(out), sensors, durationS }, 'recording');
    if (durationS === undefined) return signalled;
    const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), durationS * 1000));
    const outcome = await Promise.race([timer, signalled.then(() => 'signal' as const)]);
    if (outcome === 'timeout') await stop();
    else await signalled;
    return 0;
  },
};
