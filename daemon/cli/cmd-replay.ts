import { basename, resolve } from 'node:path';
import type { EdgeloomConfig } from '../config/index.js';
import { buildDaemon, type Daemon } from '../daemon.js';
import { EdgeloomError, ErrorCode } from '../errors.js';
import { handleShutdownSignals } from '../shutdown.js';
import { SystemClock } from '../util/clock.js';
import { bool, num, parse, str } from './args.js';
import type { Command } from './command.js';
import { cliContext } from './context.js';
import { ReplayProgressReporter } from './progress/replay-progress.js';

const usage = `Usage: edgeloom replay DIR [--speed X] [--loop] [--config FILE] [--emit jsonl] [--emit-bus PATTERN]
                      [--stt whisper|reference]

Runs the whole daemon graph on a recorded fixture (see fixtures/README.md) instead of live sensors.

Options:
  --speed X            1 = real time, N = N times faster, 0 = as fast as possible, still in timestamp
                       order and deterministic: a virtual clock drives every timer (default 0)
  --loop               start over at the end (until SIGINT/SIGTERM)
  --emit jsonl         write every message the daemon would publish over MQTT to stdout, one JSON
                       object per line: {t_ms (fixture time), topic, payload, qos, retain}; no broker
  --emit-bus PATTERN   write internal bus events matching PATTERN (MQTT wildcards, e.g. 'inference/#')
                       to stdout the same way: {t_ms, topic, source, payload}; binary data by size
  --config FILE        configuration (pipeline, sensor ids, device id); default: the embedded one
  --stt ENGINE         speech-to-text engine (pipeline.stt.engine): whisper, or reference = the
                       fixture's truth.speech text for each VAD segment (model id
                       reference-transcript), a stand-in for whisper weights that cannot be fetched
Logs go to stderr. Two replays of the same fixture at speed 0 print identical output.`;

/** Values of --stt, as pipeline.stt.engine takes them. */
const STT_ENGINES = ['whisper', 'reference'] as const;

export const replayCommand: Command = {
  name: 'replay',
  summary: 'replay a recorded fixture through the whole pipeline',
  usage,
  async run(argv) {
    const args = parse('replay', argv, {
      config: { type: 'string', short: 'c' },
      speed: { type: 'string' },
      loop: { type: 'boolean' },
      emit: { type: 'string' },
      'emit-bus': { type: 'string' },
      stt: { type: 'string' },
    });
    const dir = args.positionals[0];
    if (dir === undefined || args.positionals.length > 1) {
      throw new EdgeloomError(
        ErrorCode.E_USAGE,
        'replay: give exactly one fixture directory (see: edgeloom replay --help)',
      );
    }
    const speed = num(args, 'speed', 'replay') ?? 0;
    if (speed < 0) throw new EdgeloomError(ErrorCode.E_USAGE, `replay: --speed must be >= 0 (got ${speed})`);
    const emit = str(args, 'emit');
    if (emit !== undefined && emit !== 'jsonl') {
      throw new EdgeloomError(
        ErrorCode.E_USAGE,
        `replay: --emit supports only "jsonl" (got ${JSON.stringify(emit)})`,
      );
    }
    const busPattern = str(args, 'emit-bus');
    const sttArg = str(args, 'stt');
    const stt = STT_ENGINES.find((e) => e === sttArg);
    if (sttArg !== undefined && stt === undefined) {
      throw new EdgeloomError(
        ErrorCode.E_USAGE,
        `replay: --stt is "whisper" or "reference" (got ${JSON.stringify(sttArg)})`,
      );
    }
    const ctx = cliContext({ configFile: str(args, 'config'), logTo: 'stderr' });
    const { pipeline } = ctx.config;
    const config: EdgeloomConfig =
      stt === undefined
        ? ctx.config
        : { ...ctx.config, pipeline: { ...pipeline, stt: { ...pipeline.stt, engine: stt } } };
    const daemon: Daemon = await buildDaemon({
      ephemeralStorage: true,
      config,
      logger: ctx.logger,
      baseDir: ctx.baseDir,
      replay: { fixtureDir: resolve(dir), speed, loop: bool(args, 'loop') },
      ...(emit === 'jsonl' ? { mqtt: { kind: 'jsonl' as const, out: process.stdout } } : {}),
      ...(busPattern === undefined ? {} : { busTap: { pattern: busPattern, out: process.stdout } }),
    });
    let interrupted = false;
    const signalled = handleShutdownSignals({
      logger: ctx.logger,
      deadlineMs: ctx.config.shutdown_timeout_ms,
      stop: async () => {
        interrupted = true;
        await daemon.stop();
      },
    });
    // A progress line on stderr when it is a terminal; nothing in pipes, logs or CI.
    const progress = new ReplayProgressReporter({
      replay: daemon.replay!,
      stream: process.stderr,
      clock: new SystemClock(),
      label: `replay ${basename(resolve(dir))}`,
    });
    try {
      await daemon.start();
      progress.start();
      const finished = daemon.replay!.done.then(() => 'done' as const);
      const outcome = await Promise.race([finished, signalled.then(() => 'signal' as const)]);
      if (outcome === 'signal') await signalled;
    } finally {
      progress.stop();
      if (!interrupted) await daemon.stop();
    }
    await new Promise<void>((r) => process.stdout.write('', () => r()));
    return 0;
  },
};
