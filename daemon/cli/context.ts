import { dirname, join } from 'node:path';
import { type EdgeloomConfig, loadConfig } from '../config/index.js';
import { createLogger, type Logger } from '../log.js';
import { packageRoot } from '../util/package-root.js';

export interface CliContext {
  readonly config: EdgeloomConfig;
  /** Directory that relative config paths (fixtures, models, storage) resolve against. */
  readonly baseDir: string;
  readonly configFile: string;
  readonly logger: Logger;
}

/**
 * Load the config for a command: --config FILE, else $EDGELOOM_CONFIG, else the embedded default
 * (config/default.yaml in the package). Relative paths in the embedded default resolve against the
 * package root (so `fixtures/demo` is found wherever edgeloom is started); in a user's file they
 * resolve against the working directory.
 */
export function cliContext(options: {
  configFile?: string | undefined;
  /** stdout (default) or stderr: replay --emit keeps stdout for the emitted lines. */
  logTo?: 'stdout' | 'stderr';
  logLevel?: string;
}): CliContext {
  const explicit = options.configFile ?? process.env.EDGELOOM_CONFIG;
  const configFile = explicit ?? join(packageRoot(), 'config', 'default.yaml');
  const config = loadConfig({ file: configFile, env: process.env });
  const baseDir = explicit === undefined ? dirname(dirname(configFile)) : process.cwd();
  const logger = createLogger({
    level: options.logLevel ?? config.log.level,
    format: config.log.format,
    destination: options.logTo ?? 'stdout',
  });
  return { config, baseDir, configFile, logger };
}
