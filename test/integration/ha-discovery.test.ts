/**
 * Home Assistant MQTT discovery, end to end: the compiled daemon replays the demo fixture into a
 * real Mosquitto, a client subscribed to `homeassistant/#` (what HA's MQTT integration does)
 * collects every config, and each is checked against the documented options of its platform. The
 * templates are rendered with the real Jinja2 on the messages the daemon published, and the
 * controls are driven by publishing what HA would publish: the rendered command templates.
 *
 * Platform data below, from home-assistant.io's MQTT pages (source/_integrations/<platform>.mqtt.markdown
 * in home-assistant/home-assistant.io, read 2026): the `{% configuration %}` block of each page,
 * keys marked `required: true` as required, every other key as allowed. The keys every entity
 * platform shares are those of sensor.mqtt's current page (availability*, default_entity_id,
 * device, enabled_by_default, encoding, entity_category, entity_picture, icon, json_attributes_*,
 * name, payload_(not_)available, platform, qos, unique_id) plus `origin` from mqtt.markdown
 * ("Adding information about the origin of a discovery message"). `object_id` is left out on
 * purpose: HA 2025.10 deprecated it for `default_entity_id` and 2026.4 stops reading it.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { haDeviceFromConfig } from '../../daemon/actions/ha-config.js';
import { haDiscoveryConfigs } from '../../daemon/actions/ha-entities.js';
import { commandExists } from '../../daemon/agents/builtin-tools.js';
import { EMOTIONS } from '../../daemon/bus/topics.js';
import { loadConfig } from '../../daemon/config/index.js';
import { findSocZone } from '../../daemon/util/thermal.js';
import type { CliChild } from '../helpers/cli-process.js';
import {
  BASE,
  DEMO,
  DEVICE_ID,
  INTENTS,
  replayFinished,
  STATS_INTERVAL_MS,
  signalAndWait,
  startDaemon,
  stopCleanly,
  writeDaemonConfig,
} from '../helpers/daemon-mqtt.js';
import { type CommonSchema, checkDiscoveryConfig, type PlatformSchema } from '../helpers/ha-schema.js';
import { jinjaAvailable, render, renderTemplates } from '../helpers/jinja.js';
import { Mosquitto, mosquittoAvailable } from '../helpers/mosquitto.js';
import { type Received, Subscriber, waitFor } from '../helpers/mqtt.js';
import { REPO_ROOT } from '../helpers/tools.js';

const COMMON: CommonSchema = {
  entity: [
    'availability',
    'availability_mode',
    'availability_template',
    'availability_topic',
    'default_entity_id',
    'device',
    'enabled_by_default',
    'encoding',
    'entity_category',
    'entity_picture',
    'icon',
    'json_attributes_template',
    'json_attributes_topic',
    'name',
    'origin',
    'payload_available',
    'payload_not_available',
    'platform',
    'qos',
    'unique_id',
  ],
  device: [
    'configuration_url',
    'connections',
    'hw_version',
    'identifiers',
    'manufacturer',
    'model',
    'model_id',
    'name',
    'serial_number',
    'suggested_area',
    'sw_version',
    'via_device',
  ],
  // mqtt.markdown: `name` required; `sw_version` (sw) and `support_url` (url) optional.
  origin: ['name', 'sw_version', 'support_url'],
  originRequired: ['name'],
  availability: ['topic', 'payload_available', 'payload_not_available', 'value_template'],
  availabilityRequired: ['topic'],
  entityCategories: ['config', 'diagnostic'],
};

const PLATFORMS: Readonly<Record<string, PlatformSchema>> = {
  // sensor.mqtt.markdown
  sensor: {
    required: ['state_topic'],
    allowed: [
      'device_class',
      'expire_after',
      'force_update',
      'last_reset_value_template',
      'options',
      'suggested_display_precision',
      'state_class',
      'state_topic',
      'unit_of_measurement',
      'value_template',
    ],
    rules: (c) => [
      // "The sensor's device_class must be set to enum. The options option cannot be used together
      // with state_class or unit_of_measurement."
      ...(c.options !== undefined && c.device_class !== 'enum' ? ['options without device_class enum'] : []),
      ...(c.options !== undefined && (c.state_class !== undefined || c.unit_of_measurement !== undefined)
        ? ['options with state_class or unit_of_measurement']
        : []),
      // "When set, the entity category must be diagnostic for sensors."
      ...(c.entity_category !== undefined && c.entity_category !== 'diagnostic' ? ['sensor category'] : []),
    ],
  },
  // binary_sensor.mqtt.markdown
  binary_sensor: {
    required: ['state_topic'],
    allowed: [
      'device_class',
      'expire_after',
      'force_update',
      'off_delay',
      'payload_off',
      'payload_on',
      'state_topic',
      'value_template',
    ],
  },
  // event.mqtt.markdown; device classes from event's page: button, doorbell, motion.
  event: {
    required: ['state_topic', 'event_types'],
    allowed: ['device_class', 'event_types', 'state_topic', 'value_template'],
    rules: (c) => [
      ...(!Array.isArray(c.event_types) || c.event_types.length === 0 ? ['event_types not a list'] : []),
      ...(c.device_class !== undefined && !['button', 'doorbell', 'motion'].includes(String(c.device_class))
        ? [`event device_class ${String(c.device_class)}`]
        : []),
    ],
  },
  // select.mqtt.markdown
  select: {
    required: ['command_topic', 'options'],
    allowed: [
      'command_template',
      'command_topic',
      'optimistic',
      'options',
      'retain',
      'state_topic',
      'value_template',
    ],
  },
  // button.mqtt.markdown; device classes from button's page: identify, restart, update.
  button: {
    required: ['command_topic'],
    allowed: ['command_template', 'command_topic', 'device_class', 'payload_press', 'retain'],
    rules: (c) =>
      c.device_class !== undefined && !['identify', 'restart', 'update'].includes(String(c.device_class))
        ? [`button device_class ${String(c.device_class)}`]
        : [],
  },
  // notify.mqtt.markdown (its page marks command_topic `required: false`; without one it does nothing).
  notify: {
    required: [],
    allowed: ['command_template', 'command_topic', 'retain'],
  },
  // text.mqtt.markdown: "max: The maximum size of a text being set or received (maximum is 255)".
  text: {
    required: ['command_topic'],
    allowed: [
      'command_template',
      'command_topic',
      'max',
      'min',
      'mode',
      'pattern',
      'retain',
      'state_topic',
      'value_template',
    ],
    rules: (c) => (typeof c.max === 'number' && c.max > 255 ? ['text max over 255'] : []),
  },
  // image.mqtt.markdown: image_topic and url_topic are `required: exclusive`.
  image: {
    required: [],
    allowed: ['content_type', 'image_encoding', 'image_topic', 'url_template', 'url_topic'],
    exclusive: [['image_topic', 'url_topic']],
  },
};

type Config = Record<string, unknown>;

const describeIf = describe.runIf(mosquittoAvailable() && jinjaAvailable());

describeIf('Home Assistant discovery on Mosquitto', () => {
  const NODE = `edgeloom_${DEVICE_ID}`;
  const STALE = `homeassistant/sensor/${NODE}/emotion_from_an_old_version/config`;
  const FOREIGN = 'homeassistant/sensor/edgeloom_another-device/emotion/config';
  let dir: string;
  let broker: Mosquitto;
  let sub: Subscriber;
  let daemon: CliChild | undefined;
  let configPath: string;
  let expected: ReturnType<typeof haDiscoveryConfigs>;

  const configs = (): Map<string, Config> => {
    const out = new Map<string, Config>();
    for (const m of sub.messages) {
      if (!m.topic.startsWith('homeassistant/') || !m.topic.endsWith('/config')) continue;
      if (typeof m.payload === 'object' && m.payload !== null) out.set(m.topic, m.payload as Config);
      else out.delete(m.topic);
    }
    return out;
  };
  const entity = (object: string): Config => {
    const hit = [...configs()].find(([t]) => t.split('/')[2] === NODE && t.split('/')[3] === object);
    if (hit === undefined) throw new Error(`no config for ${object}`);
    return hit[1];
  };
  const on = (rel: string): Received[] => sub.on(`${BASE}/${rel}`);
  const command = async (topic: string, payload: string): Promise<Record<string, unknown>> => {
    const before = on('cmd/result').length;
    await sub.client.publishAsync(topic, payload, { qos: 1 });
    await waitFor(() => on('cmd/result').length > before, `result of ${topic}`);
    return on('cmd/result')[before]!.payload as Record<string, unknown>;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'edgeloom-ha-'));
    broker = await Mosquitto.start();
    // A config left by an older version of this device, and another device's: only ours goes.
    const seed = await mqtt.connectAsync(broker.url, { protocolVersion: 4 });
    await seed.publishAsync(STALE, JSON.stringify({ name: 'old', state_topic: `${BASE}/face/emotion` }), {
      qos: 1,
      retain: true,
    });
    await seed.publishAsync(FOREIGN, JSON.stringify({ name: 'theirs', state_topic: 'x' }), {
      qos: 1,
      retain: true,
    });
    await seed.endAsync();
    sub = await Subscriber.connect(broker.url, ['homeassistant/#', `${BASE}/#`]);
    configPath = writeDaemonConfig({
      dir,
      brokerUrl: broker.url,
      fixture: DEMO,
      speed: 0,
      extra: {
        mqtt: {
          url: broker.url,
          publish_allow: ['home/#'],
          stats_interval_ms: STATS_INTERVAL_MS,
          discovery: { configuration_url: 'http://kitchen-pi.local:8080/' },
        },
        // `true` reads the text and exits 0: the speak tool's utterances play without a sound card.
        agents: { voice: { min_match_score: 0.6, intents: INTENTS, tts: { command: ['true'] } } },
        control: { restart_min_uptime_s: 0 },
      },
    });
    const config = loadConfig({ file: configPath, env: {} });
    expected = haDiscoveryConfigs(
      haDeviceFromConfig(config, {
        swVersion: JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')).version,
        speakAvailable: commandExists('true'),
        temperature: findSocZone() !== undefined,
        safetySensors: new Set([config.sensors.imu.id]),
      }),
    );
    daemon = startDaemon(configPath);
    await replayFinished(daemon);
    await waitFor(() => expected.every((c) => configs().has(c.topic)), 'every discovery config');
  });

  afterAll(async () => {
    if (daemon !== undefined) await signalAndWait(daemon, 'SIGTERM');
    await sub?.close();
    await broker?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it('publishes a valid config for every enabled entity, per the platform docs', () => {
    const found = [...configs()].filter(([t]) => t.split('/')[2] === NODE);
    expect(found.map(([t]) => t).sort()).toEqual(expected.map((c) => c.topic).sort());
    const problems = found.flatMap(([topic, c]) => checkDiscoveryConfig(topic, c, PLATFORMS, COMMON));
    expect(problems).toEqual([]);
    const ids = new Set<string>();
    for (const [topic, c] of found) {
      const component = topic.split('/')[1]!;
      expect(c.object_id, topic).toBeUndefined();
      const slug = String(c.unique_id)
        .toLowerCase()
        .replace(/[^a-z0-9_]/g, '_');
      expect(c.default_entity_id, topic).toBe(`${component}.${slug}`);
      expect(String(c.default_entity_id)).toMatch(/^[a-z_]+\.[a-z0-9_]+$/);
      ids.add(String(c.unique_id));
      expect(c.device).toMatchObject({
        identifiers: [NODE],
        configuration_url: 'http://kitchen-pi.local:8080/',
      });
      expect(c.origin).toMatchObject({ name: 'edgeloom', support_url: expect.stringMatching(/^https:\/\//) });
      if (!topic.endsWith('/status/config')) {
        expect(c.availability, topic).toEqual([
          { topic: `${BASE}/status`, value_template: '{{ value_json.state }}' },
        ]);
      }
    }
    expect(ids.size).toBe(found.length);
    // What this configuration enables: replayed camera, microphone and IMU, speech-to-text.
    const kinds = found.map(([t]) => `${t.split('/')[1]}/${t.split('/')[3]}`);
    expect(kinds).toEqual(
      expect.arrayContaining([
        'event/motion_event',
        'event/intent',
        'select/privacy_cam0',
        'select/privacy_mic0',
        'select/privacy_imu0',
        'button/pause_cam0',
        'button/pause_mic0',
        'button/resume_imu0',
        'button/restart',
        'notify/speak',
        'text/display_text',
        'sensor/emotion',
        'sensor/cpu',
        'sensor/outbox',
      ]),
    );
    // The IMU feeds fall detection: HA cannot pause it (that needs a signed command). No image
    // without mqtt.discovery.image_interval_s.
    expect(kinds).not.toContain('button/pause_imu0');
    expect(kinds.some((k) => k.startsWith('image/'))).toBe(false);
    // The configured intents, then the voice skills' defaults (agents/skills/skills.ts), then no_match.
    expect(entity('intent').event_types).toEqual([
      'light_on',
      'light_off',
      'timer_set',
      'timer_set_named',
      'timer_cancel',
      'timer_cancel_named',
      'timer_remaining',
      'timer_remaining_named',
      'clock_time',
      'clock_date',
      'no_match',
    ]);
    expect(entity('emotion').state_topic).toBe(`${BASE}/display/set`);
  });

  it('finds what is wrong in a config (the checks can fail)', () => {
    // The emotion sensor as edgeloom published it before: object_id, availability_topic.
    const before = {
      unique_id: 'edgeloom_x_emotion',
      object_id: 'edgeloom_x_emotion',
      name: 'Emotion',
      state_topic: 'edgeloom/x/face/emotion',
      availability_topic: 'edgeloom/x/status',
      device: { identifiers: ['edgeloom_x'], name: 'x' },
    };
    expect(
      checkDiscoveryConfig('homeassistant/sensor/edgeloom_x/emotion/config', before, PLATFORMS, COMMON),
    ).toEqual(['homeassistant/sensor/edgeloom_x/emotion/config: object_id is not an option of sensor']);
    const broken = checkDiscoveryConfig(
      'homeassistant/select/edgeloom_x/tier/config',
      { command_topic: 'a', origin: { sw_version: '1' }, availability: [{ value_template: 'x' }], max: 3 },
      PLATFORMS,
      COMMON,
    );
    expect(broken).toEqual([
      'homeassistant/select/edgeloom_x/tier/config: max is not an option of select',
      'homeassistant/select/edgeloom_x/tier/config: required options missing',
      'homeassistant/select/edgeloom_x/tier/config: origin.name missing',
      'homeassistant/select/edgeloom_x/tier/config: availability[].topic missing',
    ]);
  });

  it('clears a stale config of this device with an empty retained payload, and only this device', async () => {
    await waitFor(
      () => sub.messages.some((m) => m.topic === STALE && m.payload === ''),
      'stale config cleared',
    );
    expect(sub.messages.filter((m) => m.topic === FOREIGN).map((m) => m.payload)).toEqual([
      { name: 'theirs', state_topic: 'x' },
    ]);
    // A late subscriber (HA starting now) gets no retained config under the stale topic.
    const late = await Subscriber.connect(broker.url, [`homeassistant/+/${NODE}/+/config`, FOREIGN]);
    await waitFor(() => late.messages.some((m) => m.topic === FOREIGN), 'retained configs');
    await waitFor(() => late.messages.length >= expected.length + 1, 'every retained config');
    expect(late.messages.some((m) => m.topic === STALE)).toBe(false);
    await late.close();
  });

  it('renders every state template with Jinja2 on the messages the daemon published', async () => {
    await waitFor(() => on('stats').length > 0, 'retained stats');
    const jobs: { topic: string; key: string; template: string; value: string; c: Config }[] = [];
    for (const [topic, c] of configs()) {
      if (!topic.includes(`/${NODE}/`)) continue;
      const stateTopic = c.state_topic as string | undefined;
      for (const m of stateTopic === undefined ? [] : sub.on(stateTopic)) {
        const value = typeof m.payload === 'string' ? m.payload : JSON.stringify(m.payload);
        for (const key of ['value_template', 'json_attributes_template']) {
          if (typeof c[key] === 'string') jobs.push({ topic, key, template: c[key] as string, value, c });
        }
      }
    }
    const rendered = await renderTemplates(jobs);
    const bad: string[] = [];
    for (const [i, r] of rendered.entries()) {
      const { topic, key, c, value } = jobs[i]!;
      const where = `${topic} ${key} on ${value.slice(0, 80)}`;
      if (typeof r !== 'string') {
        bad.push(`${where}: ${r.error}`);
        continue;
      }
      const component = topic.split('/')[1];
      if (key === 'json_attributes_template') {
        const parsed = JSON.parse(r) as unknown;
        if (typeof parsed !== 'object' || parsed === null) bad.push(`${where}: attributes ${r}`);
      } else if (component === 'event') {
        const e = JSON.parse(r) as { event_type?: string };
        if (e.event_type !== undefined && !(c.event_types as string[]).includes(e.event_type)) {
          bad.push(`${where}: event_type ${e.event_type}`);
        }
      } else if (Array.isArray(c.options) && !(c.options as string[]).includes(r)) {
        bad.push(`${where}: ${r} not in options`);
      } else if (c.state_class === 'measurement' && r !== 'None' && !Number.isFinite(Number(r))) {
        bad.push(`${where}: ${r} not a number`);
      } else if (component === 'binary_sensor' && r !== c.payload_on && r !== c.payload_off) {
        bad.push(`${where}: ${r}`);
      }
    }
    expect(bad).toEqual([]);
    // The events that matter, rendered: a fall and a tilt fire, a state change does not.
    const motion = entity('motion_event').value_template as string;
    const fall = on('imu/motion').find((m) => (m.payload as { kind: string }).kind === 'fall')!;
    const still = on('imu/motion').find((m) => (m.payload as { kind: string }).kind === 'still')!;
    expect(JSON.parse(await render(motion, JSON.stringify(fall.payload)))).toEqual({ event_type: 'fall' });
    expect(JSON.parse(await render(motion, JSON.stringify(still.payload)))).toEqual({});
    const intent = on('voice/intent').find((m) => (m.payload as { intent: string }).intent === 'light_on')!;
    expect(
      JSON.parse(await render(entity('intent').value_template as string, JSON.stringify(intent.payload))),
    ).toMatchObject({
      event_type: 'light_on',
      slots: { room: 'kitchen' },
    });
    const lastDisplay = on('display/set').at(-1)!;
    expect([...EMOTIONS, 'no_face']).toContain(
      await render(entity('emotion').value_template as string, JSON.stringify(lastDisplay.payload)),
    );
    // `forget` clears display/set with an empty retained payload: the template copes.
    expect(await render(entity('emotion').value_template as string, '')).toBe('no_face');
  });

  it('drives the daemon through the command topics, as HA publishes them', async () => {
    // Privacy select: tightening works; the retained state follows; loosening needs a signature.
    const select = entity('privacy_mic0');
    const tighten = await render(select.command_template as string, 'local_only');
    expect(await command(select.command_topic as string, tighten)).toMatchObject({ ok: true });
    await waitFor(
      () =>
        on('privacy').some(
          (m) => (m.payload as { sensors: Record<string, string> }).sensors.mic0 === 'local_only',
        ),
      'privacy state with mic0 local_only',
    );
    const state = JSON.stringify(on('privacy').at(-1)!.payload);
    expect(await render(select.value_template as string, state)).toBe('local_only');
    const loosen = await render(select.command_template as string, 'public');
    expect(await command(select.command_topic as string, loosen)).toMatchObject({
      ok: false,
      error: { code: 'E_CMD_AUTH' },
    });

    // Pause and resume buttons.
    const pause = entity('pause_cam0');
    expect(await command(pause.command_topic as string, pause.payload_press as string)).toMatchObject({
      ok: true,
      result: { sensor: 'cam0', state: 'paused' },
    });
    const resume = entity('resume_cam0');
    expect(await command(resume.command_topic as string, resume.payload_press as string)).toMatchObject({
      ok: true,
      result: { sensor: 'cam0', state: 'running' },
    });

    // The display text: the face stays, the text shows, the text entity reads it back.
    const text = entity('display_text');
    const face = (on('display/set').at(-1)!.payload as { emotion: string }).emotion;
    const typed = await render(text.command_template as string, 'Dinner is ready');
    expect(await command(text.command_topic as string, typed)).toMatchObject({ ok: true });
    await waitFor(
      () => (on('display/set').at(-1)!.payload as { text: string }).text === 'Dinner is ready',
      'display text',
    );
    const shown = on('display/set').at(-1)!.payload as { emotion: string };
    expect(shown.emotion).toBe(face);
    expect(await render(text.value_template as string, JSON.stringify(shown))).toBe('Dinner is ready');

    // notify → the speak tool.
    const speak = entity('speak');
    const said = await render(speak.command_template as string, 'Good morning');
    expect(await command(speak.command_topic as string, said)).toMatchObject({ ok: true });
  });

  it("re-sends the configs and the last states after HA's birth message, never an event", async () => {
    const count = (topic: string): number => sub.messages.filter((m) => m.topic === topic).length;
    const configsBefore = sub.messages.filter((m) => m.topic.includes(`/${NODE}/`)).length;
    const before = {
      display: on('display/set').length,
      transcript: on('voice/transcript').length,
      status: on('status').length,
      privacy: on('privacy').length,
      intent: on('voice/intent').length,
      motion: on('imu/motion').length,
    };
    const ha = await mqtt.connectAsync(broker.url, { protocolVersion: 4 });
    await ha.publishAsync('homeassistant/status', 'online', { qos: 1 });
    await ha.endAsync();
    await waitFor(
      () =>
        sub.messages.filter((m) => m.topic.includes(`/${NODE}/`)).length >= configsBefore + expected.length,
      'configs re-published',
    );
    await waitFor(() => on('display/set').length > before.display, 'display state re-sent');
    await waitFor(() => on('voice/transcript').length > before.transcript, 'last transcript re-sent');
    expect(on('status').length).toBeGreaterThan(before.status);
    expect(on('privacy').length).toBeGreaterThan(before.privacy);
    expect(on('display/set').at(-1)!.payload).toEqual(on('display/set').at(before.display - 1)!.payload);
    // Events would fire again in HA: not re-sent.
    expect(on('voice/intent').length).toBe(before.intent);
    expect(on('imu/motion').length).toBe(before.motion);
    expect(count(STALE)).toBe(2); // the seed and our one clear, nothing since
  });

  it('restart button: the result, then a clean stop with exit status 75 for systemd', async () => {
    const restart = entity('restart');
    expect(await command(restart.command_topic as string, restart.payload_press as string)).toMatchObject({
      ok: true,
      result: { restarting: true, exit_code: 75 },
    });
    const exit = await daemon!.exited;
    expect(exit.code).toBe(75);
    daemon = undefined;
  });

  it('with discovery turned off, every config of the device is cleared', async () => {
    const ours = expected.map((c) => c.topic);
    const off = writeDaemonConfig({
      dir,
      name: 'off.yaml',
      brokerUrl: broker.url,
      fixture: DEMO,
      speed: 0,
      extra: { mqtt: { url: broker.url, discovery: { enabled: false } } },
    });
    daemon = startDaemon(off);
    await waitFor(() => ours.every((t) => !configs().has(t)), 'every config cleared');
    const late = await Subscriber.connect(broker.url, [`homeassistant/+/${NODE}/+/config`, FOREIGN]);
    await waitFor(() => late.messages.some((m) => m.topic === FOREIGN), 'retained configs');
    expect(late.messages.filter((m) => m.topic !== FOREIGN)).toEqual([]);
    await late.close();
    await stopCleanly(daemon);
    daemon = undefined;
  });
});

describeIf('Home Assistant image entity (opt-in camera frame)', () => {
  let dir: string;
  let broker: Mosquitto;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'edgeloom-ha-image-'));
    broker = await Mosquitto.start();
  });

  afterAll(async () => {
    await broker?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Replay the demo with frames every `intervalS` and the camera at `tier`; collect the images. */
  async function run(
    name: string,
    tier: string,
    until: (stats: { broker?: { withheld?: Record<string, number> } }) => boolean,
  ): Promise<{ images: Buffer[]; sub: Subscriber }> {
    const images: Buffer[] = [];
    const raw = await mqtt.connectAsync(broker.url, { protocolVersion: 4 });
    raw.on('message', (_t, payload) => images.push(payload));
    await raw.subscribeAsync(`${BASE}/camera/cam0/image`, { qos: 0 });
    const sub = await Subscriber.connect(broker.url, [`homeassistant/image/#`, `${BASE}/stats`]);
    const path = writeDaemonConfig({
      dir: join(dir, name),
      brokerUrl: broker.url,
      fixture: DEMO,
      speed: 0,
      extra: {
        mqtt: { url: broker.url, stats_interval_ms: STATS_INTERVAL_MS, discovery: { image_interval_s: 1 } },
        sensors: { camera: { privacy: tier } },
      },
    });
    const d = startDaemon(path);
    await replayFinished(d);
    // The retained stats of an earlier run arrive first: wait for this run's.
    await waitFor(() => sub.on(`${BASE}/stats`).some((m) => until(m.payload as never)), 'stats of this run');
    await stopCleanly(d);
    await raw.endAsync();
    return { images, sub };
  }

  it('publishes the latest JPEG frame under `public`, at most one per interval', async () => {
    const { images, sub } = await run('public', 'public', () => true);
    const config = sub.messages.find(
      (m) => m.topic === `homeassistant/image/edgeloom_${DEVICE_ID}/camera_image/config`,
    );
    expect(config?.payload).toMatchObject({
      image_topic: `${BASE}/camera/cam0/image`,
      content_type: 'image/jpeg',
    });
    expect(checkDiscoveryConfig(config!.topic, config!.payload as Config, PLATFORMS, COMMON)).toEqual([]);
    // The demo is 20 s of fixture time at 5 fps: about 20 frames of 100 pass a 1 s interval.
    expect(images.length).toBeGreaterThan(1);
    expect(images.length).toBeLessThanOrEqual(22);
    for (const jpeg of images) {
      expect(jpeg.subarray(0, 2).toString('hex')).toBe('ffd8');
      expect(jpeg.subarray(-2).toString('hex')).toBe('ffd9');
    }
    await sub.close();
  });

  it('withholds every frame under the camera default tier (local_only), and counts it', async () => {
    const withheld = (s: { broker?: { withheld?: Record<string, number> } }): number =>
      s.broker?.withheld?.local_only_raw_to_device ?? 0;
    const { images, sub } = await run('default', 'local_only', (s) => withheld(s) > 0);
    expect(images).toEqual([]);
    await sub.close();
  });
});
