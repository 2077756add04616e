/** Public surface of the configuration: load once at start, pass typed frozen slices down. */

export { ENV_PREFIX, type EnvBinding, IGNORED_ENV_PREFIXES, IGNORED_ENV_VARS } from './env.js';
export {
  configEnvVars,
  configSources,
  deepFreeze,
  deviceIdFromHostname,
  type LoadConfigOptions,
  loadConfig,
  redactConfig,
} from './load.js';
export { ConfigError, type ConfigProblem, formatProblem } from './problems.js';
export { isLoopbackHost } from './rules.js';
export { configSchema } from './schema/index.js';
export type * from './types.js';
