import { basename } from 'node:path';
import { buildDaemon } from '../daemon.js';
import { EdgeloomError, toError } from '../errors.js';
import { componentLogger } from '../log.js';
import { handleShutdownSignals } from '../shutdown.js';
import { busProgressProbe } from '../system/progress-probe.js';
import { ReplayProgressReporter } from '../system/replay-progress.js';
import { SdNotify } from '../system/sd-notify.js';
import { Watchdog } from '../system/watchdog.js';
import { SystemClock } from '../util/clock.js';
import { parse, str } from './args.js';
import type { Command } from './command.js';
import { cliContext } from './context.js';

const usage = `Usage: edgeloom run [--config FILE]

Runs the daemon: sensors (or the configured fixture replay) → pipeline → router → agents → MQTT.
Without --config (or EDGELOOM_CONFIG) it runs the embedded default: the bundled fixtures replayed
in a loop into an embedded MQTT broker on 127.0.0.1. SIGTERM/SIGINT drain in-flight work and exit 0.

Options:
  --config FILE   YAML configuration (see config/raspberry-pi.example.yaml)`;

export const runCommand: Command = {
  name: 'run',
  summary: 'run the daemon (embedded demo by default)',
  usage,
  async run(argv) {
    const args = parse('run', argv, { config: { type: 'string', short: 'c' } }, false);
    const ctx = cliContext({ configFile: str(args, 'config') });
    const { logger, config } = ctx;
    const daemon = await buildDaemon({
      config,
      logger,
      baseDir: ctx.baseDir,
      mqtt: { kind: 'broker' },
      observability: true,
    });
    // systemd (Type=notify): READY=1 once started, WATCHDOG=1 while making progress, STOPPING=1.
    const notify = new SdNotify({ log: componentLogger(logger, 'system.notify') });
    const watchdog = new Watchdog({
      notify,
      progress: busProgressProbe(daemon.bus),
      log: componentLogger(logger, 'system.watchdog'),
    });
    // Replay mode on a terminal: a progress line on stderr (none under systemd or in pipes).
    const progress =
      daemon.replay === undefined
        ? undefined
        : new ReplayProgressReporter({
            replay: daemon.replay,
            stream: process.stderr,
            clock: new SystemClock(),
            label: `replay ${basename(config.source.replay.fixture)}`,
          });
    const exitCode = handleShutdownSignals({
      logger,
      deadlineMs: config.shutdown_timeout_ms,
      stop: async () => {
        progress?.stop();
        await notify.stopping();
        await watchdog.stop();
        await daemon.stop();
      },
    });
    try {
      await daemon.start();
    } catch (err) {
      const e = toError(err);
      logger.fatal({ err: e }, 'start-up failed');
      await daemon.stop().catch(() => {});
      throw e instanceof EdgeloomError ? e : new EdgeloomError('E_START', `start-up failed: ${e.message}`);
    }
    // Ready once the models are loaded (stage start-up) and the broker answered, or after a bound:
    // a broker that is down must not keep the unit "activating" forever — the outbox holds messages.
    const brokerUp = await Promise.race([
      daemon.mqtt?.whenConnected().then(() => true) ?? Promise.resolve(true),
      new Promise<boolean>((r) => setTimeout(() => r(false), 10_000).unref()),
    ]);
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
