import { agentsSchema } from './agents.js';
import { enm, int, obj, str } from './builder.js';
import { cloudSchema } from './cloud.js';
import { ID_PATTERN } from './common.js';
import { controlSchema } from './control.js';
import { httpSchema } from './http.js';
import { mcpSchema } from './mcp.js';
import { modelsSchema } from './models.js';
import { mqttSchema } from './mqtt.js';
import { pipelineSchema } from './pipeline.js';
import { pluginsSchema } from './plugins.js';
import { routerSchema } from './router.js';
import { sensorsSchema } from './sensors.js';
import { sourceSchema } from './source.js';
import { storageSchema } from './storage.js';

/**
 * The one schema of edgeloom's configuration. YAML keys are snake_case; every key has a
 * description (with its unit) and a default, except `device.id` and `storage.dir`, which the
 * loader derives at run time (host name, $STATE_DIRECTORY).
 */
export const configSchema = obj('edgeloom configuration.', {
  device: obj('This device.', {
    id: str({
      description:
        'Stable id used in MQTT topics and Home Assistant unique ids; default: derived from the host name.',
      pattern: ID_PATTERN,
    }),
    name: str({
      description: 'Human-readable name shown in Home Assistant.',
      default: 'edgeloom',
      minLength: 1,
    }),
  }),
  log: obj('Logging (pino, JSON lines on stdout for journald).', {
    level: enm({
      description: 'Lowest level written.',
      values: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'],
      default: 'info',
    }),
    format: enm({
      description:
        'auto: one readable line per entry on a terminal, JSON lines otherwise (journald, files, pipes); json or pretty: always that. Under systemd the journal gets JSON with its priority prefix whatever this says.',
      values: ['auto', 'json', 'pretty'],
      default: 'auto',
    }),
  }),
  shutdown_timeout_ms: int({
    description:
      'On SIGTERM/SIGINT, time allowed to drain in-flight work and stop every component, ms; then the process exits 0.',
    default: 10_000,
    minimum: 100,
  }),
  budget: obj('Resource budget the daemon plans within.', {
    memory_mb: int({
      description: 'Memory edgeloom may use, MiB (queues and model choices are sized within it).',
      default: 2048,
      minimum: 64,
    }),
  }),
  sensors: sensorsSchema,
  source: sourceSchema,
  pipeline: pipelineSchema,
  models: modelsSchema,
  router: routerSchema,
  cloud: cloudSchema,
  agents: agentsSchema,
  mqtt: mqttSchema,
  control: controlSchema,
  storage: storageSchema,
  http: httpSchema,
  plugins: pluginsSchema,
  mcp: mcpSchema,
});
