/**
 * Which Home Assistant entities a configuration enables (ha-entities.ts HaDevice): a sensor that
 * is off has no controls, a stage that is off no entity, the image only when asked for.
 */
import { hostname } from 'node:os';
import { withSkillIntents } from '../agents/skills/skills.js';
import type { SensorKind } from '../bus/topics.js';
import { type EdgeloomConfig, isLoopbackHost } from '../config/index.js';
import type { HaDevice } from './ha-entities.js';

export interface HaDeviceFacts {
  readonly swVersion: string;
  /** The speak tool's program is installed (agents.tts_command resolves). */
  readonly speakAvailable: boolean;
  /** The board reports a SoC temperature (util/thermal.ts findSocZone). */
  readonly temperature: boolean;
  /** Sensor ids that only an authenticated command may pause (fall detection: the IMU). */
  readonly safetySensors: ReadonlySet<string>;
  /** This machine's host name (default os.hostname()). */
  readonly hostname?: string;
}

export function haDeviceFromConfig(config: EdgeloomConfig, facts: HaDeviceFacts): HaDevice {
  const { sensors, pipeline: p, mqtt } = config;
  const v = config.agents.voice;
  // A replay stands in for all three sensors (it pauses and resumes them by id, daemon.ts).
  const replay = config.source.mode === 'replay';
  const on = (kind: SensorKind): boolean => replay || sensors[kind].enabled;
  const list = (['camera', 'mic', 'imu'] as const)
    .filter(on)
    .map((kind) => ({ id: sensors[kind].id, kind, pausable: !facts.safetySensors.has(sensors[kind].id) }));
  const vad = on('mic') && p.vad.enabled;
  const face = on('camera') && p.face.enabled;
  const stt = vad && p.stt.enabled;
  const models = [
    ...(vad ? [p.vad.model] : []),
    ...(face ? [p.face.detector_model, p.face.emotion_model] : []),
    ...(stt && p.stt.engine === 'whisper' ? [p.stt.model] : []),
  ];
  const url = configurationUrl(config, facts.hostname ?? hostname());
  return {
    prefix: mqtt.discovery.prefix,
    baseTopic: mqtt.base_topic,
    deviceId: config.device.id,
    deviceName: config.device.name === '' ? `edgeloom ${config.device.id}` : config.device.name,
    swVersion: facts.swVersion,
    ...(url === undefined ? {} : { configurationUrl: url }),
    sensors: list,
    display: face,
    transcript: stt,
    // The skills' default intents too (agents/skills/skills.ts): their events reach HA as well.
    ...(stt
      ? { intents: [...new Set(withSkillIntents(v.intents, v.skills).map((i) => i.name)), 'no_match'] }
      : {}),
    motion: on('imu'),
    speak: facts.speakAvailable,
    // Push-to-talk has a button once the gate can be closed (issue #14, wake modes).
    ...(stt && config.agents.voice.wake.mode !== 'always' ? { listen: true } : {}),
    models,
    temperature: facts.temperature,
    ...(on('camera') && mqtt.discovery.image_interval_s > 0
      ? { image: { sensorId: sensors.camera.id } }
      : {}),
  };
}

/**
 * The dashboard's address as Home Assistant's browser would open it: the configured one, or the
 * HTTP listener's when it is reachable from elsewhere (a wildcard bind answers on `<host>.local`,
 * mDNS); a loopback-only dashboard gets no link, since no other machine can open it.
 */
export function configurationUrl(config: EdgeloomConfig, host: string): string | undefined {
  const explicit = config.mqtt.discovery.configuration_url;
  if (explicit !== '') return explicit;
  const http = config.http;
  if (!http.enabled || isLoopbackHost(http.host)) return undefined;
  const wildcard = http.host === '0.0.0.0' || http.host === '::' || http.host === '[::]';
  const name = wildcard ? `${host}.local` : http.host.includes(':') ? `[${http.host}]` : http.host;
  return `http://${name}:${http.port}/`;
}
