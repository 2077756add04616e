/**
 * What edgeloom's MCP resources read (README, "MCP"): the latest display emotion, the last
 * transcripts, the motion state, each sensor's status and the latest stats snapshot, kept from the
 * bus as they pass. Each entry remembers its topic, so a read filters it by the topic's privacy
 * tier at that moment (mcp-server.ts), not by the tier it had when it was kept.
 *
 * Bounded: one value per kind, TRANSCRIPTS_KEPT transcripts and MOTION_EVENTS_KEPT falls, shakes
 * and tilts (the oldest dropped), SENSORS_KEPT
 * sensors (a further sensor id is not kept, counted); every subscription keeps only the newest
 * event (realtime, capacity 1 or a small queue, drop-oldest): reading state never slows the bus.
 */
import type { DisplayAction, MotionEvent, SensorStatus, Transcript } from '../bus/topics.js';
import type { EventBus, Subscription } from '../bus/types.js';
import type { Component } from '../component.js';

/** Transcripts kept, newest last; older ones are dropped. */
export const TRANSCRIPTS_KEPT = 10;
/** Falls, shakes and tilts kept, newest last; older ones are dropped. */
const MOTION_EVENTS_KEPT = 8;
/** Sensor ids whose status is kept; a further one is ignored (counted in `sensorsIgnored`). */
const SENSORS_KEPT = 32;

/** A kept value and the topic it came from (its privacy tier is looked up at read time). */
export interface Kept<T> {
  readonly topic: string;
  readonly tsMs: number;
  readonly value: T;
}

export class McpState implements Component {
  readonly name = 'mcp.state';
  emotion: Kept<DisplayAction> | undefined;
  /** The last still/moving state, and the last falls, shakes and tilts (newest last). */
  motion: Kept<MotionEvent> | undefined;
  readonly motionEvents: Kept<MotionEvent>[] = [];
  stats: Kept<Readonly<Record<string, unknown>>> | undefined;
  readonly transcripts: Kept<Transcript>[] = [];
  readonly sensors = new Map<string, Kept<SensorStatus>>();
  sensorsIgnored = 0;
  private subs: Subscription[] = [];

  constructor(private readonly bus: EventBus) {}

  async start(): Promise<void> {
    const newest = { component: this.name, qos: 'realtime', overflow: { kind: 'drop-oldest' } } as const;
    const kept = <T>(env: { topic: string; tsMs: number; payload: T }): Kept<T> => ({
      topic: env.topic,
      tsMs: env.tsMs,
      value: env.payload,
    });
    this.subs = [
      this.bus.subscribe('action/display', (e) => void (this.emotion = kept(e)), {
        ...newest,
        queueCapacity: 1,
      }),
      this.bus.subscribe(
        'inference/stt/+',
        (e) => {
          this.transcripts.push(kept(e));
          if (this.transcripts.length > TRANSCRIPTS_KEPT) this.transcripts.shift();
        },
        { ...newest, queueCapacity: TRANSCRIPTS_KEPT },
      ),
      this.bus.subscribe(
        'agent/motion/motion',
        (e) => {
          if (e.payload.kind === 'still' || e.payload.kind === 'moving') this.motion = kept(e);
          else {
            this.motionEvents.push(kept(e));
            if (this.motionEvents.length > MOTION_EVENTS_KEPT) this.motionEvents.shift();
          }
        },
        { ...newest, queueCapacity: 8 },
      ),
      this.bus.subscribe(
        'sensor/+/+/status',
        (e) => {
          const id = (e.payload as SensorStatus).sensor;
          if (!this.sensors.has(id) && this.sensors.size >= SENSORS_KEPT) this.sensorsIgnored++;
          else this.sensors.set(id, kept(e as { topic: string; tsMs: number; payload: SensorStatus }));
        },
        { ...newest, queueCapacity: 8 },
      ),
      this.bus.subscribe('system/stats', (e) => void (this.stats = kept(e)), { ...newest, queueCapacity: 1 }),
    ];
  }

  async stop(): Promise<void> {
    for (const s of this.subs.splice(0)) await s.unsubscribe();
  }
}
