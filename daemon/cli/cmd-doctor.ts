/**
 * `edgeloom doctor`: check this machine against a configuration (Node, camera, microphone,
 * serial port, producer programs, models and their sha256, broker, memory, disk, systemd).
 */

import { bool, num, parse, str } from './args.js';
import type { Command } from './command.js';
import { cliContext } from './context.js';
import { countLevels, exitCodeOf, formatResults, runDoctor } from './doctor/doctor.js';
import { systemProbe } from './doctor/probe.js';

const USAGE = `Usage: edgeloom doctor [options]

Checks what the configuration needs from this machine; one line per check:
  ok|warn|fail  <check>  <detail>  → <fix>
"fail" is something the configuration needs and does not have; "warn" is worth knowing.

Options:
  --config FILE          configuration file (default: $EDGELOOM_CONFIG, else the embedded default)
  --json                 machine-readable output: {"results": [...], "counts": {...}}
  --broker-timeout-ms N  give the MQTT broker this long to accept a TCP connection (default 2000)

Exit status: 1 when any check fails, else 0.`;

const OPTIONS = {
  config: { type: 'string' },
  json: { type: 'boolean' },
  'broker-timeout-ms': { type: 'string' },
} as const;

export const doctorCommand: Command = {
  name: 'doctor',
  summary: 'check devices, programs, models, broker and resources against the configuration',
  usage: USAGE,
  async run(argv) {
    const p = parse('doctor', argv, OPTIONS, false);
    // The same config resolution as run/replay: --config, $EDGELOOM_CONFIG, else the embedded default.
    const { config, baseDir } = cliContext({
      configFile: str(p, 'config'),
      logTo: 'stderr',
      logLevel: 'silent',
    });
    const timeoutMs = num(p, 'broker-timeout-ms', 'doctor');
    const results = await runDoctor(config, {
      probe: systemProbe(),
      baseDir,
      ...(timeoutMs === undefined ? {} : { brokerTimeoutMs: timeoutMs }),
    });
    if (bool(p, 'json')) {
      process.stdout.write(`${JSON.stringify({ results, counts: countLevels(results) }, null, 2)}\n`);
    } else {
      const c = countLevels(results);
      process.stdout.write(`${formatResults(results)}\n\n${c.ok} ok, ${c.warn} warn, ${c.fail} fail\n`);
    }
    return exitCodeOf(results);
  },
};
