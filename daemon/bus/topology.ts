/**
 * The message path as data (README, "The bus"): for every topic of topics.ts, which modules
 * publish it, which subscribe to it and where it leaves the daemon; for every RPC of rpc.ts, who
 * asks and which module answers. Modules are named by their path under daemon/.
 *
 * The keys are the maps' own keys written as patterns (`sensor/camera/+/frame`), so a topic or
 * RPC added to a map does not compile until it has a row here. test/unit/topology.test.ts checks
 * the rows against the sources (a module listed publishes or subscribes that topic, and every
 * literal publish, subscribe and respond in daemon/ is listed) and that the path is closed: every
 * subscribed topic has a producer, every RPC a responder, every published topic a consumer or an
 * external use.
 *
 * Not listed as subscribers: the taps that see everything, whatever the topic — the dashboard's
 * event stream (observe/http/sse.ts, the topics a client asks for) and `--emit`/debug taps
 * (observe/bus-tap.ts, a configured pattern). Per-topic counts are the bus's own (topic-counts.ts).
 */
import type { KeyPattern } from './patterns.js';
import type { RpcTopic } from './rpc.js';
import type { Topic } from './topics.js';

/** Where a topic leaves the daemon. */
export type ExternalUse =
  /** Published over MQTT by the bridge (actions/mqtt-contract.ts, README "MQTT topics"). */
  | 'mqtt'
  /** Shown by the bundled dashboard or display page (observe/http/static/). */
  | 'dashboard'
  /** Only for whoever asks the event stream (`/api/events`) for it: diagnostics, not data. */
  | 'event-stream';

export interface TopicRoute {
  readonly publishers: readonly string[];
  readonly subscribers: readonly string[];
  readonly external: readonly ExternalUse[];
}

export interface RpcRoute {
  readonly requesters: readonly string[];
  readonly responders: readonly string[];
}

const REPLAY = 'replay/replay-source.ts';

export const TOPIC_ROUTES: { readonly [K in KeyPattern<Topic>]: TopicRoute } = {
  'sensor/camera/+/frame': {
    publishers: ['sensors/camera/camera.ts', REPLAY],
    subscribers: [
      'pipeline/face/face-stage.ts',
      'router/router.ts',
      'replay/recorder.ts',
      'observe/http/camera-view.ts',
      'actions/ha-image.ts',
    ],
    // Frames reach the dashboard as JPEGs over /api/camera (camera-view.ts), not as events.
    external: [],
  },
  'sensor/mic/+/frame': {
    publishers: ['sensors/mic/mic.ts', REPLAY],
    subscribers: [
      'pipeline/vad/vad-stage.ts',
      'pipeline/wake/wake-stage.ts',
      'replay/recorder.ts',
      'observe/http/mic-levels.ts',
    ],
    // Audio reaches the dashboard only as levels over /api/mic/levels (mic-levels.ts).
    external: [],
  },
  'sensor/imu/+/window': {
    publishers: ['sensors/imu/imu.ts', REPLAY],
    subscribers: ['agents/motion.ts'],
    external: ['dashboard'],
  },
  'sensor/+/+/status': {
    publishers: ['sensors/source-publisher.ts', REPLAY],
    subscribers: ['mcp/mcp-state.ts'],
    external: ['mqtt'],
  },
  'inference/vad/+': {
    publishers: ['pipeline/vad/vad-stage.ts'],
    // The TTS actuator: barge-in on a speech start while it plays (barge_in: speech).
    subscribers: [
      'pipeline/stt/stt-stage.ts',
      'router/router.ts',
      'agents/voice-assistant.ts',
      'actions/tts.ts',
    ],
    external: ['mqtt', 'dashboard'],
  },
  'inference/face/+': {
    publishers: ['pipeline/face/face-stage.ts'],
    subscribers: ['router/router.ts', 'agents/emotion-display.ts'],
    external: ['mqtt', 'dashboard'],
  },
  'inference/stt/+': {
    publishers: ['pipeline/stt/stt-stage.ts'],
    subscribers: ['router/router.ts', 'agents/voice-assistant.ts', 'mcp/mcp-state.ts'],
    external: ['mqtt', 'dashboard'],
  },
  // ---- wake modes (issue #14, the wake helper's part)
  'inference/wake/+': {
    publishers: ['pipeline/wake/wake-stage.ts'],
    // The voice agent takes the word off the transcript that follows.
    subscribers: ['agents/voice-assistant.ts'],
    external: ['mqtt', 'dashboard'],
  },
  'inference/face/+/refined': {
    publishers: ['router/routing.ts'],
    // A refinement replaces its frame's vote in the display's streak (act once).
    subscribers: ['agents/emotion-display.ts'],
    external: ['mqtt'],
  },
  'inference/stt/+/refined': {
    publishers: ['router/routing.ts'],
    // The voice agent acts on a refinement that comes within its wait (act once).
    subscribers: ['agents/voice-assistant.ts'],
    external: ['mqtt'],
  },
  'router/decision': {
    publishers: ['router/gateway.ts'],
    // The voice agent stops waiting for a refinement the router will not ask for.
    subscribers: ['agents/voice-assistant.ts'],
    external: ['mqtt', 'dashboard'],
  },
  'action/display': {
    publishers: ['agents/builtin-tools.ts'],
    subscribers: ['observe/http/server.ts', 'mcp/mcp-state.ts'],
    external: ['mqtt', 'dashboard'],
  },
  'action/speaking': {
    // ---- the TTS actuator's rows (issue #14, TTS part): action/speaking, action/say, action/silence
    publishers: ['actions/tts.ts'],
    // The voice agent: own-voice guard, barge-in, the follow-up window after an answer.
    subscribers: ['agents/voice-assistant.ts'],
    external: ['mqtt', 'dashboard'],
  },
  // ---- voice (issue #14): the conversation loop's side
  'action/say': {
    // The speak tool queues through the TTS actuator like every other voice; the timers agent
    // announces a timer that fired.
    publishers: [
      'agents/voice-assistant.ts',
      'agents/voice-conversation.ts',
      'agents/builtin-tools.ts',
      'agents/skills/timers-agent.ts',
    ],
    subscribers: ['actions/tts.ts'],
    external: ['event-stream'],
  },
  'action/silence': {
    publishers: ['agents/voice-assistant.ts'],
    subscribers: ['actions/tts.ts'],
    external: ['event-stream'],
  },
  'action/listen': {
    // agents: the voice agent (follow-up) and the consent tool; pipeline/wake: the wake helper's part
    // (the wake word, push-to-talk, and the gate that lets STT run).
    publishers: [
      'agents/voice-assistant.ts',
      'agents/voice-tools.ts',
      'pipeline/wake/wake-stage.ts',
      'pipeline/wake/push-to-talk.ts',
    ],
    subscribers: ['agents/voice-assistant.ts', 'pipeline/wake/listen-gate.ts'],
    external: ['event-stream'],
  },
  'router/assist/delta': {
    publishers: ['router/gateway.ts'],
    subscribers: ['agents/voice-conversation.ts'],
    external: [],
  },
  'agent/+/answer': {
    publishers: ['agents/voice-assistant.ts', 'agents/voice-conversation.ts'],
    subscribers: [],
    // `<base>/voice/answer` (the TTS part of issue #14).
    external: ['mqtt', 'dashboard'],
  },
  // ---- voice skills (issue #14, the skills helper): the timer tools ask, the timers agent answers
  'agent/timers/command': {
    publishers: ['agents/skills/timer-tools.ts'],
    subscribers: ['agents/skills/timers-agent.ts'],
    external: [],
  },
  'agent/timers/reply': {
    publishers: ['agents/skills/timers-agent.ts'],
    subscribers: ['agents/skills/timer-tools.ts'],
    external: [],
  },
  'agent/timers/timer': {
    publishers: ['agents/skills/timers-agent.ts'],
    subscribers: [],
    external: ['mqtt'],
  },
  'action/mqtt': {
    publishers: ['agents/builtin-tools.ts'],
    subscribers: [],
    external: ['mqtt'],
  },
  'agent/+/intent': {
    publishers: ['agents/voice-assistant.ts', 'agents/voice-conversation.ts'],
    subscribers: [],
    external: ['mqtt'],
  },
  'agent/+/motion': {
    publishers: ['agents/motion.ts'],
    subscribers: ['mcp/mcp-state.ts'],
    external: ['mqtt', 'dashboard'],
  },
  'tool/+/result': {
    publishers: ['agents/tools.ts'],
    // The voice agent: a conversation's turn, a skill's answer to speak.
    subscribers: ['agents/voice-assistant.ts'],
    external: ['event-stream'],
  },
  'plugin/+/+': {
    // Plugins read each other's topics through their own hosts' subscriptions.
    publishers: ['plugins/plugin-host.ts'],
    subscribers: ['plugins/plugin-host.ts'],
    external: ['event-stream'],
  },
  'sensor/plugin/+': {
    // A plugin's readings for the sensor ids its config declares.
    publishers: ['plugins/plugin-host.ts'],
    subscribers: ['plugins/plugin-host.ts'],
    external: ['event-stream'],
  },
  'system/lifecycle': {
    publishers: ['bus/lifecycle.ts'],
    subscribers: [],
    external: ['event-stream'],
  },
  'system/error': {
    publishers: ['bus/bus.ts', 'observe/memory-guard.ts'],
    subscribers: [],
    external: ['event-stream'],
  },
  'system/stats': {
    publishers: ['observe/build.ts'],
    subscribers: ['mcp/mcp-state.ts'],
    external: ['mqtt'],
  },
};

/** Requesters: the MQTT commands and the local control socket (the `edgeloom` CLI). */
const COMMANDS = ['actions/command-rpc.ts'];

export const RPC_ROUTES: { readonly [K in KeyPattern<RpcTopic>]: RpcRoute } = {
  'rpc/sensor/+/pause': { requesters: COMMANDS, responders: ['sensors/pauses.ts'] },
  'rpc/sensor/+/resume': { requesters: COMMANDS, responders: ['sensors/pauses.ts'] },
  'rpc/privacy/set': { requesters: COMMANDS, responders: ['privacy/privacy-control.ts'] },
  'rpc/forget': { requesters: COMMANDS, responders: ['privacy/forget.ts'] },
  'rpc/tool/call': { requesters: COMMANDS, responders: ['agents/tools.ts'] },
  'rpc/system/restart': { requesters: COMMANDS, responders: ['systemd/restart.ts'] },
  // Wake modes (issue #14): push-to-talk opens a listening window.
  'rpc/voice/listen': { requesters: COMMANDS, responders: ['pipeline/wake/push-to-talk.ts'] },
  'rpc/router/cloud-assist': { requesters: ['agents/build.ts'], responders: ['router/router.ts'] },
};
