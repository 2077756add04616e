import { buildDaemon } from '../daemon.js';
import { EdgeloomError, toError } from '../errors.js';
import { handleShutdownSignals } from '../shutdown.js';
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
    const exitCode = handleShutdownSignals({
      logger,
      deadlineMs: config.shutdown_timeout_ms,
      stop: () => daemon.stop(),
    });
    try {
      await daemon.start();
    } catch (err) {
      const e = toError(err);
      logger.fatal({ err: e }, 'start-up failed');
      await daemon.stop().catch(() => {});
      throw e instanceof EdgeloomError ? e : new EdgeloomError('E_START', `start-up failed: ${e.message}`);
    }
    logger.info(
      { device: config.device.id, components: daemon.controller.list().map((c) => c.name) },
      'edgeloom running',
    );
    return exitCode;
  },
};
