/**
 * `agents.voice.skills`: the local skills (issue #14) — timers, time and date, device states read
 * from retained MQTT topics, the weather from a configured LAN source. No cloud, and no network
 * beyond the broker and the one weather URL written here.
 */
import { arr, bool, int, obj, str } from './builder.js';

/** An MQTT topic to read, exact (no `+`/`#`: one configured topic is one value kept). */
const EXACT_TOPIC = '^[^+#]*$';

const deviceSchema = obj('One device value the assistant can read aloud.', {
  name: str({
    description:
      'What the user calls it, as said after "what is the": e.g. "temperature in the kitchen". A default intent is made for each name.',
    minLength: 1,
    maxLength: 80,
  }),
  topic: str({
    description: 'The MQTT topic (absolute, usually retained) carrying it, e.g. zigbee2mqtt/kitchen_sensor.',
    minLength: 1,
    maxLength: 256,
    pattern: EXACT_TOPIC,
  }),
  field: str({
    description:
      'Dotted path of the value in the JSON payload (e.g. temperature, or state.battery); empty = the whole payload is the value.',
    default: '',
    maxLength: 128,
  }),
  unit: str({ description: 'Spoken after the value, e.g. "degrees", "percent"; empty = none.', default: '' }),
});

export const voiceSkillsSchema = obj('Local skills: timers, time and date, device states, weather.', {
  default_intents: bool({
    description:
      "Add the skills' default intents (set/cancel a timer, how long left, time, date, weather, one per device) after agents.voice.intents; an intent of yours with the same name replaces the default.",
    default: true,
  }),
  time_zone: str({
    description:
      "IANA time zone the time and date are spoken in, e.g. Europe/Berlin; empty = the system's (TZ of the process).",
    default: '',
    maxLength: 64,
  }),
  timers: obj('Timers: event-sourced, they survive a restart.', {
    max_timers: int({
      description: 'Timers running at once at most; setting one more is refused (and said so).',
      default: 16,
      minimum: 1,
      maximum: 256,
    }),
    max_duration_s: int({
      description: 'Longest timer, seconds; a longer one is refused.',
      default: 86_400,
      minimum: 1,
      maximum: 604_800,
    }),
  }),
  devices: arr({
    description:
      'Device values read from MQTT topics; the daemon subscribes to each topic and keeps its last message (one per entry).',
    items: deviceSchema,
    default: [],
    maxItems: 64,
  }),
  weather: obj('Where the weather comes from: a LAN HTTP JSON endpoint or an MQTT topic (one of them).', {
    url: str({
      description:
        'http(s) URL answering JSON, read at each request (the only address the weather tool contacts; redirects are refused). Empty = none.',
      default: '',
      maxLength: 512,
      pattern: '^(https?://\\S+)?$',
    }),
    topic: str({
      description: 'MQTT topic (usually retained) carrying the weather as JSON. Empty = none.',
      default: '',
      maxLength: 256,
      pattern: EXACT_TOPIC,
    }),
    fields: obj('Where the values are in the JSON (dotted paths).', {
      temperature: str({
        description: 'Dotted path of the temperature, e.g. temperature or main.temp.',
        default: 'temperature',
        minLength: 1,
        maxLength: 128,
      }),
      condition: str({
        description: 'Dotted path of the condition words ("light rain"); empty = not spoken.',
        default: 'condition',
        maxLength: 128,
      }),
    }),
    unit: str({ description: 'Spoken after the temperature.', default: 'degrees' }),
    timeout_ms: int({
      description: "Longest wait for the URL's answer, ms.",
      default: 3000,
      minimum: 100,
      maximum: 30_000,
    }),
    max_age_s: int({
      description:
        'A topic value older than this is reported as stale rather than current, seconds (0 = any age).',
      default: 3600,
      minimum: 0,
    }),
  }),
});
