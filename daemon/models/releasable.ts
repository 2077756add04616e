/** What the model manager holds: anything it can release, with the latency of its sessions. */

/** Latency of one ONNX session over its recent window (a subset of OnnxModelStats). */
export interface ModelLatency {
  readonly modelId: string;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly runs: number;
}

/** What a loader returns: the manager calls `release()` when it unloads the model. */
export interface Releasable {
  release(): Promise<void> | void;
  /** Latency of the sessions inside, for /metrics and the stats message (optional). */
  latency?(): readonly ModelLatency[];
}

export type ModelLoader<T extends Releasable> = () => Promise<T>;
