import type { Static } from './schema/builder.js';
import type { configSchema } from './schema/index.js';

/**
 * The validated, defaulted, deep-frozen configuration. Derived from the schema, so the type and
 * the validation cannot disagree; descriptions and units of every key live in the schema files.
 */
export type EdgeloomConfig = Static<typeof configSchema>;

// Typed slices: components receive only the part they need.
export type DeviceConfig = EdgeloomConfig['device'];
export type LogConfig = EdgeloomConfig['log'];
export type BudgetConfig = EdgeloomConfig['budget'];
export type SensorsConfig = EdgeloomConfig['sensors'];
export type CameraConfig = SensorsConfig['camera'];
export type MicConfig = SensorsConfig['mic'];
export type ImuConfig = SensorsConfig['imu'];
/** Exponential backoff: `initial_ms` doubling up to `max_ms`. */
export type BackoffConfig = CameraConfig['restart'];
/** Bus sampling knobs shared by the sensors. */
export type SamplingConfig = CameraConfig['sampling'];
export type SourceConfig = EdgeloomConfig['source'];
export type ReplayConfig = SourceConfig['replay'];
export type PipelineConfig = EdgeloomConfig['pipeline'];
export type VadConfig = PipelineConfig['vad'];
export type FaceConfig = PipelineConfig['face'];
export type SttConfig = PipelineConfig['stt'];
export type OnnxConfig = PipelineConfig['onnx'];
export type ModelsConfig = EdgeloomConfig['models'];
export type RouterConfig = EdgeloomConfig['router'];
export type CostConfig = RouterConfig['cost'];
export type RouterPrivacyConfig = RouterConfig['privacy'];
export type CloudConfig = EdgeloomConfig['cloud'];
export type BreakerConfig = CloudConfig['breaker'];
export type AgentsConfig = EdgeloomConfig['agents'];
export type EmotionDisplayConfig = AgentsConfig['emotion_display'];
export type VoiceConfig = AgentsConfig['voice'];
export type IntentConfig = VoiceConfig['intents'][number];
export type MotionConfig = AgentsConfig['motion'];
export type MqttConfig = EdgeloomConfig['mqtt'];
export type MqttTlsConfig = MqttConfig['tls'];
export type OutboxConfig = MqttConfig['outbox'];
export type DiscoveryConfig = MqttConfig['discovery'];
export type StorageConfig = EdgeloomConfig['storage'];
export type ControlConfig = EdgeloomConfig['control'];
export type EmbeddedBrokerConfig = MqttConfig['embedded'];
export type HttpConfig = EdgeloomConfig['http'];
export type PluginConfig = EdgeloomConfig['plugins'][number];
export type McpConfig = EdgeloomConfig['mcp'];
export type McpServerConfig = McpConfig['servers'][number];

/** Deep partial, for `loadConfig({ overrides })` and tests. */
export type ConfigOverrides<T = EdgeloomConfig> = T extends readonly (infer _U)[]
  ? T
  : T extends object
    ? { readonly [K in keyof T]?: ConfigOverrides<T[K]> }
    : T;
