/**
 * Wiring for the agents stage: the tool registry with the built-in tools, the runtime over the
 * shared LevelDB store, and the three agents (emotion display, voice, motion).
 */
import { CLOUD_ASSIST_RPC } from '../bus/rpc-cloud-assist.js';
import type { EventBus } from '../bus/types.js';
import type { EdgeloomConfig } from '../config/index.js';
import { componentLogger, type Logger } from '../log.js';
import { type SensorBusKnobs, sensorSubscription } from '../sensors/bus-knobs.js';
import type { Store } from '../storage/store.js';
import type { Clock } from '../util/clock.js';
import { registerBuiltinTools } from './builtin-tools.js';
import { type CloudToolAudit, CloudToolGate } from './cloud-tools.js';
import { emotionDisplayAgent } from './emotion-display.js';
import { motionAgent } from './motion.js';
import type { SubscriptionSpec } from './reducer.js';
import { AgentRuntime } from './runtime.js';
import { createSkills, type Skills, withSkillIntents } from './skills/skills.js';
import { AgentStore } from './store.js';
import { ToolRegistry } from './tools.js';
import { voiceAgent } from './voice-assistant.js';
import {
  CLOUD_ASSIST_REQUEST_TIMEOUT_MS,
  conversationTool,
  type RequestCloudAssist,
} from './voice-conversation.js';
import { askCloudTool } from './voice-tools.js';

export interface BuildAgentsOptions {
  /** Uses agents.*, mqtt.publish_allow, sensors.imu's bus knobs. */
  readonly config: Pick<EdgeloomConfig, 'agents' | 'mqtt' | 'sensors'> & {
    readonly router?: Pick<EdgeloomConfig['router'], 'latency_budget_ms'>;
  };
  readonly bus: EventBus;
  readonly clock: Clock;
  readonly logger: Logger;
  /** The daemon's one open LevelDB (daemon/storage/); agents use sublevel `agents`. */
  readonly storage: Store;
  /**
   * Unmatched utterances go to the router (`rpc/router/cloud-assist`, which the router stage
   * answers); false or absent: unmatched → `no_match` intent.
   */
  readonly cloudAssist?: boolean;
  /** Where cloud-requested tool calls are recorded (the shared audit log); absent: not recorded. */
  readonly audit?: CloudToolAudit;
  /**
   * The voice agent wants this phrase at the start of an utterance outside a listening window
   * (wake mode `wake_word` without a wake-word model); absent: every utterance is taken.
   */
  readonly wakePhrase?: string;
  /** Which agents to create; default all four (`timers` comes with the voice skills' tools). */
  readonly only?: ReadonlySet<'emotion-display' | 'voice' | 'motion' | 'timers'>;
}

export interface Agents {
  readonly runtime: AgentRuntime;
  readonly tools: ToolRegistry;
  readonly store: AgentStore;
  /** The voice skills: the topics the MQTT client must subscribe to and their cache (daemon.ts). */
  readonly skills: Skills;
}

export function createAgents(o: BuildAgentsOptions): Agents {
  const a = o.config.agents;
  const logger = componentLogger(o.logger, 'agents');
  const tools = new ToolRegistry({
    bus: o.bus,
    clock: o.clock,
    logger: logger.child({ part: 'tools' }),
    defaultTimeoutMs: a.tool_timeout_ms,
  });
  registerBuiltinTools(tools, {
    bus: o.bus,
    logger: logger.child({ part: 'tool.log' }),
    publishAllow: o.config.mqtt.publish_allow,
    ...(a.voice.tts.enabled ? { ttsProgram: a.voice.tts.command[0] } : {}),
  });
  const store = new AgentStore({
    db: o.storage,
    snapshotEvery: a.snapshot_every,
    retentionEvents: a.retention_events,
  });
  const runtime = new AgentRuntime({ bus: o.bus, clock: o.clock, logger, store, tools });
  const wanted = (id: 'emotion-display' | 'voice' | 'motion' | 'timers'): boolean =>
    o.only === undefined || o.only.has(id);
  // The skills' tools are registered with or without the voice agent (the cloud and MQTT
  // commands may call them too); the timer tools only with the agent that answers them.
  const skills = createSkills({
    config: a.voice.skills,
    bus: o.bus,
    clock: o.clock,
    logger: logger.child({ part: 'skills' }),
  });
  for (const t of skills.tools) tools.register(t);
  if (wanted('timers')) {
    for (const t of skills.timerTools) tools.register(t);
    runtime.create(skills.agent);
  }

  if (wanted('emotion-display')) {
    const e = a.emotion_display;
    runtime.create(
      emotionDisplayAgent({ kFrames: e.k_frames, minMs: e.min_ms, noFaceTimeoutMs: e.no_face_timeout_ms }),
    );
  }
  if (wanted('voice')) {
    const cloud = o.cloudAssist === true;
    if (cloud) {
      const requestAssist: RequestCloudAssist = (request, signal) =>
        o.bus.request(CLOUD_ASSIST_RPC, request, {
          signal,
          timeoutMs: CLOUD_ASSIST_REQUEST_TIMEOUT_MS,
          source: 'agent.voice',
        });
      const gate = new CloudToolGate({
        policy: a.cloud_tools,
        clock: o.clock,
        logger: logger.child({ part: 'cloud-tools' }),
        ...(o.audit === undefined ? {} : { audit: o.audit }),
      });
      tools.register(
        conversationTool({
          bus: o.bus,
          registry: tools,
          gate,
          requestAssist,
          maxSteps: a.voice.conversation.max_steps,
          agentId: 'voice',
          source: 'agent.voice',
        }),
      );
    }
    tools.register(askCloudTool(o.bus, o.clock));
    runtime.create(
      voiceAgent({
        // The user's intents, then the skills' defaults (skills/skills.ts).
        config: { ...a.voice, intents: withSkillIntents(a.voice.intents, a.voice.skills) },
        cloud,
        ...(o.wakePhrase === undefined ? {} : { wakePhrase: o.wakePhrase }),
        ...(o.config.router === undefined ? {} : { latencyBudgetMs: o.config.router.latency_budget_ms }),
      }),
    );
  }
  if (wanted('motion')) {
    const m = a.motion;
    runtime.create(
      motionAgent({
        freeFallG: m.free_fall_g,
        impactG: m.impact_g,
        shakeDegS: m.shake_deg_s,
        shakeAccelG: m.shake_accel_g,
        tiltDeg: m.tilt_deg,
        stillMs: m.still_ms,
        refractoryMs: m.refractory_ms,
        windows: imuWindows(o.config.sensors.imu),
      }),
    );
  }
  return { runtime, tools, store, skills };
}

/** sensors.imu.qos, queue_capacity and sampling as the motion agent's window subscription. */
function imuWindows(imu: SensorBusKnobs): Pick<SubscriptionSpec, 'qos' | 'capacity' | 'overflow'> {
  const s = sensorSubscription(imu);
  return {
    qos: s.qos,
    capacity: s.queueCapacity,
    ...(s.overflow === undefined ? {} : { overflow: s.overflow }),
  };
}
