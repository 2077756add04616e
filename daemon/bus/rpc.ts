/**
 * The request/response contract: one map from RPC topic to the request it carries and the answer
 * it gets, as topics.ts is for events. `bus.request(topic, request)` and `bus.respond(topic,
 * handler)` are typed by it, so the MQTT command table (actions/command-table.ts), the control
 * socket and the component that answers share one type from parse to apply: a field the parser
 * validates cannot get lost on the way to the component that acts on it.
 *
 * Each RPC is answered by the component that owns the thing (README, "Commands"): a sensor's own
 * source pauses it, the privacy control sets a tier, the forget service forgets, the tool
 * registry runs a tool. topology.ts lists who requests and who answers each one.
 *
 * Adding an RPC is one row here (plus its request and answer types when they are new); the
 * topology table then fails to compile until it says who answers it.
 */
import type { CloudAssistRpc } from './rpc-cloud-assist.js';
import type { PrivacyTier } from './topics.js';

/** One RPC: what the requester sends and what the responder answers. */
export interface Rpc<Request, Response> {
  readonly request: Request;
  readonly response: Response;
}

// ---------------------------------------------------------------- who asks

/** Where a request came from, and whether its sender proved who it is. */
export interface CommandOrigin {
  /** `mqtt`: a broker client; `cli`: the local control socket (the `edgeloom` command line). */
  readonly channel: 'mqtt' | 'cli';
  /** A verified signature (mqtt), or access to the control socket, which is mode 0600 (cli). */
  readonly authenticated: boolean;
}

/** Every request names its origin: the responder decides what needs proof. */
interface FromOrigin {
  readonly origin: CommandOrigin;
}

// ---------------------------------------------------------------- sensors

/** What a pause may say (the `cmd/sensor/<id>/pause` payload, less its `id`). */
export interface SensorPauseArgs {
  /** Resume by itself after this many seconds (bounded by control.pause_max_s). */
  readonly duration_s?: number;
  /** Also pause a sensor that feeds fall detection (needs an authenticated origin). */
  readonly safety_override?: boolean;
}
export interface SensorPauseRequest extends SensorPauseArgs, FromOrigin {}
export interface SensorPauseAnswer {
  readonly sensor: string;
  readonly state: 'paused';
  /** When the pause ends by itself, seconds from now. */
  readonly resumes_in_s: number;
}

export type SensorResumeRequest = FromOrigin;
export interface SensorResumeAnswer {
  readonly sensor: string;
  readonly state: 'running';
}

// ---------------------------------------------------------------- privacy

/** What a tier change may say (the `cmd/privacy` payload, less its `id`). */
export interface PrivacyArgs {
  readonly tier: PrivacyTier;
  /** A sensor id, `sensor:<kind>`, `default` or a bus topic pattern; absent = the device default. */
  readonly scope?: string;
}
export interface PrivacyRequest extends PrivacyArgs, FromOrigin {}
export interface PrivacyAnswer {
  /** The scope in its canonical form (`mic0` → `sensor:mic` when the id names the only mic). */
  readonly scope: string;
  readonly tier: PrivacyTier;
  readonly previous: PrivacyTier | null;
  /** The change let more leave the device (allowed because the origin was authenticated). */
  readonly loosened: boolean;
}

/** What `forget` may say (the `cmd/forget` payload, less its `id`). */
export interface ForgetArgs {
  /** Only count what would be deleted. */
  readonly dry_run?: boolean;
}
export interface ForgetRequest extends ForgetArgs, FromOrigin {}
export interface ForgetAnswer {
  readonly dryRun: boolean;
  /** Entries deleted (or that would be), per store. */
  readonly deleted: Readonly<Record<string, number>>;
}

// ---------------------------------------------------------------- tools

export interface ToolCallRequest extends FromOrigin {
  readonly tool: string;
  /** The tool's arguments (validated by the registry against the tool's own schema). */
  readonly args: Readonly<Record<string, unknown>>;
}
/** The tool's result; a failed call is answered with its error instead. */
export type ToolCallAnswer = unknown;

// ---------------------------------------------------------------- the daemon itself

/** A restart (`cmd/restart`, Home Assistant's restart button): stop cleanly, exit for systemd. */
export type RestartRequest = FromOrigin;
export interface RestartAnswer {
  readonly restarting: true;
  /** The exit status the service manager will see (systemd/restart.ts EXIT_RESTART). */
  readonly exit_code: number;
}

// ---------------------------------------------------------------- voice (issue #14, wake modes)
/**
 * Longest listening window push-to-talk may ask for, seconds: a window is for one exchange, not a
 * switch left on. The MQTT command's schema, the control socket and `edgeloom listen` refuse more;
 * the responder cuts anything longer to it.
 */
export const VOICE_LISTEN_MAX_S = 300;

/** What push-to-talk may say (the `cmd/voice/listen` payload, less its `id`). */
export interface VoiceListenArgs {
  /**
   * How long the listening window stays open, seconds, at most VOICE_LISTEN_MAX_S (default
   * agents.voice.wake.window_s).
   */
  readonly seconds?: number;
}
export interface VoiceListenRequest extends VoiceListenArgs, FromOrigin {}
export interface VoiceListenAnswer {
  readonly listening: true;
  /** When the window closes, clock ms. */
  readonly until_ms: number;
}

// ---------------------------------------------------------------- the map

export interface RpcMap {
  /** Answered by the sensor's source (live, or the replay standing in for it). */
  [rpc: `rpc/sensor/${string}/pause`]: Rpc<SensorPauseRequest, SensorPauseAnswer>;
  [rpc: `rpc/sensor/${string}/resume`]: Rpc<SensorResumeRequest, SensorResumeAnswer>;
  /** Answered by the privacy control. */
  'rpc/privacy/set': Rpc<PrivacyRequest, PrivacyAnswer>;
  /** Answered by the forget service. */
  'rpc/forget': Rpc<ForgetRequest, ForgetAnswer>;
  /** Answered by the tool registry. */
  'rpc/tool/call': Rpc<ToolCallRequest, ToolCallAnswer>;
  /** Answered by the restart responder (systemd/restart.ts). */
  'rpc/system/restart': Rpc<RestartRequest, RestartAnswer>;
  /** Answered by push-to-talk (pipeline/wake/push-to-talk.ts): opens a listening window. */
  'rpc/voice/listen': Rpc<VoiceListenRequest, VoiceListenAnswer>;
  /** Answered by the router stage's cloud gateway; asked by the voice agent's cloud tool. */
  'rpc/router/cloud-assist': CloudAssistRpc;
}

/** Any RPC topic the map knows. */
export type RpcTopic = keyof RpcMap & string;

/** The request type of an RPC of map R (RpcMap unless a test brings its own). */
export type RequestIn<R, T extends keyof R> = R[T] extends Rpc<infer Q, unknown> ? Q : never;
/** The answer type of an RPC of map R. */
export type ResponseIn<R, T extends keyof R> = R[T] extends Rpc<unknown, infer A> ? A : never;
/** What travels on the bus for each RPC topic: its request (a `#` tap sees requests too). */
export type RequestsOf<R> = { [T in keyof R]: RequestIn<R, T> };

export type RequestOf<T extends RpcTopic> = RequestIn<RpcMap, T>;
export type ResponseOf<T extends RpcTopic> = ResponseIn<RpcMap, T>;
