/**
 * The dashboard's hearing view, server side: each microphone's level in dBFS (RMS and peak over
 * 100 ms of audio), kept for the last 10 s so a page polling /api/mic/levels draws a live meter and
 * a short history. Computed from the `sensor/mic/+/frame` events the daemon already has; nothing
 * is published on the bus, so a daemon with no page open carries only this small ring. With a VAD
 * stage, each period also carries the highest speech probability the VAD gave its frames.
 */
import type { AudioFrame } from '../../bus/topics.js';
import type { EventBus, Subscription } from '../../bus/types.js';
import type { Component, ComponentHealth } from '../../component.js';

export interface MicLevel {
  /** Start of the period, ms (sensor time). */
  readonly tsMs: number;
  /** RMS over the period, dBFS (full-scale sine = −3 dBFS; digital silence = FLOOR_DBFS). */
  readonly rmsDbfs: number;
  /** Largest absolute sample over the period, dBFS. */
  readonly peakDbfs: number;
  /** Highest VAD speech probability of the period's frames (0..1); absent before the VAD ran. */
  readonly vadProbability?: number;
}

/** Where the per-frame VAD probabilities come from (pipeline/vad/vad-stage.ts). */
export interface VadProbabilities {
  onProbability(listener: (micId: string, tsMs: number, p: number) => void): () => void;
}

export interface MicLevelsOptions {
  readonly bus: EventBus;
  /** Level period, ms of audio. Default 100 (a meter's usual ballistics). */
  readonly periodMs?: number;
  /** Periods kept per microphone: drop-oldest. Default 100 (10 s at 100 ms). */
  readonly keep?: number;
  /** Microphones tracked; further ones are not (counted). Default 8. */
  readonly maxMics?: number;
  readonly vad?: VadProbabilities;
}

/** The meter's floor: −96 dBFS is 16-bit audio's dynamic range; silence reads as this. */
export const FLOOR_DBFS = -96;
const MIC_ID = /^[A-Za-z0-9_-]{1,64}$/;

interface Accumulator {
  startMs: number;
  sumSquares: number;
  samples: number;
  peak: number;
  /** The VAD's highest probability so far for frames of the open period (−1: none yet). */
  vadMax: number;
  readonly levels: { -readonly [K in keyof MicLevel]: MicLevel[K] }[];
}

function dbfs(amplitude: number): number {
  return amplitude <= 0 ? FLOOR_DBFS : Math.max(FLOOR_DBFS, 20 * Math.log10(amplitude / 32768));
}

export class MicLevels implements Component {
  readonly name = 'http.mic-levels';
  private readonly mics = new Map<string, Accumulator>();
  private sub: Subscription | undefined;
  private stopVad: (() => void) | undefined;
  private refused = 0;
  private readonly periodMs: number;
  private readonly keep: number;
  private readonly maxMics: number;

  constructor(private readonly options: MicLevelsOptions) {
    this.periodMs = options.periodMs ?? 100;
    this.keep = options.keep ?? 100;
    this.maxMics = options.maxMics ?? 8;
  }

  async start(): Promise<void> {
    this.sub = this.options.bus.subscribe(
      'sensor/mic/+/frame',
      (env) => this.add(env.topic.split('/')[2]!, env.payload),
      // A sum over 512 samples per frame: a realtime queue of 2 s of frames, the oldest dropped
      // when behind (a replay at full speed outruns it; the meter then skips, nothing else does).
      { component: this.name, qos: 'realtime', queueCapacity: 64, overflow: { kind: 'drop-oldest' } },
    );
    this.stopVad = this.options.vad?.onProbability((id, tsMs, p) => this.vad(id, tsMs, p));
  }

  /**
   * A VAD probability for the frame of `micId` at `tsMs`: folded (max) into the period that frame
   * belongs to — the open one, or one of the last few closed (the VAD runs a frame behind).
   */
  vad(micId: string, tsMs: number, p: number): void {
    const acc = this.mics.get(micId);
    if (acc === undefined) return;
    if (tsMs >= acc.startMs + this.periodMs) return; // a period this meter has not reached (it dropped frames)
    if (tsMs >= acc.startMs) {
      acc.vadMax = Math.max(acc.vadMax, p);
      return;
    }
    for (let i = acc.levels.length - 1; i >= Math.max(0, acc.levels.length - 4); i--) {
      const level = acc.levels[i]!;
      if (tsMs >= level.tsMs) {
        level.vadProbability = Math.max(level.vadProbability ?? 0, p);
        return;
      }
    }
  }

  async stop(): Promise<void> {
    const sub = this.sub;
    this.sub = undefined;
    this.stopVad?.();
    this.stopVad = undefined;
    await sub?.unsubscribe();
    this.mics.clear();
  }

  health(): ComponentHealth {
    return { status: 'ok' };
  }

  /** Every microphone's completed periods, oldest first; `refused` counts mics past maxMics. */
  snapshot(): { periodMs: number; mics: Record<string, readonly MicLevel[]>; refused: number } {
    const mics: Record<string, readonly MicLevel[]> = {};
    for (const [id, acc] of this.mics) mics[id] = acc.levels.map((l) => ({ ...l }));
    return { periodMs: this.periodMs, mics, refused: this.refused };
  }

  private add(id: string, frame: AudioFrame): void {
    let acc = this.mics.get(id);
    if (acc === undefined) {
      if (this.mics.size >= this.maxMics || !MIC_ID.test(id)) {
        this.refused++;
        return;
      }
      acc = { startMs: frame.tsMs, sumSquares: 0, samples: 0, peak: 0, vadMax: -1, levels: [] };
      this.mics.set(id, acc);
    }
    if (frame.tsMs >= acc.startMs + this.periodMs || frame.tsMs < acc.startMs) this.close(acc, frame.tsMs);
    for (const s of frame.samples) {
      acc.sumSquares += s * s;
      const a = Math.abs(s);
      if (a > acc.peak) acc.peak = a;
    }
    acc.samples += frame.samples.length;
  }

  /** Ends the current period (if it has audio) and starts the next at `nextStartMs`. */
  private close(acc: Accumulator, nextStartMs: number): void {
    if (acc.samples > 0) {
      acc.levels.push({
        tsMs: acc.startMs,
        rmsDbfs: dbfs(Math.sqrt(acc.sumSquares / acc.samples)),
        peakDbfs: dbfs(acc.peak),
        ...(acc.vadMax < 0 ? {} : { vadProbability: acc.vadMax }),
      });
      if (acc.levels.length > this.keep) acc.levels.shift();
    }
    acc.startMs = nextStartMs;
    acc.sumSquares = 0;
    acc.samples = 0;
    acc.peak = 0;
    acc.vadMax = -1;
  }
}
