/**
 * The cloud-assist RPC (README, "The router" and "Agents and tools"): the voice agent asks the
 * router what to do with an utterance its local intents did not match, and the router's cloud
 * gateway answers under its policy, breaker, cost cap and egress. The request carries the
 * transcript TEXT (never audio) and the tools the cloud may call; the reply carries the tool
 * calls it asked for, or why the text stayed on the device.
 *
 * Declared here, below both sides, so the requester (agents/) and the responder (router/) share
 * one type and neither imports the other. `CloudAssistRpc` is this topic's row of the RPC map.
 */

/** The request topic; the router stage answers it. */
export const CLOUD_ASSIST_RPC = 'rpc/router/cloud-assist';

/** An OpenAI function tool as offered to the cloud model (what `agents.cloud_tools` allows). */
export interface OfferedTool {
  readonly type: 'function';
  readonly function: { readonly name: string; readonly description?: string; readonly parameters: object };
}

/** Where an utterance came from, so the router can apply the transcript's privacy tier. */
export interface CloudAssistContext {
  /** The transcript's bus topic, e.g. `inference/stt/mic`. */
  readonly topic: string;
  /** The transcript envelope's id. */
  readonly sourceId: string;
  readonly correlationId: string;
  /** Best local intent score, 0..1, and the score an intent needs (`agents.voice.min_match_score`). */
  readonly score: number;
  readonly minScore: number;
  /** The transcript was tagged `explicit_cloud` (the user asked for the cloud). */
  readonly explicitCloud: boolean;
}

/** A tool call as the conversation keeps it (OpenAI's assistant `tool_calls` entry). */
export interface ConversationToolCall {
  readonly id: string;
  readonly type: 'function';
  readonly function: { readonly name: string; readonly arguments: string };
}

/**
 * One message of the conversation the model sees (OpenAI chat roles; the system prompt is the
 * router's): earlier turns, and within this turn the model's tool calls and their results.
 */
export interface ConversationMessage {
  readonly role: 'user' | 'assistant' | 'tool';
  readonly content: string;
  readonly tool_calls?: readonly ConversationToolCall[];
  readonly tool_call_id?: string;
}

export interface CloudAssistRequest {
  readonly text: string;
  readonly tools: readonly OfferedTool[];
  /** Given by the voice agent; absent only for callers outside it (the default microphone's tier applies). */
  readonly context?: CloudAssistContext;
  /** Earlier turns of the conversation, oldest first (sent before `text`). */
  readonly history?: readonly ConversationMessage[];
  /** This turn's steps so far: the model's tool calls and their results (sent after `text`). */
  readonly steps?: readonly ConversationMessage[];
  /** When set, the answer's text streams on `router/assist/delta` with this id as it arrives. */
  readonly streamId?: string;
}

/** A tool call the cloud model asked for (OpenAI function name, parsed arguments). */
export interface CloudToolCall {
  /** The model's id for the call, echoed in the tool result message (`tool_call_id`). */
  readonly id?: string;
  readonly name: string;
  readonly arguments: unknown;
}

export interface CloudAssistReply {
  readonly toolCalls: readonly CloudToolCall[];
  /** Intent name the model reports, when it does; published with source `cloud`. */
  readonly intent?: string;
  /**
   * Set when the text did not go to the cloud or no answer came back (the router's reason code,
   * e.g. `privacy_local_only`, `cloud_disabled`, `cloud_timeout`): the agent publishes `no_match`.
   */
  readonly declined?: string;
  /** The model's text answer (what the agent speaks), when it gave one. */
  readonly content?: string;
}

/** What `rpc/router/cloud-assist` carries each way: one row of the RPC map. */
export interface CloudAssistRpc {
  readonly request: CloudAssistRequest;
  readonly response: CloudAssistReply;
}
