/**
 * The Home Assistant entities of one device, as MQTT discovery configs (pure: ha-link.ts publishes
 * them). One retained config per entity at `<prefix>/<component>/<node>/<object>/config`, where
 * `<node>` is `edgeloom_<device_id>` (https://www.home-assistant.io/integrations/mqtt/#discovery-topic).
 *
 * Conventions followed (HA's MQTT discovery docs and the per-platform pages):
 * - `default_entity_id` (`<component>.<node>_<object>`), not `object_id`, which HA deprecated in
 *   2025.10 and stops reading in 2026.4;
 * - an `origin` block naming the software that published the config, a `device` block shared by
 *   every entity (with `configuration_url`: the dashboard), and availability from `<base>/status`;
 * - an entity only for what this configuration enables: no camera, no emotion entity;
 * - events (fall, shake, tilt, voice intents) as `event` entities, which HA keeps out of the
 *   state history, instead of sensors whose state flips on every event;
 * - the emotion reads the debounced, retained `display/set` (a change every few seconds at most),
 *   not `face/emotion` at the camera's 3–5 Hz, which would fill the recorder;
 * - controls publish to the documented command topics (`<base>/cmd/...`), whose payloads the
 *   command table (command-table.ts) validates like any other client's.
 */
import { EMOTIONS, type SensorKind } from '../bus/topics.js';

/** What the device has, from its configuration (haDeviceFromConfig in ha-config.ts). */
export interface HaDevice {
  /** Discovery prefix (mqtt.discovery.prefix), `homeassistant` by default. */
  readonly prefix: string;
  /** e.g. `edgeloom/kitchen-pi`. */
  readonly baseTopic: string;
  readonly deviceId: string;
  readonly deviceName: string;
  readonly swVersion: string;
  /** The dashboard, when Home Assistant's browser can reach it. */
  readonly configurationUrl?: string;
  /** Enabled sensors; `pausable: false` for a sensor only a signed command may pause (the IMU). */
  readonly sensors: readonly { readonly id: string; readonly kind: SensorKind; readonly pausable: boolean }[];
  /** The emotion display runs (camera and face analysis on): the emotion sensor and display text. */
  readonly display: boolean;
  /** Speech-to-text runs: the last transcript. */
  readonly transcript: boolean;
  /** Event types of the voice-intent event entity (the configured intents and `no_match`); absent: none. */
  readonly intents?: readonly string[];
  /** The motion agent reads an IMU: fall/shake/tilt events and the motion state. */
  readonly motion: boolean;
  /** The speak tool has a TTS program: a notify entity. */
  readonly speak: boolean;
  /** Wake mode `wake_word` or `push_to_talk` (STT on): a button that opens a listening window. */
  readonly listen?: boolean;
  /** Model ids whose latency the stats carry (diagnostic sensors). */
  readonly models: readonly string[];
  /** The board reports a SoC temperature (diagnostic sensor). */
  readonly temperature: boolean;
  /** The camera frame image entity (mqtt.discovery.image_interval_s > 0). */
  readonly image?: { readonly sensorId: string };
}

export interface DiscoveryConfig {
  /** Absolute topic of the retained config. */
  readonly topic: string;
  readonly component: string;
  readonly payload: Readonly<Record<string, unknown>>;
}

/** Where the project lives, for the origin block's `support_url`. */
export const SUPPORT_URL = 'https://github.com/edgeloom/edgeloom';

/** Topics (relative to the base) of the camera frame images (ha-image.ts publishes them). */
export function imageTopic(sensorId: string): string {
  return `camera/${sensorId}/image`;
}

/** Home Assistant node/object ids allow [a-zA-Z0-9_-]; entity ids lowercase [a-z0-9_]. */
export function haNodeId(deviceId: string): string {
  return `edgeloom_${deviceId.replace(/[^a-zA-Z0-9_-]/g, '_')}`;
}

const STATE = '{{ value_json.state }}';
const TIERS = ['public', 'sensitive', 'private', 'local_only'];
const MOTION_EVENTS = ['fall', 'shake', 'tilt'];
const MOTION_STATES = ['fall', 'shake', 'tilt', 'still', 'moving'];
const SENSOR_STATES = ['starting', 'running', 'stalled', 'restarting', 'paused', 'failed', 'stopped'];
const KIND_NAME: Readonly<Record<SensorKind, string>> = { camera: 'Camera', mic: 'Microphone', imu: 'IMU' };
/** display.show's text bound (builtin-tools.ts); HA's text entity allows up to 255. */
const DISPLAY_TEXT_MAX = 200;

/** The discovery configs of one device, in a stable order. */
export function haDiscoveryConfigs(d: HaDevice): DiscoveryConfig[] {
  const node = haNodeId(d.deviceId);
  const t = (rel: string): string => `${d.baseTopic}/${rel}`;
  const device = {
    identifiers: [node],
    name: d.deviceName,
    manufacturer: 'edgeloom',
    model: 'edgeloom sensor daemon',
    sw_version: d.swVersion,
    ...(d.configurationUrl === undefined ? {} : { configuration_url: d.configurationUrl }),
  };
  const origin = { name: 'edgeloom', sw_version: d.swVersion, support_url: SUPPORT_URL };
  const availability = [{ topic: t('status'), value_template: STATE }];
  const out: DiscoveryConfig[] = [];
  const add = (component: string, object: string, config: Record<string, unknown>): void => {
    const id = `${node}_${object}`;
    out.push({
      topic: `${d.prefix}/${component}/${node}/${object}/config`,
      component,
      payload: {
        unique_id: id,
        // An entity id is lowercase [a-z0-9_] (a device id may have a hyphen).
        default_entity_id: `${component}.${id.toLowerCase().replace(/[^a-z0-9_]/g, '_')}`,
        ...config,
        device,
        origin,
        ...(component === 'binary_sensor' && object === 'status' ? {} : { availability }),
      },
    });
  };
  add('binary_sensor', 'status', {
    name: 'Status',
    state_topic: t('status'),
    value_template: STATE,
    payload_on: 'online',
    payload_off: 'offline',
    device_class: 'connectivity',
    entity_category: 'diagnostic',
  });

  if (d.display) {
    add('sensor', 'emotion', {
      name: 'Emotion',
      state_topic: t('display/set'),
      // `forget` clears the retained message with an empty payload: no JSON, no emotion.
      value_template: "{{ value_json.emotion if value_json is defined else 'no_face' }}",
      device_class: 'enum',
      options: [...EMOTIONS, 'no_face'],
      json_attributes_topic: t('display/set'),
      json_attributes_template:
        '{{ {"emoji": value_json.emoji, "confidence": value_json.confidence, "text": value_json.text} | tojson if value_json is defined else "{}" }}',
      icon: 'mdi:emoticon-outline',
    });
    add('text', 'display_text', {
      name: 'Display text',
      command_topic: t('cmd/tool/display.show'),
      // No emotion: the display keeps its face and shows the text under it.
      command_template: '{{ {"text": value} | tojson }}',
      state_topic: t('display/set'),
      value_template: "{{ (value_json.text or '') if value_json is defined else '' }}",
      max: DISPLAY_TEXT_MAX,
      icon: 'mdi:message-text-outline',
    });
  }
  if (d.transcript) {
    add('sensor', 'transcript', {
      name: 'Last transcript',
      state_topic: t('voice/transcript'),
      // A sensor state is limited to 255 characters; the full text stays in the attributes.
      value_template: '{{ value_json.text[:255] }}',
      json_attributes_topic: t('voice/transcript'),
      json_attributes_template: '{{ {"text": value_json.text, "language": value_json.language} | tojson }}',
      icon: 'mdi:text-to-speech',
    });
  }
  if (d.intents !== undefined && d.intents.length > 0) {
    add('event', 'intent', {
      name: 'Voice intent',
      state_topic: t('voice/intent'),
      event_types: [...d.intents],
      value_template:
        '{{ {"event_type": value_json.intent, "slots": value_json.slots, "score": value_json.score, "text": value_json.text, "source": value_json.source} | tojson }}',
      icon: 'mdi:account-voice',
    });
  }
  if (d.motion) {
    add('event', 'motion_event', {
      name: 'Motion event',
      state_topic: t('imu/motion'),
      event_types: MOTION_EVENTS,
      device_class: 'motion',
      // still/moving are states, not events: an empty object is ignored by the event entity.
      value_template: `{% if value_json.kind in ${JSON.stringify(MOTION_EVENTS)} %}{{ {"event_type": value_json.kind} | tojson }}{% else %}{}{% endif %}`,
    });
    add('sensor', 'motion', {
      name: 'Motion',
      state_topic: t('imu/motion'),
      value_template: '{{ value_json.kind }}',
      device_class: 'enum',
      options: MOTION_STATES,
      icon: 'mdi:run',
    });
  }
  if (d.image !== undefined) {
    add('image', 'camera_image', {
      name: 'Camera',
      image_topic: t(imageTopic(d.image.sensorId)),
      content_type: 'image/jpeg',
    });
  }

  // Controls.
  for (const s of d.sensors) {
    const kind = KIND_NAME[s.kind];
    add('select', `privacy_${s.id}`, {
      name: `${kind} privacy`,
      command_topic: t('cmd/privacy'),
      command_template: `{{ {"tier": value, "scope": ${JSON.stringify(s.id)}} | tojson }}`,
      state_topic: t('privacy'),
      value_template: `{{ value_json.sensors[${JSON.stringify(s.id)}] }}`,
      options: TIERS,
      entity_category: 'config',
      icon: 'mdi:shield-lock-outline',
    });
    if (s.pausable) {
      add('button', `pause_${s.id}`, {
        name: `Pause ${kind.toLowerCase()}`,
        command_topic: t(`cmd/sensor/${s.id}/pause`),
        payload_press: '{}',
        icon: 'mdi:pause',
      });
    }
    add('button', `resume_${s.id}`, {
      name: `Resume ${kind.toLowerCase()}`,
      command_topic: t(`cmd/sensor/${s.id}/resume`),
      payload_press: '{}',
      icon: 'mdi:play',
    });
    add('sensor', `state_${s.id}`, {
      name: `${kind} state`,
      state_topic: t(`sensor/${s.id}/status`),
      value_template: STATE,
      device_class: 'enum',
      options: SENSOR_STATES,
      entity_category: 'diagnostic',
    });
  }
  if (d.speak) {
    add('notify', 'speak', {
      name: 'Speak',
      command_topic: t('cmd/tool/speak'),
      command_template: '{{ {"text": value} | tojson }}',
      icon: 'mdi:account-voice',
    });
    // Consent for one utterance: the next thing said may go to the cloud as text (voice-tools.ts).
    add('button', 'ask_cloud', {
      name: 'Ask the cloud (next utterance)',
      command_topic: t('cmd/tool/voice.ask_cloud'),
      payload_press: '{}',
      icon: 'mdi:cloud-question',
    });
  }
  if (d.listen === true) {
    // Push-to-talk (issue #14): a listening window of agents.voice.wake.window_s.
    add('button', 'listen', {
      name: 'Listen',
      command_topic: t('cmd/voice/listen'),
      payload_press: '{}',
      icon: 'mdi:microphone-message',
    });
  }
  add('button', 'restart', {
    name: 'Restart',
    command_topic: t('cmd/restart'),
    payload_press: '{}',
    device_class: 'restart',
    entity_category: 'config',
  });

  // Diagnostics from the retained `stats` message.
  const stat = (object: string, config: Record<string, unknown>): void =>
    add('sensor', object, {
      state_topic: t('stats'),
      state_class: 'measurement',
      entity_category: 'diagnostic',
      ...config,
    });
  stat('cpu', {
    name: 'CPU',
    value_template: '{{ (value_json.process.cpuRatio * 100) | round(1) }}',
    unit_of_measurement: '%',
    icon: 'mdi:cpu-64-bit',
  });
  stat('memory', {
    name: 'Memory (RSS)',
    value_template: '{{ (value_json.process.rssBytes / 1048576) | round(1) }}',
    unit_of_measurement: 'MiB',
    device_class: 'data_size',
  });
  if (d.temperature) {
    stat('temperature', {
      name: 'SoC temperature',
      value_template: '{{ value_json.temperatureC | default(none) }}',
      unit_of_measurement: '°C',
      device_class: 'temperature',
    });
  }
  stat('outbox', {
    name: 'Outbox depth',
    value_template: '{{ (value_json.outbox | default({})).depth | default(0) }}',
    unit_of_measurement: 'messages',
    icon: 'mdi:tray-full',
  });
  for (const model of d.models) {
    stat(`latency_${model.replace(/[^a-zA-Z0-9_-]/g, '_')}`, {
      name: `${model} latency`,
      value_template: `{% set l = ((value_json.models | default({})).latency | default([])) | selectattr("model", "eq", ${JSON.stringify(model)}) | list %}{{ l[0].p50Ms | round(1) if l else none }}`,
      unit_of_measurement: 'ms',
      device_class: 'duration',
    });
  }
  return out;
}
