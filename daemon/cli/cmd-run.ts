import { basename } from 'node:path';
import { buildDaemon, type Daemon } from '../daemon.js';
import { EdgeloomError, ErrorCode, toError } from '../errors.js';
import { componentLogger } from '../log.js';
import { handleShutdownSignals } from '../shutdown.js';
import { busProgressProbe } from '../systemd/progress-probe.js';
import { EXIT_RESTART, RestartResponder } from '../systemd/restart.js';
import { SdNotify } from '../systemd/sd-notify.js';
import { Watchdog } from '../systemd/watchdog.js';
import { SystemClock } from '../util/clock.js';
import { LoopDelaySampler } from '../util/loop-delay.js';
import { parse, str } from './args.js';
import type { Command } from './command.js';
import { cliContext } from './context.js';
import { ReplayProgressReporter } from './progress/replay-progress.js';

const usage = `Usage: edgeloom run [--config FILE] [--log-level LEVEL]

Runs the daemon: sensors (or the configured fixture replay) → pipeline → router → agents → MQTT.
Without --config (or EDGELOOM_CONFIG) it runs the embedded default: the bundled fixtures replayed
in a loop into an embedded MQTT broker on 127.0.0.1. SIGTERM/SIGINT drain in-flight work and exit 0;
past shutdown_timeout_ms the process exits 1, naming what did not stop.

Options:
  --config FILE       YAML configuration (see config/raspberry-pi.example.yaml)
  --log-level LEVEL   trace, debug, info, warn, error, fatal or silent; overrides log.level`;

/** pino's level names (log.ts); `--log-level` accepts these and nothing else. */
const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

export const runCommand: Command = {
  name: 'run',
  summary: 'run the daemon (embedded demo by default)',
  usage,
  async run(argv) {
    const args = parse(
      'run',
      argv,
      { config: { type: 'string', short: 'c' }, 'log-level': { type: 'string' } },
      false,
    );
    const logLevel = str(args, 'log-level');
    if (logLevel !== undefined && !LOG_LEVELS.includes(logLevel)) {
      throw new EdgeloomError(
        ErrorCode.E_USAGE,
        `run: --log-level ${logLevel} is not one of ${LOG_LEVELS.join(', ')} (see: edgeloom run --help)`,
        { where: '--log-level' },
      );
    }
    const ctx = cliContext({
      configFile: str(args, 'config'),
      ...(logLevel === undefined ? {} : { logLevel }),
    });
    const { logger, config } = ctx;
    // The signals are handled from the first moment: the store's start-up check and every
    // component's start honour the abort, so a stop during start-up is as clean as any other.
    const building = new AbortController();
    let daemon: Daemon | undefined;
    let built: Promise<Daemon> | undefined;
    let shuttingDown = false;
    // systemd (Type=notify): READY=1 once started, WATCHDOG=1 while making progress, STOPPING=1.
    const notify = new SdNotify({ log: componentLogger(logger, 'system.notify') });
    let watchdog: Watchdog | undefined;
    // One event-loop delay sampler for the dashboard, /metrics and the watchdog (util/loop-delay.ts).
    const loopDelay = new LoopDelaySampler();
    let progress: ReplayProgressReporter | undefined;
    // A daemon runs until it is told to stop. Without this, a run whose sockets and timers are all
    // unreferenced (broker down, HTTP off, a replay that has finished) ended silently with exit 0
    // and without stopping its components.
    const keepAlive = setInterval(() => {}, 2 ** 30);
    // `cmd/restart`: the same clean stop as SIGTERM, then EXIT_RESTART for systemd to start us again.
    let restarting = false;
    const stopped = handleShutdownSignals({
      logger,
      deadlineMs: config.shutdown_timeout_ms,
      pending: () => daemon?.controller.pending() ?? ['storage (opening and checking the store)'],
      stop: async () => {
        shuttingDown = true;
        clearInterval(keepAlive);
        building.abort(new EdgeloomError(ErrorCode.E_START_ABORTED, 'shutdown requested during start-up'));
        progress?.stop();
        await notify.stopping();
        await watchdog?.stop();
        const d = await built?.catch(() => undefined);
        await d?.stop();
      },
    });
    const exitCode = stopped.then((code) => (restarting && code === 0 ? EXIT_RESTART : code));
    built = buildDaemon({
      config,
      logger,
      baseDir: ctx.baseDir,
      mqtt: { kind: 'broker' },
      observability: { loopDelay },
      signal: building.signal,
    });
    try {
      daemon = await built;
      daemon.controller.add(
        new RestartResponder({
          bus: daemon.bus,
          logger: componentLogger(logger, 'system.restart'),
          minUptimeMs: config.control.restart_min_uptime_s * 1000,
          restart: () => {
            restarting = true;
            process.kill(process.pid, 'SIGTERM');
          },
        }),
      );
    } catch (err) {
      if (shuttingDown) return exitCode;
      clearInterval(keepAlive);
      throw err;
    }
    watchdog = new Watchdog({
      notify,
      loopDelay,
      progress: busProgressProbe(daemon.bus),
      log: componentLogger(logger, 'system.watchdog'),
    });
    // Replay mode on a terminal: a progress line on stderr (none under systemd or in pipes).
    progress =
      daemon.replay === undefined
        ? undefined
        : new ReplayProgressReporter({
            replay: daemon.replay,
            stream: process.stderr,
            clock: new SystemClock(),
            label: `replay ${basename(config.source.replay.fixture)}`,
          });
    if (shuttingDown) return exitCode;
    try {
      await daemon.start();
    } catch (err) {
      // A start the shutdown aborted is a stop, not a failure (the controller logged where).
      if (shuttingDown) return exitCode;
      const e = toError(err);
      logger.fatal({ err: e }, 'start-up failed');
      clearInterval(keepAlive);
      await daemon.stop().catch(() => {});
      throw e instanceof EdgeloomError
        ? e
        : new EdgeloomError(ErrorCode.E_START, `start-up failed: ${e.message}`);
    }
    // Ready once the models are loaded (stage start-up) and the broker answered, or after a bound:
    // a broker that is down must not keep the unit "activating" forever — the outbox holds messages.
    const brokerUp = await Promise.race([
      daemon.mqtt?.whenConnected().then(() => true) ?? Promise.resolve(true),
      new Promise<boolean>((r) => setTimeout(() => r(false), 10_000).unref()),
    ]);
    if (shuttingDown) return exitCode;
    await notify.ready(brokerUp ? 'running' : 'running; broker unreachable, buffering in the outbox');
    await watchdog.start(new AbortController().signal);
    progress?.start();
    logger.info(
      { device: config.device.id, brokerUp, components: daemon.controller.list().map((c) => c.name) },
      'edgeloom running',
    );
    return exitCode;
  },
};
