import { arr, bool, int, json, obj, str } from './builder.js';
import { backoff, ID_PATTERN, sandboxSchema } from './common.js';

/**
 * Plugins: programs the daemon starts and supervises, speaking the plugin protocol
 * (docs/plugin-protocol.md; README, "Write a plugin").
 */
const pluginSchema = obj('One plugin.', {
  id: str({
    description:
      'Plugin id: its namespace on the bus (`plugin/<id>/…`) and its tools (`<id>.<tool>`). Lowercase letters, digits, `_`.',
    pattern: '^[a-z][a-z0-9_]{0,31}$',
  }),
  command: arr({
    description: 'Program and arguments; relative paths resolve against the config file directory.',
    items: str({ description: 'One argument.', minLength: 1 }),
    maxItems: 64,
  }),
  config: json({ description: 'Handed to the plugin in its `init` message.', default: {} }),
  subscribe: arr({
    description:
      'Narrows what the plugin receives: when not empty, only topics matching one of these patterns (and its hello) reach it.',
    items: str({ description: 'A topic pattern (`+`, `#`).', minLength: 1 }),
    default: [],
    maxItems: 64,
  }),
  sensors: arr({
    description:
      'Sensor ids the plugin stands for: it may publish their readings on `sensor/plugin/<sensor id>`. Unique on the device.',
    items: str({ description: 'A sensor id.', pattern: ID_PATTERN }),
    default: [],
    maxItems: 16,
  }),
  raw_media: bool({
    description:
      'May receive camera frames and audio (base64). Needs sandbox.network false unless the media tier is public.',
    default: false,
  }),
  offer_tools: bool({
    description:
      'Offer its tools to the cloud LLM and to MQTT commands (otherwise only local agents call them).',
    default: false,
  }),
  sandbox: sandboxSchema(),
  hello_timeout_ms: int({
    description: 'Start-up waits this long for the hello before sources start, ms.',
    default: 10_000,
    minimum: 100,
  }),
  restart: backoff('plugin restart', 500, 30_000),
  queue_capacity: int({
    description: 'Events queued for the plugin (realtime QoS: drop-oldest when it reads too slowly).',
    default: 256,
    minimum: 1,
    maximum: 65_536,
  }),
  max_line_bytes: int({
    description: 'Longest line read from the plugin, bytes; longer lines are discarded and counted.',
    default: 1_048_576,
    minimum: 1024,
  }),
  max_publish_per_s: int({
    description: 'Publishes accepted per second (burst the same); past it they are dropped and counted.',
    default: 100,
    minimum: 1,
  }),
});

export const pluginsSchema = arr({
  description: 'Plugins (README, "Write a plugin").',
  items: pluginSchema,
  default: [],
  maxItems: 32,
});
