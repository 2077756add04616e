/**
 * Home Assistant MQTT discovery (https://www.home-assistant.io/integrations/mqtt/#mqtt-discovery):
 * one retained config message per entity at `<prefix>/<component>/edgeloom_<device_id>/<object>/config`,
 * published on every connect. All entities share the device block, so Home Assistant groups them
 * under one device, and the availability of `<base>/status` (JSON; `value_template` extracts
 * `state`, which is `online` or `offline`).
 */

export interface DiscoveryInput {
  /** Discovery prefix configured in Home Assistant (mqtt.discovery.prefix). */
  readonly prefix: string;
  /** e.g. `edgeloom/kitchen-pi`. */
  readonly baseTopic: string;
  readonly deviceId: string;
  readonly deviceName: string;
  readonly swVersion: string;
}

export interface DiscoveryMessage {
  /** Absolute topic. */
  readonly topic: string;
  readonly payload: Record<string, unknown>;
}

const STATE_TEMPLATE = '{{ value_json.state }}';

/** The discovery config messages for one device (pure; published retained with QoS 1). */
export function discoveryMessages(input: DiscoveryInput): DiscoveryMessage[] {
  const node = `edgeloom_${sanitize(input.deviceId)}`;
  const status = `${input.baseTopic}/status`;
  const device = {
    identifiers: [node],
    name: input.deviceName,
    manufacturer: 'edgeloom',
    model: 'edgeloom sensor daemon',
    sw_version: input.swVersion,
  };
  const availability = {
    availability_topic: status,
    availability_template: STATE_TEMPLATE,
    payload_available: 'online',
    payload_not_available: 'offline',
  };
  const entity = (component: string, object: string, config: Record<string, unknown>): DiscoveryMessage => ({
    topic: `${input.prefix}/${component}/${node}/${object}/config`,
    payload: { unique_id: `${node}_${object}`, object_id: `${node}_${object}`, device, ...config },
  });
  return [
    entity('sensor', 'emotion', {
      name: 'Emotion',
      state_topic: `${input.baseTopic}/face/emotion`,
      value_template: "{{ value_json.emotion if value_json.emotion is not none else 'no_face' }}",
      json_attributes_topic: `${input.baseTopic}/face/emotion`,
      json_attributes_template: '{{ {"confidence": value_json.confidence} | tojson }}',
      icon: 'mdi:emoticon-outline',
      ...availability,
    }),
    entity('sensor', 'transcript', {
      name: 'Last transcript',
      state_topic: `${input.baseTopic}/voice/transcript`,
      // A sensor state is limited to 255 characters; the full text stays in the attributes.
      value_template: '{{ value_json.text[:255] }}',
      json_attributes_topic: `${input.baseTopic}/voice/transcript`,
      json_attributes_template: '{{ {"text": value_json.text, "language": value_json.language} | tojson }}',
      icon: 'mdi:text-to-speech',
      ...availability,
    }),
    entity('sensor', 'motion', {
      name: 'Motion',
      state_topic: `${input.baseTopic}/imu/motion`,
      value_template: '{{ value_json.kind }}',
      icon: 'mdi:run',
      ...availability,
    }),
    entity('binary_sensor', 'status', {
      name: 'Status',
      state_topic: status,
      value_template: STATE_TEMPLATE,
      payload_on: 'online',
      payload_off: 'offline',
      device_class: 'connectivity',
      entity_category: 'diagnostic',
    }),
  ];
}

/** Home Assistant node/object ids allow [a-zA-Z0-9_-]. */
function sanitize(id: string): string {
  return id.replace(/[^a-zA-Z0-9_-]/g, '_');
}
