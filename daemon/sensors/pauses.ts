/**
 * A sensor's answer to `rpc/sensor/<id>/pause` and `…/resume` (README, "Commands"), kept by the
 * source that owns the sensor: each live source (camera, mic, IMU) has one, and the replay has
 * one per sensor it stands in for. The command reaches it unchanged from the MQTT table or the
 * control socket (bus/rpc.ts SensorPauseRequest).
 *
 * Every pause ends by itself: after `duration_s`, or at the latest after `control.pause_max_s`
 * (the timer runs on the daemon's clock, so in a replay it counts fixture time). A sensor that
 * feeds fall detection (the IMU: the motion agent's falls are the one event nobody may silence by
 * accident) is paused only with `"safety_override": true` from an authenticated origin (a signed
 * command, or the local CLI), for at most `control.safety_pause_max_s`, and every such pause is
 * recorded (`onSafetyPause`: the daemon writes it to the audit log). Without it the request is
 * refused with `E_CMD_SAFETY`.
 */
import type { SensorPauseAnswer, SensorPauseRequest, SensorResumeAnswer } from '../bus/rpc.js';
import type { EventBus, Subscription } from '../bus/types.js';
import { EdgeloomError, ErrorCode, toError } from '../errors.js';
import type { Logger } from '../log.js';
import type { Clock, TimerHandle } from '../util/clock.js';

/** What the daemon decides for every sensor's pauses (control.* in the config). */
export interface PauseSettings {
  /** Longest pause of an ordinary sensor, s (control.pause_max_s; default 86400, a day). */
  readonly pauseMaxS: number;
  /** Longest pause of a sensor that feeds fall detection, s (control.safety_pause_max_s; default 900). */
  readonly safetyPauseMaxS: number;
  /** A safety pause was applied: the daemon records it (the audit log). */
  readonly onSafetyPause?: (record: SafetyPauseRecord) => Promise<unknown>;
}

/** The audit record of a safety pause (kind `sensor_pause`; a type, so it fits the audit log's open record). */
export type SafetyPauseRecord = {
  readonly kind: 'sensor_pause';
  readonly outcome: 'applied';
  readonly sensor: string;
  readonly duration_s: number;
  readonly safety_override: true;
  readonly channel: 'mqtt' | 'cli';
  readonly authenticated: boolean;
};

export const DEFAULT_PAUSE_SETTINGS: PauseSettings = { pauseMaxS: 86_400, safetyPauseMaxS: 900 };

export interface SensorPausesOptions {
  readonly bus: EventBus;
  /** The sensor's clock (the auto-resume timer). */
  readonly clock: Clock;
  readonly logger: Logger;
  /** The owning component's name (the responder's name on the bus). */
  readonly component: string;
  /** The sensor id in the RPC topic (`rpc/sensor/<id>/pause`). */
  readonly sensor: string;
  /** Silencing this sensor would hide a fall (the IMU). */
  readonly safety: boolean;
  readonly settings?: PauseSettings;
  readonly pause: () => Promise<void> | void;
  readonly resume: () => Promise<void> | void;
}

export class SensorPauses {
  private subs: Subscription[] = [];
  /** The running pause's auto-resume (at most one). */
  private timer: TimerHandle | undefined;

  constructor(private readonly o: SensorPausesOptions) {}

  /** Answer the sensor's pause and resume requests (from the owner's start()). */
  start(): void {
    if (this.subs.length > 0) return;
    const { bus, sensor, component } = this.o;
    this.subs = [
      bus.respond(`rpc/sensor/${sensor}/pause`, (req) => this.pause(req.payload), { component }),
      bus.respond(`rpc/sensor/${sensor}/resume`, () => this.resume(), { component }),
    ];
  }

  /** Stop answering and forget the running pause's timer (from the owner's stop()). */
  async stop(): Promise<void> {
    this.timer?.cancel();
    this.timer = undefined;
    const subs = this.subs;
    this.subs = [];
    await Promise.all(subs.map((s) => s.unsubscribe()));
  }

  private async pause(req: SensorPauseRequest): Promise<SensorPauseAnswer> {
    const { sensor, safety } = this.o;
    const settings = this.o.settings ?? DEFAULT_PAUSE_SETTINGS;
    const maxS = safety ? settings.safetyPauseMaxS : settings.pauseMaxS;
    if (safety) {
      const why = `sensor ${sensor} feeds fall detection; pausing it needs "safety_override": true on a signed command or \`edgeloom\` on the device, for at most ${maxS} s`;
      if (req.safety_override !== true)
        throw new EdgeloomError(ErrorCode.E_CMD_SAFETY, why, { where: sensor });
      if (!req.origin.authenticated) throw new EdgeloomError(ErrorCode.E_CMD_AUTH, why, { where: sensor });
    }
    const durationS = req.duration_s ?? maxS;
    if (!(durationS > 0 && durationS <= maxS)) {
      throw new EdgeloomError(
        ErrorCode.E_CMD_INVALID,
        `duration_s must be in (0, ${maxS}] for sensor ${sensor} (got ${durationS})`,
        { where: sensor },
      );
    }
    await this.o.pause();
    this.timer?.cancel();
    this.timer = this.o.clock.setTimeout(() => this.autoResume(), durationS * 1000);
    if (safety) {
      await settings.onSafetyPause?.({
        kind: 'sensor_pause',
        outcome: 'applied',
        sensor,
        duration_s: durationS,
        safety_override: true,
        channel: req.origin.channel,
        authenticated: req.origin.authenticated,
      });
    }
    return { sensor, state: 'paused', resumes_in_s: durationS };
  }

  private async resume(): Promise<SensorResumeAnswer> {
    this.timer?.cancel();
    this.timer = undefined;
    await this.o.resume();
    return { sensor: this.o.sensor, state: 'running' };
  }

  private autoResume(): void {
    this.timer = undefined;
    Promise.resolve()
      .then(() => this.o.resume())
      .then(
        () => this.o.logger.info({ sensor: this.o.sensor }, 'pause ended; sensor resumed'),
        (err: unknown) =>
          this.o.logger.warn({ sensor: this.o.sensor, err: toError(err).message }, 'auto-resume failed'),
      );
  }
}

/** The pauses of a source that owns one sensor: `pause()`/`resume()` are the source's own. */
export function pausesOf(
  source: { readonly name: string; pause(): Promise<void> | void; resume(): Promise<void> | void },
  o: {
    readonly id: string;
    readonly bus: EventBus;
    readonly clock: Clock;
    readonly logger: Logger;
    readonly pauses?: PauseSettings;
  },
  safety: boolean,
): SensorPauses {
  return new SensorPauses({
    bus: o.bus,
    clock: o.clock,
    logger: o.logger,
    component: source.name,
    sensor: o.id,
    safety,
    ...(o.pauses === undefined ? {} : { settings: o.pauses }),
    pause: () => source.pause(),
    resume: () => source.resume(),
  });
}
